package opening

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
)

// KeyWrapper wraps the file keys the platform keeps after the opening with a key-encryption
// key (KEK, 密钥加密密钥) held outside the database: a key file, or a PKCS#11 cipher machine
// (密码机). A database dump, or a copy of its WAL or backups, together with read access to the
// bids bucket, then opens no bid: the wrapped keys are worthless without the KEK.
//
// The envelope's ID is the associated data of every wrap, so a wrapped key copied onto
// another envelope's row does not unwrap there. Each wrapped value names the KEK that wrapped
// it, so old KEKs can stay configured for unwrapping while a new one wraps (rotation).
type KeyWrapper interface {
	// Wrap encrypts a 32-byte file key for envelope under the current KEK.
	Wrap(ctx context.Context, envelope kaiping.ID, fileKey []byte) ([]byte, error)
	// Unwrap returns the file key; a wrong KEK, an unknown KEK, another envelope's ID or an
	// altered value is an internal error (the platform's own records are wrong, never the
	// bidder's doing). The caller clears the key when done.
	Unwrap(ctx context.Context, envelope kaiping.ID, wrapped []byte) ([]byte, error)
	// Current names the KEK that Wrap uses now.
	Current() string
	// KeyOf names the KEK that wrapped a value.
	KeyOf(wrapped []byte) (string, error)
}

// FileKeyLen is the length of a file key (AES-256 or, in national mode, the SM4 key and
// nonce prefix the seal format derives from it).
const FileKeyLen = 32

// StoredFileKey is one stored file key as rotation and start-up see it: wrapped, or, on an
// installation older than key wrapping, still in the clear (Legacy) until the first start
// wraps it.
type StoredFileKey struct {
	Envelope kaiping.ID
	Section  kaiping.ID
	Wrapped  []byte
	Legacy   []byte
}

// Shredding is what destroying file keys did: how many keys of which sections were set to
// nothing, and why.
type Shredding struct {
	Reason   string       `json:"reason"`
	Sections []kaiping.ID `json:"sections"`
	Keys     int          `json:"keys"`
}

// The reasons file keys are destroyed (crypto-shredding, 密钥销毁).
const (
	// ShredNotOpened: the decrypt window closed and these envelopes did not open (revoked,
	// withdrawn): nothing may ever read them, so the keys handed in for them go.
	ShredNotOpened = "not_opened"
	// ShredArchiveEnded: the tender's archive period ended (blob.archive_retention_years
	// after its deadline): every file key of the tender goes, and with them the bids.
	ShredArchiveEnded = "archive_ended"
)

// FileKeyStore is what key rotation, start-up wrapping and crypto-shredding need from
// persistence.
type FileKeyStore interface {
	// StoredFileKeys lists up to limit stored file keys (wrapped or legacy) with envelope IDs
	// after after, in ID order; legacyOnly lists only keys still in the clear.
	StoredFileKeys(ctx context.Context, after kaiping.ID, limit int, legacyOnly bool) ([]StoredFileKey, error)
	// ReplaceFileKeys writes the new wrapped values of keys and clears their legacy column,
	// with one ledger entry naming the KEK, in one transaction, and says how many it
	// replaced, of which how many were legacy. A row no longer holding the value read (its
	// key was destroyed, another rotation was first) is left as it is.
	ReplaceFileKeys(ctx context.Context, a kaiping.Actor, kek string, keys []RewrappedFileKey) (replaced, legacy int, err error)
	// ShredArchived destroys every file key of the tenders whose deadline is before before,
	// with a ledger entry per tender, and reports what it destroyed.
	ShredArchived(ctx context.Context, a kaiping.Actor, before time.Time) (Shredding, error)
}

// RewrappedFileKey is a stored key and the value that replaces it.
type RewrappedFileKey struct {
	StoredFileKey
	New []byte
}

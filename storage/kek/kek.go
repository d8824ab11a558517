// Package kek wraps the file keys the platform keeps after the opening with key-encryption
// keys (KEKs, 密钥加密密钥) held outside the database: opening.KeyWrapper, with a key file
// (AES-256-GCM, the default) or a PKCS#11 cipher machine (密码机; SoftHSM in tests) as the
// cipher.
//
// A Keyring holds one KEK that wraps and any number that only unwrap, which is how a KEK is
// rotated: configure the new one first, keep the old ones, run `kaiping kek rotate`, then
// remove the old ones.
//
// A wrapped value is
//
//	0x01 | len(kek ID) | kek ID | nonce (12) | GCM(file key) with its 16-byte tag
//
// sealed with associated data "kaiping.file-key.v1\x00" + envelope ID + "\x00" + KEK ID,
// so it unwraps only for its own envelope, and is never 32 bytes long (a plaintext key is).
package kek

import (
	"context"
	"errors"
	"fmt"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

// Cipher is one KEK: an AEAD with a 12-byte nonce and a 16-byte tag whose key never leaves
// it (a key file read into memory, or a key object on a cipher machine).
type Cipher interface {
	// ID names the KEK in every value it wraps (1 to 64 bytes); it must never be reused for
	// another key.
	ID() string
	// Seal encrypts plaintext with nonce and associated data ad; nonce may be replaced by
	// one the device chose, which is returned.
	Seal(ctx context.Context, nonce, plaintext, ad []byte) (usedNonce, sealed []byte, err error)
	// Open decrypts and authenticates.
	Open(ctx context.Context, nonce, sealed, ad []byte) ([]byte, error)
}

// Keyring wraps with its current KEK and unwraps with any of its KEKs.
type Keyring struct {
	current Cipher
	byID    map[string]Cipher
}

var _ opening.KeyWrapper = (*Keyring)(nil)

// The wrapped value's layout.
const (
	formatV1  = 0x01
	nonceSize = 12
	tagSize   = 16
	maxIDLen  = 64
)

// NewKeyring returns a keyring that wraps with current and also unwraps with older.
func NewKeyring(current Cipher, older ...Cipher) (*Keyring, error) {
	k := &Keyring{current: current, byID: map[string]Cipher{}}
	for _, c := range append([]Cipher{current}, older...) {
		if c == nil {
			return nil, errors.New("kek: no key")
		}
		id := c.ID()
		if id == "" || len(id) > maxIDLen {
			return nil, fmt.Errorf("kek: key ID %q must be 1 to %d bytes", id, maxIDLen)
		}
		if _, dup := k.byID[id]; dup {
			return nil, fmt.Errorf("kek: two keys named %q", id)
		}
		k.byID[id] = c
	}
	return k, nil
}

// Current implements opening.KeyWrapper.
func (k *Keyring) Current() string { return k.current.ID() }

// Wrap implements opening.KeyWrapper.
func (k *Keyring) Wrap(ctx context.Context, envelope kaiping.ID, fileKey []byte) ([]byte, error) {
	op := "kek.Wrap " + string(envelope)
	if len(fileKey) != opening.FileKeyLen {
		return nil, kaiping.Internal(op, fmt.Errorf("file key is %d bytes, not %d", len(fileKey), opening.FileKeyLen))
	}
	nonce, err := randomNonce()
	if err != nil {
		return nil, kaiping.Internal(op, err)
	}
	id := k.current.ID()
	nonce, sealed, err := k.current.Seal(ctx, nonce, fileKey, associated(envelope, id))
	if err != nil {
		return nil, kaiping.Internal(op, fmt.Errorf("KEK %s: %w", id, err))
	}
	if len(nonce) != nonceSize || len(sealed) != opening.FileKeyLen+tagSize {
		return nil, kaiping.Internal(op, fmt.Errorf("KEK %s answered a %d-byte nonce and %d sealed bytes", id, len(nonce), len(sealed)))
	}
	out := make([]byte, 0, 2+len(id)+nonceSize+len(sealed))
	out = append(out, formatV1, byte(len(id)))
	out = append(out, id...)
	out = append(out, nonce...)
	return append(out, sealed...), nil
}

// Unwrap implements opening.KeyWrapper.
func (k *Keyring) Unwrap(ctx context.Context, envelope kaiping.ID, wrapped []byte) ([]byte, error) {
	op := "kek.Unwrap " + string(envelope)
	id, nonce, sealed, err := parse(wrapped)
	if err != nil {
		return nil, errUnwrap(op, err)
	}
	c, ok := k.byID[id]
	if !ok {
		return nil, errUnwrap(op, fmt.Errorf("wrapped by KEK %q, which is not configured (kek.key_files / kek.pkcs11.key_labels)", id))
	}
	plain, err := c.Open(ctx, nonce, sealed, associated(envelope, id))
	if err != nil {
		return nil, errUnwrap(op, fmt.Errorf("KEK %s refused it (another KEK of that name, another envelope's key, or altered): %w", id, err))
	}
	if len(plain) != opening.FileKeyLen {
		clear(plain)
		return nil, errUnwrap(op, fmt.Errorf("unwrapped %d bytes", len(plain)))
	}
	return plain, nil
}

// KeyOf implements opening.KeyWrapper.
func (k *Keyring) KeyOf(wrapped []byte) (string, error) {
	id, _, _, err := parse(wrapped)
	return id, err
}

// CodeUnwrapFailed is the code of the internal error of a value that does not unwrap.
const CodeUnwrapFailed = "kek.unwrap_failed"

func errUnwrap(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindInternal, Code: CodeUnwrapFailed,
		Message: "服务器内部错误：保存的文件密钥无法解封", Op: op, Err: err}
}

// associated is the associated data of a wrap: the envelope and the KEK.
func associated(envelope kaiping.ID, kekID string) []byte {
	return []byte("kaiping.file-key.v1\x00" + string(envelope) + "\x00" + kekID)
}

func parse(wrapped []byte) (id string, nonce, sealed []byte, err error) {
	// A plaintext key is refused by its length first: its first byte may be anything,
	// formatV1 included.
	if len(wrapped) < 2 || len(wrapped) == opening.FileKeyLen || wrapped[0] != formatV1 {
		return "", nil, nil, fmt.Errorf("not a wrapped file key (%d bytes)", len(wrapped))
	}
	n := int(wrapped[1])
	if n == 0 || len(wrapped) != 2+n+nonceSize+opening.FileKeyLen+tagSize {
		return "", nil, nil, fmt.Errorf("wrapped file key of %d bytes with a %d-byte KEK ID", len(wrapped), n)
	}
	rest := wrapped[2+n:]
	return string(wrapped[2 : 2+n]), rest[:nonceSize], rest[nonceSize:], nil
}

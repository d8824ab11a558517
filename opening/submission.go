package opening

import (
	"context"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// Upload is a bidder's sealed-envelope upload in progress: the file goes straight from the
// bidder's tool to object storage in parts on presigned URLs, and the server completes it.
type Upload struct {
	ID             kaiping.ID `json:"id"`
	Tender         kaiping.ID `json:"tender_id"`
	Section        kaiping.ID `json:"section_id"`
	Bidder         kaiping.ID `json:"bidder_id"`
	Kind           string     `json:"kind"`
	ObjectKey      string     `json:"-"`
	StorageUpload  string     `json:"-"` // the S3 multipart upload ID
	DeclaredSize   int64      `json:"size"`
	DeclaredSHA256 string     `json:"sha256"`
	DeclaredSM3    string     `json:"sm3,omitempty"`
	PartSize       int64      `json:"part_size"`
	State          string     `json:"state"` // open, completing, completed, aborted
	CreatedAt      time.Time  `json:"created_at"`
	// CompletingAt is when the completion request arrived, recorded (state completing)
	// before storage assembles the parts: the deadline is judged at this instant, however
	// long the checks take and whoever finishes them (a retry, the reconciler).
	CompletingAt *time.Time `json:"completing_at,omitempty"`
	// CompletingAddress is where the completion request came from, for the ledger.
	CompletingAddress string `json:"-"`
	// CompletingParts are the parts the completion request named.
	CompletingParts []Part `json:"-"`
	// ObjectVersion is the version storage made of the parts, once known.
	ObjectVersion string `json:"-"`
}

// The upload states. An upload is open until its completion request arrives, completing
// while storage assembles and the server checks it, then completed (an envelope) or aborted.
const (
	UploadOpen       = "open"
	UploadCompleting = "completing"
	UploadCompleted  = "completed"
	UploadAborted    = "aborted"
)

// Parts is how many parts the upload has.
func (u Upload) Parts() int { return int((u.DeclaredSize + u.PartSize - 1) / u.PartSize) }

// PartLength is the length of part n (1 to Parts): PartSize, but for the last, the rest.
func (u Upload) PartLength(n int) int64 {
	if n < u.Parts() {
		return u.PartSize
	}
	return u.DeclaredSize - int64(u.Parts()-1)*u.PartSize
}

// Envelope is an accepted sealed envelope: ciphertext only, with its digest. Replacing a bid
// supersedes the earlier envelope, which stays stored and is never opened.
type Envelope struct {
	ID          kaiping.ID `json:"id"`
	Tender      kaiping.ID `json:"tender_id"`
	Section     kaiping.ID `json:"section_id"`
	Bidder      kaiping.ID `json:"bidder_id"`
	Kind        string     `json:"kind"`
	Version     int        `json:"version"`
	ObjectKey   string     `json:"-"`
	ObjectVer   string     `json:"-"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	SM3         string     `json:"sm3,omitempty"` // national mode only
	SubmittedAt time.Time  `json:"submitted_at"`
	// State is current, superseded (replaced by a later version) or withdrawn. Only current
	// envelopes are in the bid set and ever opened.
	State string `json:"state"`
}

// The envelope states.
const (
	EnvelopeCurrent    = "current"
	EnvelopeSuperseded = "superseded"
	EnvelopeWithdrawn  = "withdrawn"
)

// Receipt (回执) is what a bidder gets for every accepted envelope and every withdrawal: the
// ledger entry that records it, with the proof that the entry is in the platform's signed
// audit log. It verifies offline against the platform public key (clients/receipt).
type Receipt struct {
	Action     string      `json:"action"` // bid.submit or bid.withdraw
	Tender     kaiping.ID  `json:"tender_id"`
	Section    kaiping.ID  `json:"section_id"`
	Bidder     kaiping.ID  `json:"bidder_id"`
	Envelopes  []Envelope  `json:"envelopes"`
	ServerTime time.Time   `json:"server_time"`
	Ledger     LedgerProof `json:"ledger"`
	// TimeStamp is the TSA's stamp on the ledger entry (ReceiptDigest), pending if the TSA
	// did not answer in time (GET /api/v1/receipts/:seq/time-stamp fetches it later); nil
	// where no TSA is configured.
	TimeStamp *TimeStamp `json:"time_stamp,omitempty"`
}

// LedgerProof is a ledger entry with its inclusion proof and the signed checkpoint it
// proves against: enough to check offline that the platform recorded exactly this.
type LedgerProof struct {
	Seq        int64    `json:"seq"`
	Leaf       []byte   `json:"leaf"`       // the entry's leaf data (storage/ledger LeafData)
	Checkpoint []byte   `json:"checkpoint"` // the checkpoint text
	Algorithm  string   `json:"algorithm"`  // ed25519 or sm2
	Signature  []byte   `json:"signature"`  // platform signature over Checkpoint
	Proof      [][]byte `json:"proof"`      // RFC 6962 inclusion proof hashes
}

// Part is one uploaded part of an upload.
type Part struct {
	Number int    `json:"number"`
	ETag   string `json:"etag"`
}

// Objects is what submission needs from object storage.
type Objects interface {
	InitiateMultipart(ctx context.Context, key string) (uploadID string, err error)
	// PresignPart signs a PUT of part, of exactly size bytes (Content-Length is signed).
	PresignPart(ctx context.Context, key, uploadID string, part int, size int64, expiry time.Duration) (*url.URL, error)
	ListParts(ctx context.Context, key, uploadID string) ([]Part, error)
	// CompleteMultipart assembles the parts into the object at key. It is idempotent: when
	// storage already completed this upload (a server died before recording the answer), a
	// retry answers the version that completion made.
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (versionID string, err error)
	AbortMultipart(ctx context.Context, key, uploadID string) error
	// ReadBack reads the stored version back once: its size and hex SHA-256 (and SM3 when
	// withSM3), writing every byte to inspect as well, in order, in the same read. inspect's
	// writes never fail.
	ReadBack(ctx context.Context, key, versionID string, withSM3 bool, inspect io.Writer) (StoredObject, error)
	// Lock puts the version under COMPLIANCE retention until until.
	Lock(ctx context.Context, key, versionID string, until time.Time) error
	// Discard deletes an unlocked version that was refused.
	Discard(ctx context.Context, key, versionID string) error
	// AbortIncomplete aborts every incomplete multipart upload under prefix.
	AbortIncomplete(ctx context.Context, prefix string) error
	// Stored lists every object version under prefix, for the reconciler to match against
	// the envelopes recorded.
	Stored(ctx context.Context, prefix string) ([]StoredVersion, error)
	// LockedUntil is the end of a version's COMPLIANCE retention; zero if it has none.
	LockedUntil(ctx context.Context, key, versionID string) (time.Time, error)
}

// StoredVersion is one object version found in storage.
type StoredVersion struct {
	Key     string
	Version string
	Size    int64
}

// StoredObject is what ReadBack finds in storage.
type StoredObject struct {
	Size   int64
	SHA256 string // hex
	SM3    string // hex, when asked for
}

// StartUploadRequest is what the bidder's tool declares before sending the parts.
type StartUploadRequest struct {
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex SHA-256 of the whole sealed file
	// SM3 is the hex SM3 digest of the whole file (GB/T 32905), required for tenders in
	// national-crypto mode (suite sm4gcm) and refused for the others.
	SM3 string `json:"sm3,omitempty"`
}

func (r *StartUploadRequest) validate(t Tender) error {
	r.SHA256 = strings.ToLower(strings.TrimSpace(r.SHA256))
	r.SM3 = strings.ToLower(strings.TrimSpace(r.SM3))
	kindOK := false
	for _, k := range t.Plan.EnvelopeKinds() {
		kindOK = kindOK || k == r.Kind
	}
	if !isDigest(r.SHA256) {
		return invalid("bid.sha256", "sha256 须为 64 位十六进制的 SHA-256 摘要")
	}
	national := t.Suite == string(seal.SM4GCM)
	switch {
	case r.SM3 == "" && national:
		return invalid("bid.sm3_required", "本项目采用国密算法，须同时声明文件的 SM3 摘要")
	case r.SM3 != "" && !national:
		return invalid("bid.sm3_unexpected", "本项目不采用国密算法，不应声明 SM3 摘要（仅核对 SHA-256）")
	case r.SM3 != "" && !isDigest(r.SM3):
		return invalid("bid.sm3", "sm3 须为 64 位十六进制的 SM3 摘要")
	}
	switch {
	case !kindOK:
		return invalid("bid.kind", "本项目的投标文件不包含 %q 信封（可用：%s）", r.Kind, strings.Join(t.Plan.EnvelopeKinds(), "、"))
	case r.Size <= 0:
		return invalid("bid.size", "文件大小须大于 0")
	case r.Size > t.MaxEnvelopeBytes:
		return invalid("bid.too_large", "文件大小 %d 字节超过本项目上限 %d 字节", r.Size, t.MaxEnvelopeBytes)
	}
	return nil
}

// isDigest reports whether s is a 32-byte digest in hex.
func isDigest(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}

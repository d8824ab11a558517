package opening

import (
	"time"

	"github.com/kaiping/kaiping"
)

// HallEnvelope is one envelope of the sealed bid set as the opening hall tracks it: copied
// from the bid set when it is sealed (the envelope rows themselves are frozen), then moved
// along as its bidder hands in the file key and the server verifies it.
type HallEnvelope struct {
	ID         kaiping.ID `json:"envelope_id"`
	Section    kaiping.ID `json:"section_id"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	Kind       string     `json:"kind"`
	SHA256     string     `json:"sha256"`
	Size       int64      `json:"size"`
	ObjectKey  string     `json:"-"`
	ObjectVer  string     `json:"-"`
	// State is sealed, queued (key handed in, waiting for or under verification), decrypted
	// or corrupt (the file itself is bad: the bidder's cause). error is what older versions
	// left when verification failed on our side; such envelopes are queued again
	// (HallStore.ReverifyErrors).
	State string `json:"state"`
	// Attempts counts wrong keys handed in. A wrong key is not final while the window is open.
	Attempts int `json:"attempts"`
	// BusyRefusals counts right keys refused because the verification queue was full: our
	// own record that the bidder tried in time.
	BusyRefusals int    `json:"busy_refusals"`
	Via          string `json:"via,omitempty"` // bidder, or rescue (解密失败补救)
	// ErrorCode says why a corrupt envelope is corrupt; on a queued one, why its last
	// verification failed on our side (storage unreachable, …): it is retried, never counted
	// against the bidder (StorageWait).
	ErrorCode string `json:"error_code,omitempty"`
	// What verification found: plaintext size and digest (the suite's hash), chunks, and for
	// the summary envelope its fields, normalized.
	PlaintextSize   int64             `json:"plaintext_size,omitempty"`
	PlaintextDigest string            `json:"plaintext_digest,omitempty"`
	Chunks          int64             `json:"chunks,omitempty"`
	Summary         map[string]string `json:"summary,omitempty"`
	QueuedAt        *time.Time        `json:"queued_at,omitempty"`
	DecryptedAt     *time.Time        `json:"decrypted_at,omitempty"`
	// Outcome is set when the window closes on an envelope not decrypted: revoked (撤销, the
	// bidder's cause) or withdrawn (撤回, a cause not the bidder's), with the reason code.
	Outcome       string `json:"outcome,omitempty"`
	OutcomeReason string `json:"outcome_reason,omitempty"`

	Header []byte `json:"-"` // cached envelope header
	// WrappedKey is the file key handed in after the deadline, kept for evaluation, wrapped
	// by the KEK (KeyWrapper): never the key itself. Nil before a key was handed in and
	// once it was destroyed (KeyDestroyedAt).
	WrappedKey     []byte     `json:"-"`
	KeyDestroyedAt *time.Time `json:"-"`
}

// The envelope states in the hall.
const (
	EnvSealed    = "sealed"
	EnvQueued    = "queued"
	EnvDecrypted = "decrypted"
	EnvCorrupt   = "corrupt"
	// EnvError is left by older versions when verification failed on our side; this one
	// keeps such an envelope queued and retries, and queues those it finds again.
	EnvError = "error"
	// EnvVerifying is shown, never stored: a queued envelope a worker is verifying now.
	EnvVerifying = "verifying"
)

// Outcomes of an envelope, or a bid, not opened when the window closed.
const (
	OutcomeRevoked   = "revoked"   // 撤销: caused by the bidder
	OutcomeWithdrawn = "withdrawn" // 撤回: caused by someone else (the platform)
)

// CanUnlock says whether a file key may be handed in for e: not once it is decrypted,
// queued, or found corrupt (a corrupt file stays corrupt whatever key opens it).
func (e HallEnvelope) CanUnlock() error {
	switch e.State {
	case EnvSealed, EnvError:
		return nil
	case EnvQueued:
		return kaiping.E(kaiping.KindConflict, "hall.already_queued", "该投标文件的密钥已提交，正在排队验证")
	case EnvDecrypted:
		return kaiping.E(kaiping.KindConflict, "hall.already_decrypted", "该投标文件已解密")
	case EnvRetained:
		return errNotPassed()
	}
	return kaiping.Errorf(kaiping.KindConflict, "hall.envelope_corrupt", "该投标文件已验证为损坏（%s），无法解密", e.ErrorCode)
}

// StorageWait says whether a queued envelope waits for our storage: its last verification
// failed on our side, and it is tried again until it succeeds. The window does not close on
// it (publish refuses with "hall.storage_unhealthy").
func (e HallEnvelope) StorageWait() bool { return e.State == EnvQueued && e.ErrorCode != "" }

// Classify says why an envelope was not opened when the window closed: revoked (撤销) when
// the bidder did not unlock it, handed in wrong keys only, or sealed a broken file;
// withdrawn (撤回) when our own records show the platform failed the bidder (an older
// version's verification error whose key is gone, or the queue refused a right key). A
// decrypted envelope has no outcome. A queued envelope is never classified: the window
// waits for its verification, however long our storage is down.
func (e HallEnvelope) Classify() (outcome, reason string) {
	switch e.State {
	case EnvDecrypted:
		return "", ""
	case EnvCorrupt:
		return OutcomeRevoked, e.ErrorCode
	case EnvError:
		return OutcomeWithdrawn, ReasonPlatformError
	}
	switch {
	case e.BusyRefusals > 0:
		return OutcomeWithdrawn, ReasonBusy
	case e.Attempts > 0:
		return OutcomeRevoked, ReasonWrongKey
	}
	return OutcomeRevoked, ReasonNotUnlocked
}

// Reason codes of undecrypted envelopes and bids, besides the seal.* and hall.summary_*
// codes of corrupt files.
const (
	ReasonNotUnlocked   = "hall.not_unlocked"
	ReasonWrongKey      = "hall.wrong_key"
	ReasonBusy          = "hall.busy"
	ReasonPlatformError = "hall.platform_error"
	ReasonNoSummary     = "hall.no_summary"
)

// ReasonText is the Chinese explanation of a reason code, as the opening record shows it.
func ReasonText(code string) string {
	switch code {
	case ReasonNotUnlocked:
		return "投标人未在解密时限内提交解密密钥"
	case ReasonWrongKey:
		return "投标人提交的解密密钥错误"
	case ReasonBusy:
		return "投标人按时提交了正确的密钥，但平台解密队列繁忙未能受理"
	case ReasonPlatformError:
		return "平台在验证投标文件时发生故障"
	case ReasonNoSummary:
		return "投标文件中没有开标一览表"
	case "":
		return ""
	}
	if len(code) > 5 && code[:5] == "seal." {
		return "投标文件损坏或不完整，无法解密（" + code + "）"
	}
	return "开标一览表内容不符合招标文件要求（" + code + "）"
}

// OutcomeLabel is the Chinese name of a bid's status in the opening record.
func OutcomeLabel(outcome string) string {
	switch outcome {
	case OutcomeRevoked:
		return "撤销"
	case OutcomeWithdrawn:
		return "撤回"
	case "", BidOpened:
		return "已解密"
	}
	return outcome
}

// UnlockRequest is what a bidder's tool hands in for one envelope: the file key it
// unwrapped locally with the bidder's certificate key.
type UnlockRequest struct {
	Envelope kaiping.ID `json:"envelope_id"`
	FileKey  []byte     `json:"file_key"` // base64 in JSON
}

// UnlockStatus is the answer to an unlock and what the bidder's view shows per envelope.
type UnlockStatus struct {
	Envelope  kaiping.ID `json:"envelope_id"`
	Kind      string     `json:"kind"`
	State     string     `json:"state"`
	Position  int        `json:"position,omitempty"` // 1 = next to be verified
	Attempts  int        `json:"attempts"`
	ErrorCode string     `json:"error_code,omitempty"`
	Outcome   string     `json:"outcome,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	// Waiting explains, in Chinese, why a queued envelope is not verified yet when our
	// storage failed it (HallEnvelope.StorageWait).
	Waiting string `json:"waiting,omitempty"`
}

// storageWaitText is what a bidder and the host read about an envelope whose key was
// handed in while our side (storage, or the key service) could not verify it.
const storageWaitText = "平台暂时无法读取或验证该投标文件（对象存储或密钥服务故障）：密钥已按时提交并记录，恢复后自动验证，不计为投标人原因"

// EnvelopeHeader is an envelope of the bidder's own, with its header, for the bidder's tool
// to unwrap the file key from.
type EnvelopeHeader struct {
	Envelope kaiping.ID `json:"envelope_id"`
	Kind     string     `json:"kind"`
	SHA256   string     `json:"sha256"`
	State    string     `json:"state"`
	Header   []byte     `json:"header"` // the envelope's header bytes, base64 in JSON
}

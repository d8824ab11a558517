package rescue

import (
	"errors"
	"fmt"

	"github.com/kaiping/kaiping"
)

// Stable error codes. Every error this package returns for bad input is a *kaiping.Error
// carrying one of these codes and a message in Simplified Chinese.
const (
	CodeThreshold         = "rescue.threshold"           // k below 2 or above n
	CodeHolderCount       = "rescue.holder_count"        // n outside MinThreshold..MaxHolders, or not the number of holders given
	CodeHolderInvalid     = "rescue.holder_invalid"      // a holder without a valid principal ID
	CodeDuplicateHolder   = "rescue.duplicate_holder"    // the same principal or the same certificate twice
	CodeHolderCertificate = "rescue.holder_certificate"  // a holder certificate missing or without a key shares can be encrypted to
	CodeSetupInvalid      = "rescue.setup_invalid"       // public key or commitments malformed, or not of one setup
	CodeShareInvalid      = "rescue.share_invalid"       // a share that does not decrypt, is malformed, or fails the Feldman check
	CodeNotEnoughShares   = "rescue.not_enough_shares"   // fewer than k distinct valid shares
	CodeKeyWiped          = "rescue.key_wiped"           // a combined secret used after Wipe
	CodePartialInvalid    = "rescue.partial_invalid"     // a partial decryption malformed, or its proof does not hold
	CodeNotEnoughPartials = "rescue.not_enough_partials" // fewer than k distinct valid partials for a stanza
	CodeWrongStanza       = "rescue.wrong_stanza"        // a combined secret asked to open another stanza than its own
)

// ShareError names the share a rescue.share_invalid error is about. It is the Err of the
// *kaiping.Error, so the opening hall (and its logs) can say whose share was refused:
// errors.As(err, &se).
type ShareError struct {
	// Index is the share's index (its Shamir x-coordinate), 1 to MaxHolders; 0 when the
	// share did not say, or said something out of range.
	Index int
	// Err is the underlying cause, if any (a seal error when decryption failed).
	Err error
}

// Error says which share, and why when there is an underlying cause.
func (e *ShareError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("share %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("share %d", e.Index)
}

// Unwrap returns the underlying cause.
func (e *ShareError) Unwrap() error { return e.Err }

func errThreshold(k, n int) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeThreshold,
		"补救密钥门限 k=%d 不合理：k 至少为 %d，且不能超过份额持有人数 n=%d", k, MinThreshold, n)
}

func errHolderCount(n, holders int) error {
	if n < MinThreshold || n > MaxHolders {
		return kaiping.Errorf(kaiping.KindInvalid, CodeHolderCount,
			"补救密钥份额持有人应为 %d 至 %d 人，收到 n=%d", MinThreshold, MaxHolders, n)
	}
	return kaiping.Errorf(kaiping.KindInvalid, CodeHolderCount,
		"份额数 n=%d 与名单上的监督人员人数 %d 不一致", n, holders)
}

func errHolderInvalid(i int) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeHolderInvalid,
		"第 %d 位份额持有人的用户编号为空或格式错误", i+1)
}

func errDuplicateHolder(i int, what string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeDuplicateHolder,
		"第 %d 位份额持有人的%s与前面的持有人重复：一人持有两份会降低门限", i+1, what)
}

// errHolderCertificate keeps seal's reason (which key types it supports) in the message,
// since that is what the supervisor has to fix.
func errHolderCertificate(h Holder, cause error) error {
	why := "没有证书"
	var ke *kaiping.Error
	if errors.As(cause, &ke) && ke.Message != "" {
		why = ke.Message
	}
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeHolderCertificate,
		Message: fmt.Sprintf("监督人员 %s 的证书不能用于加密补救密钥份额：%s", h.Principal, why),
		Err:     cause}
}

func errSetup(why string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeSetupInvalid, "补救密钥的公开参数无效：%s", why)
}

// errShare reports a bad share, naming it by index when it has a plausible one.
func errShare(index int, why string, cause error) error {
	if index < 1 || index > MaxHolders {
		index = 0
	}
	name := "份额"
	if index > 0 {
		name = fmt.Sprintf("第 %d 号份额", index)
	}
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeShareInvalid,
		Message: fmt.Sprintf("补救密钥%s无效：%s", name, why),
		Err:     &ShareError{Index: index, Err: cause}}
}

func errNotEnough(have, need int) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeNotEnoughShares,
		"补救密钥份额不足：需要 %d 份互不相同的有效份额，只有 %d 份", need, have)
}

func errKeyWiped() error {
	return kaiping.E(kaiping.KindConflict, CodeKeyWiped, "补救私钥已销毁，不能再使用")
}

// errPartial reports a bad partial decryption, naming it by index when it has a plausible one
// (a *ShareError in the chain, as for a share).
func errPartial(index int, why string) error {
	if index < 1 || index > MaxHolders {
		index = 0
	}
	name := "部分解密值"
	if index > 0 {
		name = fmt.Sprintf("第 %d 号份额的部分解密值", index)
	}
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodePartialInvalid,
		Message: fmt.Sprintf("补救%s无效：%s", name, why),
		Err:     &ShareError{Index: index}}
}

func errNotEnoughPartials(have, need int) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeNotEnoughPartials,
		"部分解密值不足：需要 %d 位不同持有人的有效部分解密值，只有 %d 份", need, have)
}

func errWrongStanza() error {
	return kaiping.E(kaiping.KindInvalid, CodeWrongStanza,
		"合成的补救密钥只能开启它所针对的那份投标文件的补救段落")
}

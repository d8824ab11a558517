package bidder

import (
	"crypto/x509"
	"encoding/hex"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/tsa"
)

// VerifyReceiptTimeStamp checks a receipt's RFC 3161 time-stamp offline against the TSA
// certificate the centre names (roots): it stamps the receipt's ledger entry
// (opening.ReceiptDigest) and is signed by that TSA. It returns the TSA's time. Check the
// receipt itself with VerifyReceipt.
func VerifyReceiptTimeStamp(rc opening.Receipt, roots *x509.CertPool) (time.Time, error) {
	switch {
	case rc.TimeStamp == nil:
		return time.Time{}, kaiping.E(kaiping.KindInvalid, "receipt.no_time_stamp", "回执不带时间戳（平台未配置时间戳服务）")
	case rc.TimeStamp.Pending || len(rc.TimeStamp.Token) == 0:
		return time.Time{}, kaiping.E(kaiping.KindConflict, "receipt.time_stamp_pending",
			"回执的时间戳尚待补发：请用 kaiping bid receipt time-stamp 取回后再校验")
	}
	digest := opening.ReceiptDigest(rc)
	if rc.TimeStamp.Digest != hex.EncodeToString(digest) {
		return time.Time{}, kaiping.E(kaiping.KindInvalid, "receipt.time_stamp_invalid", "时间戳校验失败：时间戳的摘要与回执的日志记录不符")
	}
	at, err := tsa.Verify(rc.TimeStamp.Token, digest, roots)
	if err != nil {
		return time.Time{}, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "receipt.time_stamp_invalid",
			Message: "时间戳校验失败：不是配置的时间戳服务机构对本回执签发的时间戳", Err: err}
	}
	return at, nil
}

// Package bidder is the bidder's side of the no-show opening: submitting sealed envelopes
// straight to object storage and checking receipts offline.
package bidder

import (
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/ledger"
)

// VerifyReceipt checks a receipt offline: the checkpoint is signed by the platform key v, the
// ledger entry is in the log that checkpoint describes, and the entry records exactly what
// the receipt says (tender, section, bidder, envelope digests). It needs no server.
func VerifyReceipt(rc opening.Receipt, v ledger.Verifier) error {
	bad := func(format string, args ...any) error {
		return kaiping.Errorf(kaiping.KindInvalid, "receipt.invalid", "回执校验失败："+format, args...)
	}
	cp, err := ledger.ParseCheckpoint(rc.Ledger.Checkpoint)
	if err != nil {
		return bad("检查点格式错误")
	}
	signed := ledger.SignedCheckpoint{Checkpoint: cp, Algorithm: rc.Ledger.Algorithm, Signature: rc.Ledger.Signature}
	if err := signed.Verify(v); err != nil {
		return bad("平台签名无效")
	}
	proof := ledger.InclusionProof{Seq: rc.Ledger.Seq, Size: cp.Size}
	for _, h := range rc.Ledger.Proof {
		if len(h) != tlog.HashSize {
			return bad("证明格式错误")
		}
		var x tlog.Hash
		copy(x[:], h)
		proof.Hashes = append(proof.Hashes, x)
	}
	if err := ledger.VerifyInclusion(proof, cp, rc.Ledger.Leaf); err != nil {
		return bad("该记录不在平台审计日志中")
	}
	entry, err := ledger.ParseLeaf(rc.Ledger.Leaf)
	if err != nil {
		return bad("日志记录格式错误")
	}
	if entry.Action != rc.Action || entry.Subject != string(rc.Section) || !entry.At.Equal(rc.ServerTime) {
		return bad("日志记录与回执不符（操作、标段或时间）")
	}
	var d struct {
		Tender, Bidder, Kind, SHA256, SM3 string
		Size                              int64
		Envelopes                         []struct {
			Kind, SHA256 string
			Version      int
		}
	}
	if err := json.Unmarshal(entry.Detail, &d); err != nil {
		return bad("日志记录内容错误")
	}
	if d.Tender != string(rc.Tender) || d.Bidder != string(rc.Bidder) {
		return bad("日志记录的项目或投标人与回执不符")
	}
	if rc.Action == "bid.submit" {
		if len(rc.Envelopes) != 1 {
			return bad("递交回执应含一个信封")
		}
		e := rc.Envelopes[0]
		if d.SHA256 != e.SHA256 || d.SM3 != e.SM3 || d.Size != e.Size || d.Kind != e.Kind {
			return bad("日志记录的文件摘要与回执不符")
		}
	}
	if rc.Action == "bid.withdraw" {
		if len(d.Envelopes) != len(rc.Envelopes) || len(rc.Envelopes) == 0 {
			return bad("日志记录撤回的信封数与回执不符")
		}
		for i, e := range rc.Envelopes {
			w := d.Envelopes[i]
			if w.Kind != e.Kind || w.SHA256 != e.SHA256 || w.Version != e.Version {
				return bad("日志记录撤回的第 %d 个信封与回执不符", i+1)
			}
		}
	}
	return nil
}

// String summarises a receipt for people.
func String(rc opening.Receipt) string {
	s := fmt.Sprintf("回执 %s 项目 %s 标段 %s 时间 %s 日志序号 %d", rc.Action, rc.Tender, rc.Section,
		rc.ServerTime.In(kaiping.BeijingTime).Format("2006-01-02 15:04:05.000")+"（北京时间）", rc.Ledger.Seq)
	for _, e := range rc.Envelopes {
		s += fmt.Sprintf("\n  %s 第%d版 %d 字节 SHA-256 %s", e.Kind, e.Version, e.Size, e.SHA256)
	}
	return s
}

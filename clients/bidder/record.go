package bidder

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"

	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/opening"
)

// FetchRecord reads the hall's published record and checks that its digest is the SHA-256
// of the bytes the server sent: what is shown and signed is exactly what was published.
func FetchRecord(ctx context.Context, api *apiclient.Client, hall string) (opening.PublishedRecord, opening.RoundRecord, error) {
	var pr opening.PublishedRecord
	if err := api.Do(ctx, http.MethodGet, hall+"/record", nil, &pr); err != nil {
		return pr, opening.RoundRecord{}, err
	}
	if got := opening.RecordDigest(pr.Record); got != pr.Digest {
		return pr, opening.RoundRecord{}, fmt.Errorf("服务器返回的开标记录与其摘要不符（记录的 SHA-256 为 %s，声称 %s），不予确认", got, pr.Digest)
	}
	rec, err := opening.DecodeRoundRecord(pr.Record)
	return pr, rec, err
}

// PrintRecord writes the record as text: its heading, a block per bid, its digest.
func PrintRecord(w io.Writer, pr opening.PublishedRecord, rec opening.RoundRecord) {
	title := "开标记录"
	if rec.Round >= 2 {
		title += "（第二轮：开标一览表及商务标）"
	}
	fmt.Fprintln(w, "== "+title)
	for _, kv := range opening.RecordHead(rec) {
		fmt.Fprintf(w, "%s：%s\n", kv[0], kv[1])
	}
	head, rows := opening.RecordTable(rec)
	for _, r := range rows {
		fmt.Fprintf(w, "%s. %s\n", r[0], r[1])
		for i := 2; i < len(r); i++ {
			if r[i] != "" {
				fmt.Fprintf(w, "     %s：%s\n", head[i], r[i])
			}
		}
	}
	fmt.Fprintf(w, "开标记录摘要（SHA-256）：%s（审计日志第 %d 条）\n", pr.Digest, pr.LedgerSeq)
}

// ConfirmRecord fetches and checks the record, shows it on w, signs
// "KAIPING-RECORD-V1\n"+digest with key and posts the confirmation. With want not empty, a
// record whose digest is not want is refused before anything is signed.
func ConfirmRecord(ctx context.Context, api *apiclient.Client, key crypto.Signer, hall, want string, w io.Writer) (opening.Confirmation, error) {
	pr, rec, err := FetchRecord(ctx, api, hall)
	if err != nil {
		return opening.Confirmation{}, err
	}
	PrintRecord(w, pr, rec)
	if want != "" && want != pr.Digest {
		return opening.Confirmation{}, fmt.Errorf("开标记录已变化：当前摘要为 %s，不是您核对过的 %s，请重新核对后确认", pr.Digest, want)
	}
	sig, err := opening.SignRecord(key, pr.Digest)
	if err != nil {
		return opening.Confirmation{}, fmt.Errorf("签名失败: %w", err)
	}
	var c opening.Confirmation
	err = api.Do(ctx, http.MethodPost, hall+"/confirmations", opening.ConfirmRequest{Digest: pr.Digest, Signature: sig}, &c)
	return c, err
}

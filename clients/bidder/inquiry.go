package bidder

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/certsign"
)

// Inquiries lists the evaluation committee's written requests to the logged-in bidder.
func Inquiries(ctx context.Context, api *apiclient.Client) ([]evaluation.BidderInquiry, error) {
	var v evaluation.MyInquiriesView
	err := api.Do(ctx, http.MethodGet, "/api/v1/bidder/inquiries", nil, &v)
	return v.Inquiries, err
}

// SignAnswer signs an answer to inquiry with key, whose certificate chain is chain (the leaf
// first): the request the server takes, with the leaf's fingerprint.
func SignAnswer(key crypto.Signer, chain []byte, inquiry kaiping.ID, text string, d evaluation.InquiryDecision) (evaluation.AnswerRequest, error) {
	leaf, err := LeafCertificate(chain)
	if err != nil {
		return evaluation.AnswerRequest{}, err
	}
	sig, err := certsign.Sign(key, evaluation.InquiryAnswerMessage(inquiry, evaluation.TextDigest(text), d))
	if err != nil {
		return evaluation.AnswerRequest{}, fmt.Errorf("签名失败: %w", err)
	}
	return evaluation.AnswerRequest{Text: text, Decision: d, Certificate: identity.Fingerprint(leaf.Raw), Signature: sig}, nil
}

// AnswerInquiry signs and sends the answer to inquiry.
func AnswerInquiry(ctx context.Context, api *apiclient.Client, key crypto.Signer, chain []byte, inquiry kaiping.ID, text string, d evaluation.InquiryDecision) (evaluation.BidderInquiry, error) {
	req, err := SignAnswer(key, chain, inquiry, text, d)
	if err != nil {
		return evaluation.BidderInquiry{}, err
	}
	var out evaluation.BidderInquiry
	err = api.Do(ctx, http.MethodPost, "/api/v1/bidder/inquiries/"+url.PathEscape(string(inquiry))+"/answer", req, &out)
	return out, err
}

// PrintInquiries writes the requests for a person to read: from the committee, with the
// deadlines in Beijing time.
func PrintInquiries(w io.Writer, qs []evaluation.BidderInquiry) {
	if len(qs) == 0 {
		fmt.Fprintln(w, "评标委员会没有向您发出书面请求")
		return
	}
	bj := time.FixedZone("CST", 8*3600)
	for _, q := range qs {
		fmt.Fprintf(w, "%s  %s（%s）  %s %s 标段 %s\n", q.ID, q.Kind.Label(), q.State.Label(), q.TenderCode, q.TenderTitle, q.SectionCode)
		fmt.Fprintf(w, "  来自：%s  答复期限：%s（北京时间）\n", q.From, q.Deadline.In(bj).Format("2006-01-02 15:04:05"))
		for _, line := range strings.Split(q.Question, "\n") {
			fmt.Fprintf(w, "  | %s\n", line)
		}
		if q.Kind == evaluation.InquiryCorrection {
			fmt.Fprintf(w, "  修正后的投标报价：%d.%02d 元\n", q.CorrectedPrice/100, q.CorrectedPrice%100)
		}
		if q.Answer != nil {
			fmt.Fprintf(w, "  已于 %s 答复（%s）\n", q.Answer.At.In(bj).Format("2006-01-02 15:04:05"), q.Answer.Decision)
		}
	}
}

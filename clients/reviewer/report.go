// Package reviewer is the evaluation committee member's client (评标委员会成员): what a member's
// tool does with the member's own key, on the member's machine, through the API: signing the
// evaluation report.
package reviewer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/pdfdoc/cms"
	"github.com/kaiping/kaiping/pdfdoc/pdfsign"
)

// Signed is what a member signed: the report (its canonical bytes, checked against its
// digest before anything was signed), who signed it as which member, and the signature the
// server recorded: PDFRevision is the PDF revision an RSA or ECDSA member's signature made
// (0: none), CMS says an SM2 member's detached CMS went with it.
type Signed struct {
	Member    kaiping.ID
	Digest    string
	Report    evaluation.Report
	Canonical []byte
	Signature evaluation.ReportSignature
	CMS       bool
}

// SignReport has the logged-in member sign the session's evaluation report with key, the
// private key of cert (the certificate the member registered; a PKCS#11 token is asked for
// signatures only): over evaluation.ReportMessage with the dissent ("" to agree), and when
// the platform renders the report's PDF, an incremental PDF signature (RSA, ECDSA) or a
// detached CMS over the canonical bytes (SM2). The canonical bytes are read and checked
// against the digest first, so the member signs exactly the report the server keeps.
func SignReport(ctx context.Context, api *apiclient.Client, key crypto.Signer, cert *smx509.Certificate, session kaiping.ID, dissent string) (Signed, error) {
	sp := "/api/v1/expert/sessions/" + url.PathEscape(string(session))
	var me evaluation.MemberSessionView
	if err := api.Do(ctx, http.MethodGet, sp, nil, &me); err != nil {
		return Signed{}, err
	}
	ep := sp + "/report"
	var view evaluation.ReportView
	if err := api.Do(ctx, http.MethodGet, ep, nil, &view); err != nil {
		return Signed{}, err
	}
	// The server judges the signature over the dissent as it keeps it, trimmed.
	dissent = strings.TrimSpace(dissent)
	out := Signed{Member: me.Me.ID, Digest: view.Digest}
	canonical, err := api.Raw(ctx, ep+"/canonical")
	if err != nil {
		return Signed{}, err
	}
	if sum := sha256.Sum256(canonical); hex.EncodeToString(sum[:]) != view.Digest {
		return Signed{}, fmt.Errorf("服务器返回的评标报告与其摘要不符（正本的 SHA-256 为 %x，声称 %s），不予签署", sum, view.Digest)
	}
	out.Canonical = canonical
	if err := json.Unmarshal(canonical, &out.Report); err != nil {
		return Signed{}, fmt.Errorf("评标报告正本无法解析: %w", err)
	}
	sig, err := certsign.Sign(key, evaluation.ReportMessage(session, out.Member, view.Digest, dissent))
	if err != nil {
		return Signed{}, fmt.Errorf("签名失败: %w", err)
	}
	req := evaluation.SignReportRequest{Digest: view.Digest, Certificate: identity.Fingerprint(cert.Raw), Signature: sig, Dissent: dissent}
	if view.HasPDF {
		if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); ok && pub.Curve == sm2.P256() {
			if req.CMS, err = cms.SignDetached(canonical, key, cert); err != nil {
				return Signed{}, err
			}
			out.CMS = true
		} else if err := signPDF(ctx, api, ep, key, cert, &req); err != nil {
			return Signed{}, err
		}
	}
	err = api.Do(ctx, http.MethodPost, ep+"/signatures", req, &out.Signature)
	return out, err
}

// signPDF prepares the member's incremental signature on the report PDF's current revision
// and signs its digest (RSA, ECDSA).
func signPDF(ctx context.Context, api *apiclient.Client, ep string, key crypto.Signer, cert *smx509.Certificate, req *evaluation.SignReportRequest) error {
	var prep evaluation.PDFSigning
	if err := api.Do(ctx, http.MethodGet, ep+"/pdf-signing", nil, &prep); err != nil {
		return err
	}
	std, err := x509.ParseCertificate(cert.Raw)
	if err != nil {
		return fmt.Errorf("证书无法用于 PDF 签名: %w", err)
	}
	if req.PDFSignature, err = pdfsign.SignDigest(prep.Digest, key, std, prep.Time); err != nil {
		return err
	}
	req.PDFRevision, req.PDFTime = prep.Revision, prep.Time
	return nil
}

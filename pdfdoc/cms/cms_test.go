package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
)

// tokenSigner exposes nothing of a key but Public and Sign, as a UKEY's signer.
type tokenSigner struct{ k crypto.Signer }

func (s tokenSigner) Public() crypto.PublicKey { return s.k.Public() }
func (s tokenSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(r, digest, opts)
}

func codeOf(err error) string {
	var e *kaiping.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "not a kaiping.Error: " + err.Error()
	}
	return ""
}

// The signing time is gmsm's clock, so the certificates are valid around now.
func mustIssue(tb testing.TB, ca *devpki.CA, alg devpki.Algorithm, name string, from, to time.Time) *devpki.Issued {
	tb.Helper()
	is, err := ca.Issue(alg, name, "某市评标专家库", from, to)
	if err != nil {
		tb.Fatal(err)
	}
	return is
}

var content = []byte(`{"format":"kaiping-evaluation-report-v1","tender":"KP-2026-001","candidates":["第1建设集团（河南）有限公司"]}`)

// TestSignVerifyDetached: an SM2, an ECDSA and an RSA member each sign the report's
// canonical JSON; each verifies, with its certificate and a signing time of now, and SM2
// uses SM3. Altered content, another certificate in the CMS, garbage, an attached CMS and
// an expired certificate are refused with pdf.signature_invalid and the reason.
func TestSignVerifyDetached(t *testing.T) {
	now := time.Now()
	ca, err := devpki.NewCA(devpki.SM2, "Kaiping Test SM2 CA", now.AddDate(-2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
		m := mustIssue(t, ca, alg, "评委"+string(alg), now.Add(-time.Hour), now.AddDate(1, 0, 0))
		sig, err := SignDetached(content, tokenSigner{m.Key}, m.Cert)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		cert, at, err := VerifyDetached(content, sig)
		if err != nil || !cert.Equal(m.Cert) || at.Before(now.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: %v, %v, %v", alg, cert, at, err)
		}
		p7, _ := pkcs7.Parse(sig)
		if got := p7.Signers[0].DigestAlgorithm.Algorithm; (alg == devpki.SM2) != got.Equal(pkcs7.OIDDigestAlgorithmSM3) {
			t.Errorf("%s: digest algorithm %v", alg, got)
		}

		altered := []byte(strings.Replace(string(content), "第1", "第2", 1))
		refusals := []struct {
			name, reason string
			content, cms []byte
		}{
			{"altered content", "摘要不符", altered, sig},
			{"content cut", "摘要不符", content[:len(content)-1], sig},
			{"garbage", "无法解析", content, []byte("not a CMS at all")},
			{"nothing", "无法解析", content, nil},
			{"cut CMS", "无法解析", content, sig[:len(sig)/2]},
		}
		for _, r := range refusals {
			if _, _, err := VerifyDetached(r.content, r.cms); codeOf(err) != "pdf.signature_invalid" || !strings.Contains(err.Error(), r.reason) {
				t.Errorf("%s, %s: %v, want pdf.signature_invalid (%s)", alg, r.name, err, r.reason)
			}
		}
	}

	// Another member's certificate put in the CMS with the first member's signature.
	a := mustIssue(t, ca, devpki.SM2, "甲", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	b := mustIssue(t, ca, devpki.SM2, "乙", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	sd, _ := pkcs7.NewSMSignedData(content)
	if err := sd.AddSigner(b.Cert, a.Key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	sd.Detach()
	swapped, _ := sd.Finish()
	if _, _, err := VerifyDetached(content, swapped); codeOf(err) != "pdf.signature_invalid" || !strings.Contains(err.Error(), "证书不符") {
		t.Errorf("a signature with another member's certificate: %v", err)
	}
	// The content inside: not a detached signature of what the caller holds.
	sd, _ = pkcs7.NewSMSignedData(content)
	_ = sd.AddSigner(a.Cert, a.Key, pkcs7.SignerInfoConfig{})
	attached, _ := sd.Finish()
	if _, _, err := VerifyDetached(content, attached); codeOf(err) != "pdf.signature_invalid" || !strings.Contains(err.Error(), "不是分离式") {
		t.Errorf("an attached CMS: %v", err)
	}
	// A certificate that expired before the signature.
	old := mustIssue(t, ca, devpki.SM2, "丙", now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	late, err := SignDetached(content, old.Key, old.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyDetached(content, late); codeOf(err) != "pdf.signature_invalid" || !strings.Contains(err.Error(), "有效期") {
		t.Errorf("an expired certificate: %v", err)
	}
}

// TestSignDetachedRefusals: a key that is not the certificate's, or of an unsupported type.
func TestSignDetachedRefusals(t *testing.T) {
	now := time.Now()
	ca, err := devpki.NewCA(devpki.SM2, "Kaiping Test SM2 CA", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	a := mustIssue(t, ca, devpki.SM2, "甲", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	b := mustIssue(t, ca, devpki.SM2, "乙", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if _, err := SignDetached(content, b.Key, a.Cert); codeOf(err) != "pdf.key_mismatch" {
		t.Errorf("another key: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := SignDetached(content, p384, &smx509.Certificate{PublicKey: p384.Public()}); codeOf(err) != "pdf.key_unsupported" {
		t.Errorf("a P-384 key: %v", err)
	}
}

package pdfsign

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/kaiping/kaiping/identity/devpki"
)

// pdfsig runs poppler's pdfsig (poppler-utils, which deploy/dev/install-deps.sh installs)
// on pdf with args (-nocert: without judging the certificates) and returns its report.
func pdfsig(t *testing.T, pdf []byte, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("pdfsig")
	if err != nil {
		t.Fatalf("pdfsig (Debian package poppler-utils; deploy/dev/install-deps.sh installs it): %v", err)
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append(args, path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	return string(out)
}

var signedRanges = regexp.MustCompile(`Signed Ranges: \[(\d+) - (\d+)\], \[(\d+) - (\d+)\]`)

// TestPdfsig: a standard verifier, poppler's pdfsig, finds the four signatures of two RSA
// and two ECDSA members signing in turn, each "Signature is Valid", each with the byte
// range Verify reports, the last covering the whole document; and after a changed byte it
// reports the signatures that cover it invalid.
func TestPdfsig(t *testing.T) {
	members := fourMembers(t)
	revs := signInTurn(t, report(t), members)
	pdf := revs[len(revs)-1]
	sigs, err := Verify(pdf)
	if err != nil {
		t.Fatal(err)
	}
	out := pdfsig(t, pdf, "-nocert")
	if n := strings.Count(out, "Signature is Valid."); n != 4 {
		t.Fatalf("pdfsig finds %d valid signatures, want 4:\n%s", n, out)
	}
	blocks := strings.Split(out, "Signature #")[1:]
	if len(blocks) != 4 {
		t.Fatalf("pdfsig lists %d signatures:\n%s", len(blocks), out)
	}
	for i, b := range blocks {
		m := signedRanges.FindStringSubmatch(b)
		br := sigs[i].ByteRange
		want := []string{"0", itoa(br[1]), itoa(br[2]), itoa(br[2] + br[3])}
		if m == nil || strings.Join(m[1:], " ") != strings.Join(want, " ") {
			t.Errorf("signature %d: pdfsig's ranges %v, Verify's %v", i+1, m, want)
		}
		if !strings.Contains(b, "Signer Certificate Common Name: "+members[i].name) || !strings.Contains(b, "Signature Type: adbe.pkcs7.detached") {
			t.Errorf("signature %d: pdfsig says\n%s", i+1, b)
		}
		total := strings.Contains(b, "Total document signed")
		if total != (i == 3) {
			t.Errorf("signature %d: total document signed %v", i+1, total)
		}
	}

	// A byte of the second member's revision changed: pdfsig too rejects the signatures
	// made after it, and keeps the first.
	bad := []byte(strings.Clone(string(pdf)))
	at := sigs[1].ByteRange[1] - 40
	bad[at] ^= 0x01
	out = pdfsig(t, bad, "-nocert")
	if strings.Count(out, "Signature is Valid.") != 1 || strings.Count(out, "Digest Mismatch.") != 3 {
		t.Errorf("pdfsig after byte %d changed:\n%s", at, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// nssTrusting makes an NSS database (certutil, Debian package libnss3-tools) in which the
// test CA is a trust anchor, for pdfsig -nssdir.
func nssTrusting(t *testing.T, caPEM []byte) string {
	t.Helper()
	bin, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatalf("certutil (Debian package libnss3-tools; deploy/dev/install-deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + dir, "--empty-password"},
		{"-A", "-d", "sql:" + dir, "-n", "kaiping-test-ca", "-t", "CT,C,C", "-i", ca},
	} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// TestPdfsigTrusted: with the members' CA as a trust anchor, pdfsig also trusts the
// certificates of members whose certificate is fit for signing documents (digitalSignature
// and nonRepudiation, no extended key usage), RSA and ECDSA. A login certificate whose
// only extended key usage is clientAuth is not: NSS checks signers for email-signer use.
// (Without -no-ocsp: poppler 22.12 reports a trusted certificate as "Unknown issue" with
// -no-ocsp; the test certificates name no OCSP responder, so nothing is fetched.)
func TestPdfsigTrusted(t *testing.T) {
	mustMember(t, devpki.RSA, "CA")
	var members []member
	for i, alg := range []devpki.Algorithm{devpki.RSA, devpki.ECDSA} {
		is, err := ca.IssueWithUsage(alg, fmt.Sprintf("签名证书%d", i+1), "某市评标专家库", t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0),
			smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment, nil)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(is.Cert.Raw)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, member{name: cert.Subject.CommonName, cert: cert, signer: tokenSigner{is.Key}})
	}
	members = append(members, mustMember(t, devpki.ECDSA, "登录证书"))
	revs := signInTurn(t, report(t), members)
	out := pdfsig(t, revs[len(revs)-1], "-nssdir", nssTrusting(t, devpki.CertPEM(ca.Cert)))
	blocks := strings.Split(out, "Signature #")[1:]
	if len(blocks) != 3 {
		t.Fatalf("pdfsig lists %d signatures:\n%s", len(blocks), out)
	}
	for i, b := range blocks {
		trusted := strings.Contains(b, "Certificate Validation: Certificate is Trusted.")
		if !strings.Contains(b, "Signature is Valid.") || trusted != (i < 2) {
			t.Errorf("signature %d (%s): pdfsig says\n%s", i+1, members[i].name, b)
		}
	}
}

// TestPopplerInterop: another signer's incremental update in the middle. The first member
// signs, then poppler (pdfsig -add-signature, with a key NSS made, BER-encoded CMS without
// a signing-time attribute, CRLF line ends, an embedded font), then the third member: Verify
// and pdfsig both find the three signatures valid.
func TestPopplerInterop(t *testing.T) {
	first := signInTurn(t, report(t), []member{mustMember(t, devpki.ECDSA, "张三")})[0]
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatalf("certutil (Debian package libnss3-tools; deploy/dev/install-deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	noise := filepath.Join(dir, "noise")
	if err := os.WriteFile(noise, bytes.Repeat([]byte("kaiping test noise "), 64), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + dir, "--empty-password"},
		{"-S", "-d", "sql:" + dir, "-n", "poppler", "-s", "CN=poppler签名", "-x", "-t", "CT,C,C", "-k", "rsa", "-g", "2048",
			"-z", noise, "-v", "120", "--keyUsage", "digitalSignature"},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, first, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("pdfsig", "-nssdir", dir, "-add-signature", "-nick", "poppler", "-new-signature-field-name", "poppler1", in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdfsig -add-signature: %v\n%s", err, b)
	}
	second, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := Verify(second)
	if err != nil || len(sigs) != 2 || sigs[1].Field != "poppler1" || sigs[1].Signer.Subject.CommonName != "poppler签名" || !sigs[1].SigningTime.IsZero() {
		t.Fatalf("after poppler signed: %v, %v", sigs, err)
	}
	third := signInTurn(t, second, []member{mustMember(t, devpki.RSA, "王五")})[0]
	if sigs, err = Verify(third); err != nil || len(sigs) != 3 || sigs[0].Revision != int64(len(first)) || sigs[1].Revision != int64(len(second)) {
		t.Fatalf("after the third signed: %v, %v", sigs, err)
	}
	if report := pdfsig(t, third, "-nocert"); strings.Count(report, "Signature is Valid.") != 3 || strings.Count(report, "Total document signed") != 1 {
		t.Errorf("pdfsig on the three signatures:\n%s", report)
	}
}

package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/pdfdoc"
)

var t0 = time.Date(2026, 12, 7, 8, 30, 0, 0, time.UTC)

// member is a committee member's certificate and key; the key is wrapped so it is only a
// crypto.Signer, as a UKEY's is.
type member struct {
	name   string
	cert   *x509.Certificate
	signer crypto.Signer
}

// tokenSigner exposes nothing of a key but Public and Sign.
type tokenSigner struct{ k crypto.Signer }

func (s tokenSigner) Public() crypto.PublicKey { return s.k.Public() }
func (s tokenSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(r, digest, opts)
}

var (
	caOnce sync.Once
	ca     *devpki.CA
	caErr  error
)

func mustMember(tb testing.TB, alg devpki.Algorithm, name string) member {
	tb.Helper()
	caOnce.Do(func() { ca, caErr = devpki.NewCA(devpki.RSA, "Kaiping Test CA", t0.AddDate(-1, 0, 0)) })
	if caErr != nil {
		tb.Fatal(caErr)
	}
	is, err := ca.Issue(alg, name, "某市评标专家库", t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(is.Cert.Raw)
	if err != nil {
		tb.Fatal(err)
	}
	return member{name: name, cert: cert, signer: tokenSigner{is.Key}}
}

var (
	docOnce sync.Once
	doc     []byte
)

// report is a two-page PDF as pdfdoc writes it.
func report(tb testing.TB) []byte {
	tb.Helper()
	docOnce.Do(func() {
		fs, err := pdfdoc.LoadFonts(pdfdoc.DefaultCJKFont, pdfdoc.DefaultLatinFont)
		if err != nil {
			tb.Fatalf("the PDF fonts (deploy/dev/install-deps.sh installs them): %v", err)
		}
		d := fs.NewDocument(pdfdoc.Options{Title: "评标报告", Footer: "评标报告 KP-2026-001", Created: t0})
		d.Title("评标报告", 18)
		d.KeyValues([][2]string{{"项目名称", "某市滨江大道（一期）道路及配套工程施工"}, {"项目编号", "KP-2026-001"}})
		d.NewPage()
		d.Heading("评标委员会成员签名")
		if doc, err = d.Bytes(); err != nil {
			tb.Fatal(err)
		}
	})
	return bytes.Clone(doc)
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

// signInTurn has the members sign pdf one after the other, each on page 2 in a field of
// their own name, and returns the document after each signature.
func signInTurn(tb testing.TB, pdf []byte, members []member) [][]byte {
	tb.Helper()
	var revs [][]byte
	for i, m := range members {
		var err error
		pdf, err = Sign(pdf, Request{Field: "评委" + fmt.Sprint(i+1) + "-" + m.name, Page: 2, Time: t0.Add(time.Duration(i) * time.Minute),
			Reason: "签署评标报告"}, m.signer, m.cert)
		if err != nil {
			tb.Fatalf("member %d (%s) signs: %v", i+1, m.name, err)
		}
		revs = append(revs, pdf)
	}
	return revs
}

func fourMembers(tb testing.TB) []member {
	return []member{mustMember(tb, devpki.RSA, "张三"), mustMember(tb, devpki.ECDSA, "李四"),
		mustMember(tb, devpki.RSA, "王五"), mustMember(tb, devpki.ECDSA, "赵六")}
}

// TestSignInTurn: two RSA and two ECDSA members sign in turn; after each, every signature
// so far verifies, each names its field, signer, time and revision (the document as that
// member signed it), and the earlier revisions are unchanged prefixes of the later.
func TestSignInTurn(t *testing.T) {
	members := fourMembers(t)
	base := report(t)
	if sigs, err := Verify(base); err != nil || len(sigs) != 0 {
		t.Fatalf("the unsigned report: %v, %v", sigs, err)
	}
	revs := signInTurn(t, base, members)
	for k, pdf := range revs {
		sigs, err := Verify(pdf)
		if err != nil {
			t.Fatalf("after %d signatures: %v", k+1, err)
		}
		if len(sigs) != k+1 {
			t.Fatalf("after %d signatures Verify finds %d", k+1, len(sigs))
		}
		for i, s := range sigs {
			want := "评委" + fmt.Sprint(i+1) + "-" + members[i].name
			if s.Field != want || !s.Signer.Equal(members[i].cert) || !s.SigningTime.Equal(t0.Add(time.Duration(i)*time.Minute)) ||
				s.Revision != int64(len(revs[i])) || s.ByteRange[0] != 0 || s.ByteRange[2]+s.ByteRange[3] != s.Revision {
				t.Errorf("after %d: signature %d is %q by %s at %v over %d bytes %v; want %q by %s over %d",
					k+1, i+1, s.Field, s.Signer.Subject.CommonName, s.SigningTime, s.Revision, s.ByteRange, want, members[i].name, len(revs[i]))
			}
		}
		prev := base
		if k > 0 {
			prev = revs[k-1]
		}
		if !bytes.HasPrefix(pdf, prev) {
			t.Errorf("signature %d rewrote the revision before it", k+1)
		}
	}
}

// TestSignPage: the widget sits on the page asked and is listed in its /Annots and the
// form's /Fields; a page the document lacks is refused.
func TestSignPage(t *testing.T) {
	m := mustMember(t, devpki.ECDSA, "李四")
	for _, page := range []int{0, 1, 2} {
		pdf, err := Sign(report(t), Request{Field: "评委1", Page: page, Time: t0}, m.signer, m.cert)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parseFile(pdf)
		if err != nil {
			t.Fatal(err)
		}
		root, _ := f.dictAt(f.trailer.get("Root"), "root")
		want := max(page, 1)
		pageRef, pageDict, err := f.page(root, want)
		if err != nil {
			t.Fatal(err)
		}
		annots, _ := f.arrayAt(pageDict.get("Annots"), "annots")
		if len(annots) != 1 {
			t.Fatalf("page %d: /Annots %v", want, annots)
		}
		w, _ := f.dictAt(annots[0], "widget")
		if w.get("P") != pageRef || w.get("FT") != name("Sig") || decodeText(w.get("T").(str).b) != "评委1" {
			t.Errorf("page %d: widget %v", want, w.m)
		}
		other := 3 - want
		_, otherDict, _ := f.page(root, other)
		if otherDict.get("Annots") != nil {
			t.Errorf("page %d got an annotation too", other)
		}
		form, _ := f.dictAt(root.get("AcroForm"), "form")
		if fields, _ := f.arrayAt(form.get("Fields"), "fields"); len(fields) != 1 || fields[0] != annots[0] || form.get("SigFlags") != number("3") {
			t.Errorf("form %v", form.m)
		}
	}
	_, err := Sign(report(t), Request{Field: "评委1", Page: 3, Time: t0}, m.signer, m.cert)
	if codeOf(err) != "pdf.page_missing" || !strings.Contains(err.Error(), "共 2 页") {
		t.Errorf("page 3 of 2: %v", err)
	}
}

// TestPrepareComplete: the server's steps around the client's: Prepare is deterministic,
// the client signs the digest only, Complete checks the CMS before writing it.
func TestPrepareComplete(t *testing.T) {
	m := mustMember(t, devpki.RSA, "张三")
	req := Request{Field: "评委1-张三", Page: 2, Time: t0}
	p, err := Prepare(report(t), req)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Prepare(report(t), req)
	if !bytes.Equal(p.pdf, again.pdf) || !bytes.Equal(p.Digest(), again.Digest()) {
		t.Error("Prepare twice gives different bytes")
	}
	cms, err := SignDigest(p.Digest(), m.signer, m.cert, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := again.Complete(cms)
	if err != nil {
		t.Fatal(err)
	}
	if sigs, err := Verify(signed); err != nil || len(sigs) != 1 || !sigs[0].SigningTime.Equal(t0.Add(time.Second)) {
		t.Fatalf("Verify: %v %v", sigs, err)
	}

	// A client that signed the whole PDF with the same request: the server accepts exactly
	// that, not another byte changed, nor another document's signature.
	clientSigned, err := Sign(report(t), req, m.signer, m.cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(clientSigned); err != nil {
		t.Errorf("the client's signature: %v", err)
	}
	changed := bytes.Clone(clientSigned)
	changed[100] ^= 1
	if err := p.Check(changed); codeOf(err) != "pdf.unexpected_changes" {
		t.Errorf("a byte changed by the client: %v", err)
	}
	if err := p.Check(append(bytes.Clone(clientSigned), '\n')); codeOf(err) != "pdf.unexpected_changes" {
		t.Errorf("a byte added by the client: %v", err)
	}
	otherSigned, _ := Sign(report(t), Request{Field: req.Field, Page: 2, Time: t0.Add(time.Second)}, m.signer, m.cert)
	if err := p.Check(otherSigned); codeOf(err) != "pdf.unexpected_changes" {
		t.Errorf("another request's update: %v", err)
	}
	forged := bytes.Clone(clientSigned)
	forged[p.holeStart+300] ^= 1
	if err := p.Check(forged); codeOf(err) != "pdf.signature_invalid" {
		t.Errorf("a changed CMS: %v", err)
	}

	// A CMS for another document, or made after the certificate expired, is refused.
	other, _ := Prepare(report(t), Request{Field: "评委2", Time: t0})
	wrong, _ := SignDigest(other.Digest(), m.signer, m.cert, t0)
	if _, err := p.Complete(wrong); codeOf(err) != "pdf.signature_invalid" || !strings.Contains(err.Error(), "摘要不符") {
		t.Errorf("another document's CMS: %v", err)
	}
	late, _ := SignDigest(p.Digest(), m.signer, m.cert, m.cert.NotAfter.Add(time.Hour))
	if _, err := p.Complete(late); codeOf(err) != "pdf.signature_invalid" || !strings.Contains(err.Error(), "有效期") {
		t.Errorf("a CMS after the certificate expired: %v", err)
	}
	if _, err := p.Complete([]byte("not a CMS")); codeOf(err) != "pdf.signature_invalid" {
		t.Errorf("garbage CMS: %v", err)
	}
	small, _ := Prepare(report(t), Request{Field: "评委1", Time: t0, Reserve: 600})
	cms, _ = SignDigest(small.Digest(), m.signer, m.cert, t0)
	if _, err := small.Complete(cms); codeOf(err) != "pdf.signature_too_large" {
		t.Errorf("a %d-byte CMS in 600 bytes: %v", len(cms), err)
	}
}

// TestRefusals: what a caller can get wrong is refused with its code.
func TestRefusals(t *testing.T) {
	rsaM := mustMember(t, devpki.RSA, "张三")
	ecM := mustMember(t, devpki.ECDSA, "李四")
	signed := signInTurn(t, report(t), []member{rsaM})[0]
	sm2Key, _ := devpki.NewKey(devpki.SM2)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name   string
		pdf    []byte
		req    Request
		signer crypto.Signer
		cert   *x509.Certificate
		code   string
	}{
		{"a field name used already", signed, Request{Field: "评委1-张三", Page: 2}, ecM.signer, ecM.cert, "pdf.field_exists"},
		{"no field name", report(t), Request{}, ecM.signer, ecM.cert, "pdf.field_missing"},
		{"not a PDF", []byte("hello"), Request{Field: "a"}, ecM.signer, ecM.cert, "pdf.malformed"},
		{"a PDF cut short", report(t)[:1000], Request{Field: "a"}, ecM.signer, ecM.cert, "pdf.malformed"},
		{"another member's key", report(t), Request{Field: "a"}, ecM.signer, rsaM.cert, "pdf.key_mismatch"},
		{"an SM2 key", report(t), Request{Field: "a"}, sm2Key, &x509.Certificate{PublicKey: sm2Key.Public()}, "pdf.key_unsupported"},
		{"a P-384 key", report(t), Request{Field: "a"}, p384, &x509.Certificate{PublicKey: p384.Public()}, "pdf.key_unsupported"},
	}
	for _, tt := range tests {
		tt.req.Time = t0
		if _, err := Sign(tt.pdf, tt.req, tt.signer, tt.cert); codeOf(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	if _, err := SignDigest(make([]byte, 20), ecM.signer, ecM.cert, t0); codeOf(err) != "pdf.digest_invalid" {
		t.Errorf("a 20-byte digest: %v", err)
	}
	if _, err := SignDigest(make([]byte, 32), ecM.signer, ecM.cert, time.Time{}); codeOf(err) != "pdf.time_missing" {
		t.Errorf("no signing time: %v", err)
	}
	failing := tokenSigner{failingKey{ecM.signer}}
	if _, err := SignDigest(make([]byte, 32), failing, ecM.cert, t0); codeOf(err) != "pdf.sign_failed" {
		t.Errorf("a token that fails: %v", err)
	}
	if _, err := Verify([]byte("%PDF-1.7\ngarbage")); codeOf(err) != "pdf.malformed" {
		t.Errorf("Verify garbage: %v", err)
	}
}

// TestTamper: a byte changed anywhere after a member signed fails that member's signature
// (the first failing one is named); bytes appended after the last signature are refused.
func TestTamper(t *testing.T) {
	revs := signInTurn(t, report(t), []member{mustMember(t, devpki.RSA, "张三"), mustMember(t, devpki.ECDSA, "李四")})
	pdf := revs[1]
	sigs, err := Verify(pdf)
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := sigs[0].ByteRange, sigs[1].ByteRange
	mid := func(a, b int64) int64 { return (a + b) / 2 }
	tests := []struct {
		region string
		at     int64
		names  string
	}{
		{"the report before the first signature", mid(0, int64(len(report(t)))), "第 1 个签名（签名域“评委1-张三”"},
		{"the first update before its hole", r1[1] - 30, "第 1 个签名"},
		{"the first signature's CMS", r1[1] + 200, "第 1 个签名"},
		{"the first signature's padding", r1[2] - 10, "第 1 个签名"},
		{"the first update after its hole", mid(r1[2], sigs[0].Revision), "第 1 个签名"},
		{"the second signature's /ByteRange", r2[1] - 30, "第 2 个签名"},
		{"the second signature's /M", r2[2] + 5, "第 2 个签名（签名域“评委2-李四”，签名人 李四）"},
		{"the second signature's CMS", r2[1] + 200, "第 2 个签名"},
		{"the second update after its hole", mid(r2[2], sigs[1].Revision), "第 2 个签名"},
		{"the last byte", int64(len(pdf) - 1), "第 2 个签名"},
	}
	for _, tt := range tests {
		bad := bytes.Clone(pdf)
		bad[tt.at] ^= 0x01
		_, err := Verify(bad)
		if codeOf(err) != "pdf.signature_invalid" || !strings.Contains(err.Error(), tt.names) {
			t.Errorf("%s (byte %d): %v, want pdf.signature_invalid naming %s", tt.region, tt.at, err, tt.names)
		}
	}
	// Every byte of the last update but the CMS hex (the first update is built the same
	// way): whatever it hits, Verify refuses.
	for at := sigs[0].Revision; at < int64(len(pdf)); at++ {
		if at > r2[1] && at < r2[2]-1 {
			continue
		}
		bad := bytes.Clone(pdf)
		bad[at] ^= 0x01
		if _, err := Verify(bad); err == nil {
			t.Fatalf("byte %d (%q) changed: Verify accepts", at, pdf[at])
		}
	}
	if _, err := Verify(append(bytes.Clone(pdf), "\n% unsigned\n"...)); codeOf(err) != "pdf.unsigned_changes" {
		t.Errorf("bytes after the last signature: %v", err)
	}
}

// failingKey is a token that refuses to sign (a UKEY pulled out, a PIN refused).
type failingKey struct{ crypto.Signer }

func (failingKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("CKR_DEVICE_REMOVED")
}

// TestHiddenSignature: an update that drops a member's field from the form and its widget
// from the page, then signed by another member, hides the first signature from a reader
// (pdfsig lists only the second, valid); Verify refuses it, naming the hidden signer.
func TestHiddenSignature(t *testing.T) {
	first := signInTurn(t, report(t), []member{mustMember(t, devpki.RSA, "张三")})[0]
	f, err := parseFile(first)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.dictAt(f.trailer.get("Root"), "root")
	form := root.get("AcroForm").(ref)
	pageRef, page, err := f.page(root, 2)
	if err != nil {
		t.Fatal(err)
	}
	page.m["Annots"] = array{}
	var upd bytes.Buffer
	upd.Write(first)
	offsets := map[int]int{form.num: upd.Len()}
	fmt.Fprintf(&upd, "%d 0 obj\n<< /Fields [] /SigFlags 3 >>\nendobj\n", form.num)
	offsets[pageRef.num] = upd.Len()
	fmt.Fprintf(&upd, "%d 0 obj\n", pageRef.num)
	write(&upd, page)
	upd.WriteString("\nendobj\n")
	xref := upd.Len()
	writeXref(&upd, offsets)
	fmt.Fprintf(&upd, "trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", f.size, f.trailer.get("Root").(ref).num, f.xref, xref)
	li := mustMember(t, devpki.ECDSA, "李四")
	hidden, err := Sign(upd.Bytes(), Request{Field: "评委2-李四", Time: t0}, li.signer, li.cert)
	if err != nil {
		t.Fatal(err)
	}
	if out := pdfsig(t, hidden, "-nocert"); strings.Count(out, "Signature #") != 1 || !strings.Contains(out, "Signature is Valid.") {
		t.Errorf("pdfsig on the hidden signature:\n%s", out)
	}
	if _, err := Verify(hidden); codeOf(err) != "pdf.signature_orphan" || !strings.Contains(err.Error(), "张三") {
		t.Errorf("a signature dropped from the form: %v", err)
	}
}

package pdfsign

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/kaiping/kaiping"
)

// Signature is one verified signature of a document.
type Signature struct {
	// Field is the signature field's name (/T).
	Field string
	// Signer is the certificate in the CMS whose key made the signature. Verify does not
	// judge it: the caller compares it with the certificate the member registered.
	Signer *x509.Certificate
	// SigningTime is the CMS's signing-time attribute, the signer's clock; zero when the CMS
	// states none (poppler's own signatures keep the time in the dictionary's /M only).
	SigningTime time.Time
	// Revision is the length in bytes of the revision the signature covers: the document
	// as it was when this member signed is the file's first Revision bytes.
	Revision int64
	// ByteRange is the signature's /ByteRange: [0, hole start, hole end, bytes after].
	ByteRange [4]int64
}

// byteRangeRE finds signature dictionaries' byte ranges in the raw file, so a signature is
// found, and named, even when a changed byte has broken the file's structure.
var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d{1,15})\s+(\d{1,15})\s+(\d{1,15})\s+(\d{1,15})\s*\]`)

// contentsKeyRE is what must come right before a signature's hole: its /Contents key.
var contentsKeyRE = regexp.MustCompile(`/Contents\s*$`)

// Verify checks every signature of pdf, oldest first, and returns them in that order. Each
// must cover the whole file up to the end of its revision (a %%EOF) but its own /Contents
// hole, its CMS must be a SHA-256 detached SignedData whose signature verifies against the
// certificate it carries and whose digest is that of the covered bytes, and the last must
// cover the whole file: a byte changed anywhere after a member signed fails that member's
// signature. A file without signatures returns none.
//
// A signature that fails is KindInvalid "pdf.signature_invalid", naming it (its place, its
// field and signer where they can be read) and why; bytes after the last signature,
// "pdf.unsigned_changes"; a signature no form field holds, "pdf.signature_orphan"; a file
// that cannot be read, "pdf.malformed".
func Verify(pdf []byte) ([]Signature, error) {
	type found struct {
		br    [4]int
		field string
	}
	var sigs []found
	for _, m := range byteRangeRE.FindAllSubmatchIndex(pdf, -1) {
		var br [4]int
		for i := range br {
			br[i], _ = strconv.Atoi(string(pdf[m[2+2*i]:m[3+2*i]]))
		}
		sigs = append(sigs, found{br: br})
	}
	slices.SortStableFunc(sigs, func(a, b found) int { return (a.br[2] + a.br[3]) - (b.br[2] + b.br[3]) })

	// Names from the form, best effort: a broken structure is reported once every
	// signature is checked, since a signature that fails says more.
	fields, structErr := signatureFields(pdf)
	out := make([]Signature, 0, len(sigs))
	for i, s := range sigs {
		s.field = fields[s.br[1]]
		sig := Signature{Field: s.field, ByteRange: [4]int64{int64(s.br[0]), int64(s.br[1]), int64(s.br[2]), int64(s.br[3])},
			Revision: int64(s.br[2] + s.br[3])}
		fail := func(reason string) error {
			who := fmt.Sprintf("第 %d 个签名", i+1)
			if s.field != "" {
				who += "（签名域“" + s.field + "”"
				if sig.Signer != nil {
					who += "，签名人 " + sig.Signer.Subject.CommonName
				}
				who += "）"
			} else if sig.Signer != nil {
				who += "（签名人 " + sig.Signer.Subject.CommonName + "）"
			}
			return kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_invalid", "%s验证失败：%s", who, reason)
		}
		der, reason := hole(pdf, s.br)
		if reason != "" {
			return nil, fail(reason)
		}
		signer, at, reason := verifyCMS(der, append(pdf[:s.br[1]:s.br[1]], pdf[s.br[2]:s.br[2]+s.br[3]]...))
		sig.Signer, sig.SigningTime = signer, at
		if reason != "" {
			return nil, fail(reason)
		}
		if structErr == nil && s.field == "" {
			return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_orphan",
				"第 %d 个签名（签名人 %s）不属于文件中的任何签名域：签名后文件被改动", i+1, signer.Subject.CommonName)
		}
		out = append(out, sig)
	}
	// What follows the last good signature: a signature broken beyond recognition (a
	// changed byte in its dictionary), or an update nobody signed.
	covered := 0
	if len(out) > 0 {
		covered = int(out[len(out)-1].Revision)
	}
	if rest := pdf[covered:]; len(out) > 0 && len(rest) > 0 || len(out) == 0 && len(fields) > 0 {
		for _, mark := range []string{"/ByteRange", "/adbe.pkcs7.detached", "/Adobe.PPKLite"} {
			if bytes.Contains(rest, []byte(mark)) {
				return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_invalid",
					"第 %d 个签名验证失败：签名字典已损坏，签名后文件被改动", len(out)+1)
			}
		}
		if len(out) > 0 {
			last := out[len(out)-1]
			return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.unsigned_changes",
				"最后一个签名（签名域“%s”）只覆盖文件的前 %d 字节，其后还有 %d 字节未经签名的改动", last.Field, last.Revision, len(rest))
		}
	}
	if structErr != nil {
		return nil, malformed(structErr)
	}
	for _, at := range slices.Sorted(maps.Keys(fields)) {
		field := fields[at]
		if !slices.ContainsFunc(out, func(s Signature) bool { return s.ByteRange[1] == int64(at) }) {
			return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_invalid",
				"签名域“%s”的签名验证失败：找不到它的签名范围，签名后文件被改动", field)
		}
	}
	return out, nil
}

// hole checks a byte range against the file: it starts at the file's first byte, its hole
// is exactly a hex string right after a /Contents key, and it ends where a revision ends
// (after %%EOF and its end of line). It returns the CMS, without the hole's zero padding,
// or why not, in Chinese.
func hole(pdf []byte, br [4]int) ([]byte, string) {
	if br[0] != 0 || br[1] <= 0 || br[2] <= br[1]+1 || br[2]+br[3] > len(pdf) || br[2]+br[3] < br[2] {
		return nil, fmt.Sprintf("签名范围 %v 不是从文件开头到某一修订版本结尾（除签名值外）的全部内容", br)
	}
	if pdf[br[1]] != '<' || pdf[br[2]-1] != '>' || !contentsKeyRE.Match(pdf[max(0, br[1]-64):br[1]]) {
		return nil, "签名范围的空缺不是该签名的 /Contents 签名值"
	}
	end := br[2] + br[3]
	if !bytes.HasSuffix(bytes.TrimRight(pdf[:end], "\r\n"), []byte("%%EOF")) ||
		(end < len(pdf) && pdf[end-1] != '\n' && pdf[end-1] != '\r' && pdf[end] != '\r' && pdf[end] != '\n') {
		return nil, fmt.Sprintf("签名范围结束于第 %d 字节，不是一个修订版本的结尾", end)
	}
	h := pdf[br[1]+1 : br[2]-1]
	der := make([]byte, len(h)/2)
	if len(h)%2 != 0 {
		return nil, "签名值不是完整的十六进制串"
	}
	if _, err := hex.Decode(der, h); err != nil {
		return nil, "签名值不是十六进制串"
	}
	// The hole is padded with zeros after the DER: take exactly the outer element. Other
	// signers (NSS, so poppler) write BER with indefinite lengths, whose end-of-contents
	// octets are zeros too: that goes to the CMS parser whole, which converts it.
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		return der, ""
	}
	if bytes.Count(der[len(raw.FullBytes):], []byte{0}) != len(der)-len(raw.FullBytes) {
		return nil, "签名值之后的填充不是零"
	}
	return raw.FullBytes, ""
}

// verifyCMS checks a detached SignedData over content: one signer, SHA-256, the digest of
// content, a signature the carried certificate verifies, a signing time within that
// certificate's validity. It returns the signer's certificate and signing time, or why not
// in Chinese.
func verifyCMS(der, content []byte) (*x509.Certificate, time.Time, string) {
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, time.Time{}, "签名值无法解析为 CMS SignedData"
	}
	if len(p7.Signers) != 1 {
		return nil, time.Time{}, fmt.Sprintf("签名值含 %d 个签名者，应为 1 个", len(p7.Signers))
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		return nil, time.Time{}, "签名值中没有签名者的证书"
	}
	var at time.Time
	_ = p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &at)
	if !p7.Signers[0].DigestAlgorithm.Algorithm.Equal(oidSHA256) {
		return cert, at, "签名摘要算法不是 SHA-256"
	}
	var ct asn1.ObjectIdentifier
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeContentType, &ct); err != nil || !ct.Equal(oidData) {
		return cert, at, "签名属性缺少内容类型（id-data）"
	}
	p7.Content = content
	if err := p7.Verify(); err != nil {
		var mismatch *pkcs7.MessageDigestMismatchError
		switch {
		case errors.As(err, &mismatch):
			return cert, at, "签名后文件内容被改动（摘要不符）"
		case strings.Contains(err.Error(), "signing time"):
			return cert, at, "签名时间不在证书有效期内"
		}
		return cert, at, "签名值与证书不符"
	}
	return cert, at, ""
}

// signatureFields maps each signed signature field's /Contents hole (its offset) to the
// field's name, walking the newest revision's form.
func signatureFields(pdf []byte) (map[int]string, error) {
	out := map[int]string{}
	f, err := parseFile(pdf)
	if err != nil {
		return out, err
	}
	root, err := f.dictAt(f.trailer.get("Root"), "the catalog")
	if err != nil {
		return out, err
	}
	af := root.get("AcroForm")
	if af == nil {
		return out, nil
	}
	form, err := f.dictAt(af, "/AcroForm")
	if err != nil {
		return out, err
	}
	fields, err := f.arrayAt(form.get("Fields"), "/Fields")
	if err != nil {
		return out, err
	}
	err = f.eachField(fields, func(_ ref, d *dict) error {
		if d.get("FT") != name("Sig") || d.get("V") == nil {
			return nil
		}
		v, err := f.dictAt(d.get("V"), "a signature dictionary")
		if err != nil {
			return err
		}
		c, ok := v.get("Contents").(str)
		if !ok {
			return fmt.Errorf("a signature dictionary has no /Contents string")
		}
		t, _ := d.get("T").(str)
		out[c.start] = decodeText(t.b)
		return nil
	})
	return out, err
}

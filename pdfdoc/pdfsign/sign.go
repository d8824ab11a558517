// Package pdfsign adds incremental PDF signatures (ISO 32000-1, 12.8) to the platform's
// documents and checks them: each member of an evaluation committee signs the report (评标报告)
// in turn, every signature an incremental update over the revision before it, so all stay
// valid and a standard reader (poppler's pdfsig, Adobe Reader) shows them. Signatures are
// /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached with a CMS SignedData over SHA-256,
// for RSA and ECDSA P-256 certificates; SM2 certificates sign the report's canonical JSON
// with package cms instead.
//
// Signing is three steps so the key never has to be where the PDF is: Prepare (the server:
// the update with an empty /Contents, and its digest), SignDigest (the member's client, with
// a file key or a UKEY as crypto.Signer) and Complete (the server: the CMS into the hole).
// Sign runs all three in one process, for a client that has the PDF; the server then takes
// its result through Prepared.Check.
package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/kaiping/kaiping"
)

// Request is what a signature's update holds besides the CMS.
type Request struct {
	// Field is the signature field's name (/T), unique in the document: the member's seat,
	// such as "评委3-张三", which Verify returns to say whose signature is whose.
	Field string
	// Page is the page (from 1) the field's invisible widget sits on; zero means page 1.
	Page int
	// Time is the signing time written in the signature dictionary (/M; none if zero); the
	// CMS carries the signer's own. Given, so Prepare run twice on the same input gives the
	// same bytes.
	Time time.Time
	// Reason is the signature's /Reason, shown by readers (签署评标报告); optional.
	Reason string
	// Reserve is the bytes kept for the CMS; zero means 8192, room for a 4096-bit RSA
	// certificate and a chain of two more.
	Reserve int
}

// DefaultReserve is the room kept for the CMS when Request.Reserve is zero.
const DefaultReserve = 8192

// Prepared is a document with a signature's incremental update appended whose /Contents
// is still zeros.
type Prepared struct {
	pdf       []byte
	holeStart int // offset of '<' of /Contents
	holeEnd   int // offset after '>'
}

// byteRangeWidth is the room for "/ByteRange [0 a b c]"'s numbers, filled in once the
// update's length is known; spaces pad it.
const byteRangeWidth = 36

// Prepare appends to pdf an incremental update holding a signature field named req.Field
// (an invisible widget on page req.Page) and its signature dictionary, with room for the
// CMS. pdf is as gopdf writes it, or with earlier signatures: they stay valid. It is
// deterministic: the same pdf and req give the same bytes, so a server need not keep the
// Prepared between sending the digest and receiving the CMS.
//
// A file that is not a PDF this package can update is KindInvalid "pdf.malformed"; a field
// name already used, "pdf.field_exists"; a page the document lacks, "pdf.page_missing".
func Prepare(pdf []byte, req Request) (*Prepared, error) {
	if req.Field == "" {
		return nil, kaiping.E(kaiping.KindInvalid, "pdf.field_missing", "签名域名称不能为空")
	}
	if req.Page == 0 {
		req.Page = 1
	}
	if req.Reserve == 0 {
		req.Reserve = DefaultReserve
	}
	f, err := parseFile(pdf)
	if err != nil {
		return nil, malformed(err)
	}
	rootRef := f.trailer.get("Root").(ref)
	root, err := f.dictAt(rootRef, "the catalog")
	if err != nil {
		return nil, malformed(err)
	}
	pageRef, page, err := f.page(root, req.Page)
	if e, ok := err.(errPageMissing); ok {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.page_missing", "签名页第 %d 页不存在：文件共 %d 页", e.n, e.pages)
	}
	if err != nil {
		return nil, malformed(err)
	}
	// The form: an existing /AcroForm (a reference after the first signature) is rewritten
	// under its own number; a new one gets a number and the catalog points at it.
	var form *dict
	formRef, formIsRef := root.get("AcroForm").(ref)
	if af := root.get("AcroForm"); af != nil {
		if form, err = f.dictAt(af, "/AcroForm"); err != nil {
			return nil, malformed(err)
		}
	} else {
		form = newDict()
	}
	fields, err := f.arrayAt(form.get("Fields"), "/Fields")
	if err != nil {
		return nil, malformed(err)
	}
	names, err := f.fieldNames(fields)
	if err != nil {
		return nil, malformed(err)
	}
	if names[req.Field] {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.field_exists", "签名域“%s”已存在：每位成员的签名域名称应不同", req.Field)
	}
	annots, err := f.arrayAt(page.get("Annots"), "/Annots")
	if err != nil {
		return nil, malformed(err)
	}

	next := f.size
	sigNum, widgetNum := next, next+1
	next += 2
	if !formIsRef {
		formRef = ref{next, 0}
		next++
	}
	widget := newDict()
	widget.set("Type", name("Annot"))
	widget.set("Subtype", name("Widget"))
	widget.set("FT", name("Sig"))
	widget.set("T", str{b: textString(req.Field)})
	widget.set("V", ref{sigNum, 0})
	widget.set("P", pageRef)
	widget.set("Rect", array{number("0"), number("0"), number("0"), number("0")})
	widget.set("F", number("132")) // print, locked
	page.set("Annots", append(append(array{}, annots...), ref{widgetNum, 0}))
	form.set("Fields", append(append(array{}, fields...), ref{widgetNum, 0}))
	form.set("SigFlags", number("3")) // signatures exist, append only

	var out bytes.Buffer
	out.Grow(len(pdf) + 2*req.Reserve + 4096)
	out.Write(pdf)
	if !bytes.HasSuffix(pdf, []byte("\n")) {
		out.WriteByte('\n')
	}
	offsets := map[int]int{}
	begin := func(num int) {
		offsets[num] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n", num)
	}
	begin(sigNum)
	out.WriteString("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [")
	rangeAt := out.Len()
	out.Write(bytes.Repeat([]byte{' '}, byteRangeWidth))
	out.WriteString("] /Contents ")
	holeStart := out.Len()
	out.WriteByte('<')
	out.Write(bytes.Repeat([]byte{'0'}, 2*req.Reserve))
	out.WriteByte('>')
	holeEnd := out.Len()
	if !req.Time.IsZero() {
		out.WriteString(" /M ")
		write(&out, str{b: []byte(pdfDate(req.Time))})
	}
	if req.Reason != "" {
		out.WriteString(" /Reason ")
		write(&out, str{b: textString(req.Reason)})
	}
	out.WriteString(" >>\nendobj\n")
	for _, o := range []struct {
		r ref
		d *dict
	}{{ref{widgetNum, 0}, widget}, {pageRef, page}, {formRef, form}} {
		begin(o.r.num)
		write(&out, o.d)
		out.WriteString("\nendobj\n")
	}
	if !formIsRef {
		root.set("AcroForm", formRef)
		begin(rootRef.num)
		write(&out, root)
		out.WriteString("\nendobj\n")
	}
	xref := out.Len()
	writeXref(&out, offsets)
	trailer := newDict()
	for _, k := range f.trailer.keys {
		if k != "Prev" && k != "XRefStm" {
			trailer.set(k, f.trailer.get(k))
		}
	}
	trailer.set("Size", number(strconv.Itoa(next)))
	trailer.set("Prev", number(strconv.Itoa(f.xref)))
	out.WriteString("trailer\n")
	write(&out, trailer)
	fmt.Fprintf(&out, "\nstartxref\n%d\n%%%%EOF\n", xref)

	b := out.Bytes()
	br := fmt.Sprintf("0 %d %d %d", holeStart, holeEnd, len(b)-holeEnd)
	if len(br) > byteRangeWidth {
		return nil, kaiping.E(kaiping.KindInvalid, "pdf.too_large", "PDF 文件过大，无法签名")
	}
	copy(b[rangeAt:], br)
	return &Prepared{pdf: b, holeStart: holeStart, holeEnd: holeEnd}, nil
}

// writeXref writes the update's xref table: the free head and a subsection per run of
// consecutive object numbers.
func writeXref(out *bytes.Buffer, offsets map[int]int) {
	out.WriteString("xref\n0 1\n0000000000 65535 f \n")
	nums := make([]int, 0, len(offsets))
	for n := range offsets {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		fmt.Fprintf(out, "%d %d\n", nums[i], j-i+1)
		for _, n := range nums[i : j+1] {
			fmt.Fprintf(out, "%010d 00000 n \n", offsets[n])
		}
		i = j + 1
	}
}

// Digest is the SHA-256 of the bytes the signature covers: the whole update but the
// /Contents hole. It is what SignDigest signs.
func (p *Prepared) Digest() []byte {
	h := sha256.New()
	h.Write(p.pdf[:p.holeStart])
	h.Write(p.pdf[p.holeEnd:])
	return h.Sum(nil)
}

// covered is what the signature covers of b, the document with the update.
func (p *Prepared) covered(b []byte) []byte {
	return append(b[:p.holeStart:p.holeStart], b[p.holeEnd:]...)
}

// Complete puts cms (SignDigest's result) into the hole and returns the signed PDF. A CMS
// larger than the room kept is KindInvalid "pdf.signature_too_large"; one that does not
// verify over this document (another document's, a wrong key's), "pdf.signature_invalid":
// nothing is written that Verify would refuse.
func (p *Prepared) Complete(cms []byte) ([]byte, error) {
	room := (p.holeEnd - p.holeStart - 2) / 2
	if len(cms) > room {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_too_large",
			"签名数据 %d 字节，超出预留的 %d 字节：请增大预留空间后重新准备", len(cms), room)
	}
	out := bytes.Clone(p.pdf)
	hex.Encode(out[p.holeStart+1:], cms)
	if _, _, reason := verifyCMS(cms, p.covered(out)); reason != "" {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_invalid", "签名数据与待签署的文件不符：%s", reason)
	}
	return out, nil
}

// Check accepts a document a member's client signed with Sign from the same pdf and
// Request this Prepared was made from: byte for byte the prepared update but the hole, and
// a CMS in the hole that verifies. A server that lets clients sign whole PDFs runs it, so
// a client cannot slip other changes in with its signature (a reader would show them as
// signed). Anything else is KindInvalid "pdf.unexpected_changes" or, for the CMS,
// "pdf.signature_invalid".
func (p *Prepared) Check(signed []byte) error {
	if len(signed) != len(p.pdf) || !bytes.Equal(signed[:p.holeStart], p.pdf[:p.holeStart]) ||
		!bytes.Equal(signed[p.holeEnd:], p.pdf[p.holeEnd:]) {
		return kaiping.E(kaiping.KindInvalid, "pdf.unexpected_changes", "签署后的文件除签名外还有其他改动，或不是基于待签署的版本：不予接受")
	}
	der, reason := hole(signed, [4]int{0, p.holeStart, p.holeEnd, len(signed) - p.holeEnd})
	if reason == "" {
		_, _, reason = verifyCMS(der, p.covered(signed))
	}
	if reason != "" {
		return kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_invalid", "签名数据与待签署的文件不符：%s", reason)
	}
	return nil
}

// Sign signs pdf in one process: Prepare, SignDigest with signer and cert at req.Time,
// Complete. For a member's client that has both the PDF and the key.
func Sign(pdf []byte, req Request, signer crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	p, err := Prepare(pdf, req)
	if err != nil {
		return nil, err
	}
	cms, err := SignDigest(p.Digest(), signer, cert, req.Time)
	if err != nil {
		return nil, err
	}
	return p.Complete(cms)
}

// fieldNames collects the names of a form's fields (and their kids).
func (f *file) fieldNames(fields array) (map[string]bool, error) {
	names := map[string]bool{}
	err := f.eachField(fields, func(_ ref, d *dict) error {
		if t, ok := d.get("T").(str); ok {
			names[decodeText(t.b)] = true
		}
		return nil
	})
	return names, err
}

// eachField calls fn for every field reachable from fields, kids included.
func (f *file) eachField(fields array, fn func(ref, *dict) error) error {
	seen := map[int]bool{}
	var walk func(a array, depth int) error
	walk = func(a array, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("form fields nested deeper than %d", maxDepth)
		}
		for _, v := range a {
			r, ok := v.(ref)
			if !ok || seen[r.num] {
				continue
			}
			seen[r.num] = true
			d, err := f.dictAt(r, "a form field")
			if err != nil {
				return err
			}
			if err := fn(r, d); err != nil {
				return err
			}
			kids, err := f.arrayAt(d.get("Kids"), "/Kids")
			if err != nil {
				return err
			}
			if err := walk(kids, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(fields, 0)
}

// textString encodes s as a PDF text string: UTF-16BE with its byte order mark, which
// every reader shows in Chinese.
func textString(s string) []byte {
	out := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

// decodeText reads a PDF text string: UTF-16BE with a byte order mark, else taken as
// PDFDocEncoding's ASCII part.
func decodeText(b []byte) string {
	if len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF {
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	}
	return string(b)
}

// pdfDate is a PDF date (7.9.4) in Beijing time, as the documents show times.
func pdfDate(t time.Time) string {
	return t.In(beijing).Format("D:20060102150405+08'00'")
}

var beijing = time.FixedZone("CST", 8*3600)

// malformed is the error for a file this package cannot read; the parser's detail goes to
// the log through Err, not to the user.
func malformed(err error) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "pdf.malformed",
		Message: "PDF 文件结构无法解析（不是本平台生成的 PDF，或文件已损坏），不能签名或验证", Op: "pdfsign", Err: err}
}

package seal

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
	"testing"
)

// screen feeds env to a Screen in writes of step bytes, as ReadBack's copy loop would.
func screen(env []byte, step int) *Screen {
	s := NewScreen()
	for p := env; len(p) > 0; {
		n := min(step, len(p))
		s.Write(p[:n])
		p = p[n:]
	}
	return s
}

// pieceEvidence is PlaintextEvidence of every stored piece of env's payload.
func pieceEvidence(tb testing.TB, env []byte) []float64 {
	tb.Helper()
	_, size, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		tb.Fatal(err)
	}
	var out []float64
	for p := env[size:]; ; {
		piece := p[:min(encChunkSize, len(p))]
		var counts [256]uint32
		for _, b := range piece {
			counts[b]++
		}
		out = append(out, PlaintextEvidence(&counts, len(piece)))
		p = p[len(piece):]
		if len(p) == 0 {
			return out
		}
	}
}

// withBody replaces env's payload by body repeated to the payload's length: a genuine
// header over plaintext of exactly the right size.
func withBody(tb testing.TB, env, body []byte) []byte {
	tb.Helper()
	_, size, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		tb.Fatal(err)
	}
	n := len(env) - int(size)
	return append(bytes.Clone(env[:size]), bytes.Repeat(body, n/len(body)+1)[:n]...)
}

// Plaintexts a careless tool might put behind a genuine header.
var (
	chineseText = []byte(strings.Repeat("第一章 投标函：我方已详细审核全部招标文件，愿以投标报价壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整承担本工程的施工，工期三百六十五日历天，质量合格。\n", 400))
	englishText = []byte(strings.Repeat("Section 3. Technical proposal: construction organisation, schedule, quality and safety measures for every phase of the works. ", 600))
)

// pdfLike is a PDF as office software writes one: text objects and an xref table around a
// deflate-compressed page content stream.
func pdfLike(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	var offsets []int
	for i := 1; i <= 40; i++ {
		var content bytes.Buffer
		z := zlib.NewWriter(&content)
		fmt.Fprintf(z, "BT /F1 12 Tf 72 %d Td (投标报价 %d 元, 工期 %d 天) Tj ET\n", 700-i, 10000000+i*37, 300+i)
		z.Write(englishText[:2000])
		z.Close()
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Page /Parent 1 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 2 0 R >> >> /Contents %d 0 R >>\nendobj\n", 2*i+1, 2*i+2)
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", 2*i+2, content.Len())
		b.Write(content.Bytes())
		b.WriteString("\nendstream\nendobj\n")
	}
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, b.Len())
	return b.Bytes()
}

// officeLike is a .docx: a ZIP of deflated XML parts and a PNG picture.
func officeLike(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	part := func(name string, body []byte) {
		w, err := z.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(body)
	}
	part("[Content_Types].xml", []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`))
	var doc bytes.Buffer
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8"?><w:document><w:body>`)
	for i := range 300 {
		fmt.Fprintf(&doc, `<w:p><w:r><w:t>第 %d 条 %s</w:t></w:r></w:p>`, i, chineseText[:(i%40+1)*30])
	}
	doc.WriteString(`</w:body></w:document>`)
	part("word/document.xml", doc.Bytes())
	part("word/media/image1.png", pngLike(tb))
	if err := z.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// pngLike is a picture: a drawing with some texture, as a PNG (deflate inside).
func pngLike(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := range 300 {
		for x := range 400 {
			img.Set(x, y, color.RGBA{uint8(x ^ y), uint8(x * y / 97), uint8((x + 3*y) / 5), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestScreenRefusesPlaintext: behind a genuine header, text in two languages, zeros, a
// PDF, an Office file and a picture are each refused, in whatever writes they arrive;
// every chunk of text and zeros fails on its own, far past the threshold.
func TestScreenRefusesPlaintext(t *testing.T) {
	fx := mustFixtures(t)
	env := mustSeal(t, pattern(300_000), testBinding(), []*party{fx["p256"]}) // 5 chunks
	for _, tt := range []struct {
		name      string
		body      []byte
		eachChunk bool
	}{
		{"Chinese text", chineseText, true},
		{"English text", englishText, true},
		{"zeros", make([]byte, 1), true},
		{"a summary form of 62 bytes", []byte(`{"price":"12345678.90","duration":"180","quality":"qualified"}`), false},
		{"a PDF", pdfLike(t), false},
		{"an Office file", officeLike(t), false},
		{"a picture", pngLike(t), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := withBody(t, env, tt.body)
			if tt.name == "a summary form of 62 bytes" {
				file = withBody(t, mustSeal(t, make([]byte, len(tt.body)-TagSize), testBinding(), []*party{fx["p256"]}), tt.body)
			}
			for _, step := range []int{1 << 20, 4096, 7} {
				s := screen(file, step)
				if _, err := s.Header(); err != nil {
					t.Fatalf("the genuine header: %v", err)
				}
				wantCode(t, s.Payload(), CodeNotCiphertext)
			}
			if tt.eachChunk {
				for i, e := range pieceEvidence(t, file) {
					if e < 10*NotCiphertextBits {
						t.Errorf("chunk %d: %.0f bits of evidence", i, e)
					}
				}
			}
		})
	}
}

// TestScreenPassesCiphertext: every chunk of thousands of genuine envelopes passes, in both
// suites, whatever the plaintext (zeros, text, a PDF, random) and whatever the length of
// the last piece. The largest evidence seen is logged: Markov's bound makes a value past
// 64 bits a 2^-64 event; values near 0 or below are what ciphertext gives.
func TestScreenPassesCiphertext(t *testing.T) {
	fx := mustFixtures(t)
	random := make([]byte, 1<<20)
	rand.Read(random)
	plaintexts := [][]byte{make([]byte, 4<<20), bytes.Repeat(chineseText, 40), pdfLike(t), officeLike(t), random}
	for n := range 1500 {
		plaintexts = append(plaintexts, chineseText[:n%700])
	}
	chunks, worst := 0, math.Inf(-1)
	for _, suite := range []Suite{AES256GCM, SM4GCM} {
		for i, plain := range plaintexts {
			env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]}, WithSuite(suite))
			s := screen(env, 1<<20)
			if _, err := s.Header(); err != nil {
				t.Fatal(err)
			}
			if err := s.Payload(); err != nil {
				t.Fatalf("%s envelope %d (%d bytes of plaintext): %v", suite, i, len(plain), err)
			}
			for _, e := range pieceEvidence(t, env) {
				worst = max(worst, e)
				chunks++
			}
		}
	}
	t.Logf("%d genuine chunks passed; the largest evidence was %.1f bits (threshold %d)", chunks, worst, NotCiphertextBits)
}

// TestScreenHeader: what is not an envelope has no header and no payload verdict; a header
// alone (no payload at all) and a header split across writes parse.
func TestScreenHeader(t *testing.T) {
	fx := mustFixtures(t)
	s := screen([]byte("%PDF-1.7 not an envelope"), 3)
	if _, err := s.Header(); err == nil {
		t.Error("a plain file parsed as an envelope")
	}
	if err := s.Payload(); err != nil {
		t.Errorf("a file without a header has a payload verdict: %v", err)
	}
	env := mustSeal(t, nil, testBinding(), []*party{fx["p256"]})
	h, size, _ := ParseHeader(bytes.NewReader(env))
	for _, file := range [][]byte{env, env[:size]} {
		s := screen(file, 5)
		if got, err := s.Header(); err != nil || !bytes.Equal(got.Bytes(), h.Bytes()) {
			t.Errorf("header: %v", err)
		}
		if err := s.Payload(); err != nil {
			t.Errorf("payload: %v", err)
		}
	}
}

// BenchmarkScreen is the server's test of a stored 64 MiB envelope, next to its anchor in
// the same run: the SHA-256 that the same read already computes.
func BenchmarkScreen(b *testing.B) {
	fx := mustFixtures(b)
	env := mustSeal(b, pattern(benchSize), testBinding(), []*party{fx["p256"]})
	b.Run("screen", func(b *testing.B) {
		b.SetBytes(int64(len(env)))
		for b.Loop() {
			s := NewScreen()
			io.CopyBuffer(s, bytes.NewReader(env), make([]byte, 1<<20))
			if err := s.Payload(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sha256 (anchor)", func(b *testing.B) {
		b.SetBytes(int64(len(env)))
		for b.Loop() {
			h := sha256.New()
			io.CopyBuffer(h, bytes.NewReader(env), make([]byte, 1<<20))
		}
	})
}

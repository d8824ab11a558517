package seal

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

// The tests in this file pin the edges of the format's limits and grammars by their values,
// not through the constants, so a changed limit or a loosened check fails a test
// (make mutate found these unpinned).

// TestLimitValues: the limits FORMAT.md states, by value.
func TestLimitValues(t *testing.T) {
	for name, c := range map[string]struct{ got, want int }{
		"FileKeySize":   {FileKeySize, 32},
		"NonceSize":     {NonceSize, 16},
		"KeyCheckSize":  {KeyCheckSize, 16},
		"MACSize":       {MACSize, 32},
		"MaxHeaderSize": {MaxHeaderSize, 65536},
		"MaxStanzas":    {MaxStanzas, 16},
		"maxLineLen":    {maxLineLen, 1024},
		"MaxSecretSize": {MaxSecretSize, 128},
		"ChunkSize":     {ChunkSize, 65536},
		"TagSize":       {TagSize, 16},
		"maxIDLen":      {maxIDLen, 64},
		"bodyColumns":   {bodyColumns, 64},
		"minRSABytes":   {minRSABytes, 256},
		"maxRSABytes":   {maxRSABytes, 1024},
		"maxSM2Bytes":   {maxSM2Bytes, 512},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", name, c.got, c.want)
		}
	}
}

// TestStanzaArgGrammar: a stanza type or argument is one or more printable ASCII
// characters other than space (0x21 to 0x7e); anything else is refused when written and
// when read.
func TestStanzaArgGrammar(t *testing.T) {
	for _, c := range []struct {
		ch string
		ok bool
	}{
		{"!", true}, {"~", true}, {"a", true},
		{" ", false}, {"\x00", false}, {"\x1f", false}, {"\t", false}, {"\x7f", false}, {"\x80", false}, {"标", false},
	} {
		for _, s := range []Stanza{
			{Type: "future" + c.ch + "kem", Args: []string{"id"}, Body: []byte("x")},
			{Type: "future-kem", Args: []string{"i" + c.ch + "d"}, Body: []byte("x")},
			{Type: "future-kem", Args: []string{"id", c.ch}, Body: []byte("x")},
		} {
			text, err := s.MarshalText()
			if c.ok != (err == nil) {
				t.Errorf("MarshalText(%q %q) = %v, want ok %v", s.Type, s.Args, err, c.ok)
			}
			if !c.ok {
				wantCode(t, err, CodeHeaderMalformed)
				if c.ch == " " {
					continue // in the text form a space separates arguments
				}
				text = fmt.Appendf(nil, "-> %s %s\neA\n", s.Type, strings.Join(s.Args, " "))
			}
			var back Stanza
			err = back.UnmarshalText(text)
			if c.ok != (err == nil) {
				t.Errorf("UnmarshalText(%q) = %v, want ok %v", text, err, c.ok)
			}
			if c.ok && (back.Type != s.Type || strings.Join(back.Args, " ") != strings.Join(s.Args, " ") || !bytes.Equal(back.Body, s.Body)) {
				t.Errorf("UnmarshalText(%q) = %+v, want %+v", text, back, s)
			}
		}
	}
	for _, s := range []Stanza{
		{Type: "", Args: []string{"id"}, Body: []byte("x")},
		{Type: "future-kem", Args: []string{""}, Body: []byte("x")},
		{Type: "future-kem", Args: []string{"id", ""}, Body: []byte("x")},
	} {
		_, err := s.MarshalText()
		wantCode(t, err, CodeHeaderMalformed)
	}
	var st Stanza
	wantCode(t, st.UnmarshalText([]byte("-> future-kem id \neA\n")), CodeHeaderMalformed)
	wantCode(t, st.UnmarshalText([]byte("->  future-kem\neA\n")), CodeHeaderMalformed)
	wantCode(t, st.UnmarshalText([]byte("-> \neA\n")), CodeHeaderMalformed)
	if err := st.UnmarshalText([]byte("-> future-kem\n\n")); err != nil || st.Type != "future-kem" || len(st.Args) != 0 || st.Body == nil || len(st.Body) != 0 {
		t.Errorf("a stanza without arguments or body: %+v, %v", st, err)
	}
}

// TestStanzaBodyLengths: outside a header (validate(0)) a stanza's body must hold a secret
// of 1 to 128 bytes; the bounds of each type, by value.
func TestStanzaBodyLengths(t *testing.T) {
	fx := mustFixtures(t)
	p256, err := WrapSecret(rand.Reader, fx["p256"].cert, []byte("s"))
	if err != nil {
		t.Fatal(err)
	}
	rescue := p256
	rescue.Type = TypeRescueP256
	rsaSt, err := WrapSecret(rand.Reader, fx["rsa"].cert, []byte("s"))
	if err != nil {
		t.Fatal(err)
	}
	sm2St, err := WrapSecret(rand.Reader, fx["sm2"].cert, []byte("s"))
	if err != nil {
		t.Fatal(err)
	}
	der := func(n int) []byte { b := make([]byte, n); b[0] = 0x30; return b }
	for _, c := range []struct {
		base Stanza
		body []byte
		ok   bool
	}{
		{p256, make([]byte, 16), false}, // the tag alone: an empty secret
		{p256, make([]byte, 17), true},
		{p256, make([]byte, 16+128), true},
		{p256, make([]byte, 16+129), false},
		{rescue, make([]byte, 16), false},
		{rescue, make([]byte, 17), true},
		{rescue, make([]byte, 16+128), true},
		{rescue, make([]byte, 16+129), false},
		{rsaSt, make([]byte, 255), false},
		{rsaSt, make([]byte, 256), true},
		{rsaSt, make([]byte, 1024), true},
		{rsaSt, make([]byte, 1025), false},
		{sm2St, []byte{}, false},
		{sm2St, der(1), true},
		{sm2St, der(512), true},
		{sm2St, der(513), false},
		{sm2St, append([]byte{0x31}, make([]byte, 100)...), false},
	} {
		s := c.base
		s.Body = c.body
		_, err := s.MarshalText()
		if c.ok != (err == nil) {
			t.Errorf("%s with a %d-byte body: %v, want ok %v", s.Type, len(c.body), err, c.ok)
		}
		if err != nil {
			wantCode(t, err, CodeHeaderMalformed)
		}
	}
	// In a header the body holds exactly the 32-byte file key: 48 bytes for P-256.
	for n, ok := range map[int]bool{47: false, 48: true, 49: false} {
		s := p256
		s.Body = make([]byte, n)
		if err := s.validate(FileKeySize); ok != (err == nil) {
			t.Errorf("validate(32) of a %d-byte P-256 body: %v, want ok %v", n, err, ok)
		}
	}
}

// TestStanzaArgCounts: each known type takes exactly its arguments, the first a 64-digit
// lowercase hex identifier.
func TestStanzaArgCounts(t *testing.T) {
	fx := mustFixtures(t)
	wrap := func(name string) Stanza {
		s, err := WrapSecret(rand.Reader, fx[name].cert, []byte("s"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, base := range []Stanza{wrap("p256"), wrap("rsa"), wrap("sm2")} {
		if _, err := base.MarshalText(); err != nil {
			t.Fatalf("%s: %v", base.Type, err)
		}
		for name, args := range map[string][]string{
			"no arguments":   {},
			"one more":       append(append([]string(nil), base.Args...), "x"),
			"one less":       base.Args[:len(base.Args)-1],
			"63-digit ID":    append([]string{base.Args[0][:63]}, base.Args[1:]...),
			"65-digit ID":    append([]string{base.Args[0] + "0"}, base.Args[1:]...),
			"uppercase ID":   append([]string{strings.ToUpper(base.Args[0])}, base.Args[1:]...),
			"g in the ID":    append([]string{"g" + base.Args[0][1:]}, base.Args[1:]...),
			"slash in an ID": append([]string{"/" + base.Args[0][1:]}, base.Args[1:]...),
		} {
			s := base
			s.Args = args
			_, err := s.MarshalText()
			if err == nil {
				t.Errorf("%s, %s: accepted", base.Type, name)
				continue
			}
			wantCode(t, err, CodeHeaderMalformed)
		}
	}
	for _, id := range []string{strings.Repeat("0", 64), strings.Repeat("9", 64), strings.Repeat("a", 64), strings.Repeat("f", 64)} {
		if !validHexID(id) {
			t.Errorf("validHexID(%s) = false", id)
		}
	}
	for _, id := range []string{strings.Repeat("/", 64), strings.Repeat(":", 64), strings.Repeat("`", 64), strings.Repeat("g", 64), ""} {
		if validHexID(id) {
			t.Errorf("validHexID(%q) = true", id)
		}
	}
}

// TestBindingIDGrammar: a binding ID is 1 to 64 bytes of A-Z a-z 0-9 . _ -, checked at
// both ends of every range.
func TestBindingIDGrammar(t *testing.T) {
	good := []string{"a", "z", "A", "Z", "0", "9", ".", "_", "-", strings.Repeat("x", 64),
		"00000000-0000-4000-8000-000000000001", "tender_2026.001"}
	bad := []string{"", strings.Repeat("x", 65), " ", "a b", "`", "{", "@", "[", "/", ":", "+", "~", "\x00", "第一标段", "a\n"}
	for _, id := range good {
		if !validID(id) {
			t.Errorf("validID(%q) = false", id)
		}
	}
	for _, id := range bad {
		if validID(id) {
			t.Errorf("validID(%q) = true", id)
		}
	}
	for _, field := range []string{"tender", "section", "bidder"} {
		for _, id := range []kaiping.ID{"", kaiping.ID(strings.Repeat("x", 65)), "a/b"} {
			b := testBinding()
			switch field {
			case "tender":
				b.Tender = id
			case "section":
				b.Section = id
			case "bidder":
				b.Bidder = id
			}
			err := b.Validate()
			wantCode(t, err, CodeBindingInvalid)
			_, err = Seal(io.Discard, strings.NewReader("x"), b, []Recipient{mustFixtures(t)["p256"].recipient})
			wantCode(t, err, CodeBindingInvalid)
		}
	}
	b := testBinding()
	b.Tender = kaiping.ID(strings.Repeat("t", 64))
	if err := b.Validate(); err != nil {
		t.Errorf("a 64-byte tender ID: %v", err)
	}
	for _, k := range []EnvelopeKind{"", "price", "Summary"} {
		b := testBinding()
		b.Kind = k
		wantCode(t, b.Validate(), CodeBindingInvalid)
	}
	for k, label := range map[EnvelopeKind]string{Summary: "开标一览表", Technical: "技术标", Commercial: "商务标", "other": "other"} {
		if got := k.Label(); got != label {
			t.Errorf("%q.Label() = %q, want %q", k, got, label)
		}
		if k.Valid() != (label != "other") {
			t.Errorf("%q.Valid() = %v", k, k.Valid())
		}
	}
}

// TestMaxStanzasBoundary: a header holds at most 16 stanzas, and a sealer writes at most
// 16: the 16th is accepted, the 17th refused.
func TestMaxStanzasBoundary(t *testing.T) {
	hdr, _ := sampleHeader(t)
	lines := strings.SplitAfter(hdr, "\n")
	with := func(unknown int) string {
		var b strings.Builder
		for _, l := range lines[:8] {
			b.WriteString(l)
		}
		for i := range unknown {
			fmt.Fprintf(&b, "-> future-kem %d\n\n", i)
		}
		for _, l := range lines[8:] {
			b.WriteString(l)
		}
		return b.String()
	}
	// The sample has two stanzas; its MAC no longer matches, which only the file key shows.
	h, _, err := ParseHeader(strings.NewReader(with(14)))
	if err != nil {
		t.Fatalf("16 stanzas: %v", err)
	}
	if len(h.Stanzas) != 16 {
		t.Fatalf("16 stanzas parsed as %d", len(h.Stanzas))
	}
	_, _, err = ParseHeader(strings.NewReader(with(15)))
	wantCode(t, err, CodeHeaderMalformed)

	p256 := mustFixtures(t)["p256"].recipient
	to := func(n int) []Recipient {
		rs := []Recipient{p256}
		for i := 1; i < n; i++ {
			rs = append(rs, futureRecipient(fmt.Sprint(i)))
		}
		return rs
	}
	var buf bytes.Buffer
	if _, err := Seal(&buf, strings.NewReader("x"), testBinding(), to(16)); err != nil {
		t.Fatalf("sealing to 16: %v", err)
	}
	if h, _, err := ParseHeader(&buf); err != nil || len(h.Stanzas) != 16 {
		t.Fatalf("the envelope sealed to 16: %v", err)
	}
	_, err = Seal(io.Discard, strings.NewReader("x"), testBinding(), to(17))
	wantCode(t, err, CodeNoRecipients)
	_, err = Seal(io.Discard, strings.NewReader("x"), testBinding(), nil)
	wantCode(t, err, CodeNoRecipients)
}

// TestReadContract: Read returns either plaintext and no error, or no plaintext and an
// error, which sticks; a complete envelope ends in io.EOF, again and again.
func TestReadContract(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(2*ChunkSize + 100)
	env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	read := func(env []byte) ([]byte, error) {
		r, err := Open(bytes.NewReader(env), key)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		buf := make([]byte, 7000)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if n != 0 {
					t.Errorf("Read returned %d bytes with %v", n, err)
				}
				for range 2 {
					if n2, err2 := r.Read(buf); n2 != 0 || err2 != err {
						t.Errorf("Read after %v: %d, %v", err, n2, err2)
					}
				}
				return got, err
			}
			if n == 0 {
				t.Fatal("Read returned nothing and no error")
			}
		}
	}
	got, err := read(env)
	if err != io.EOF || !bytes.Equal(got, plain) {
		t.Fatalf("complete envelope: %d bytes, %v", len(got), err)
	}
	tampered := bytes.Clone(env)
	tampered[len(env)-1] ^= 1
	got, err = read(tampered)
	wantChunk(t, err, CodeChunkAuth, 2)
	if !bytes.Equal(got, plain[:2*ChunkSize]) {
		t.Errorf("before the bad chunk: %d bytes, want %d", len(got), 2*ChunkSize)
	}
	got, err = read(env[:len(env)-50])
	wantCode(t, err, CodeChunkAuth)
	if len(got) != 2*ChunkSize {
		t.Errorf("before the cut chunk: %d bytes", len(got))
	}
	var ce *ChunkError
	if !errors.As(err, &ce) {
		t.Fatal("no ChunkError")
	}
}

// futureRecipient wraps to a recipient type of a later version, with its own identifier.
type futureRecipient string

func (f futureRecipient) RecipientID() string { return string(f) }
func (f futureRecipient) Wrap(io.Reader, []byte) (Stanza, error) {
	return Stanza{Type: "future-kem", Args: []string{string(f)}, Body: []byte("x")}, nil
}

// TestRecipientsRefuseSecretSize: every recipient wraps 1 to 128 bytes and refuses an
// empty or longer secret itself, whoever calls it.
func TestRecipientsRefuseSecretSize(t *testing.T) {
	fx := mustFixtures(t)
	for _, name := range partyNames {
		r := fx[name].recipient
		for _, n := range []int{1, 128} {
			s, err := r.Wrap(rand.Reader, pattern(n))
			if err != nil {
				t.Fatalf("%s wrapping %d bytes: %v", name, n, err)
			}
			if got, err := fx[name].identity.Unwrap(s); err != nil || !bytes.Equal(got, pattern(n)) {
				t.Fatalf("%s unwrapping %d bytes: %v", name, n, err)
			}
		}
		for _, n := range []int{0, 129} {
			_, err := r.Wrap(rand.Reader, make([]byte, n))
			wantCode(t, err, CodeSecretSize)
		}
	}
}

// TestSealHeaderWriteError: a writer that fails on the header fails Seal, even if it would
// accept the chunks after it.
func TestSealHeaderWriteError(t *testing.T) {
	fx := mustFixtures(t)
	w := &failFirstWriter{}
	_, err := Seal(w, strings.NewReader("报价"), testBinding(), []Recipient{fx["p256"].recipient})
	if !errors.Is(err, errFirstWrite) {
		t.Fatalf("Seal: %v", err)
	}
	if w.n != 0 {
		t.Fatalf("%d bytes written after the header failed", w.n)
	}
}

var errFirstWrite = errors.New("first write refused")

// failFirstWriter refuses its first write and takes every later one.
type failFirstWriter struct {
	failed bool
	n      int
}

func (w *failFirstWriter) Write(p []byte) (int, error) {
	if !w.failed {
		w.failed = true
		return 0, errFirstWrite
	}
	w.n += len(p)
	return len(p), nil
}

// TestChunkErrorOffset: a chunk error names where the chunk starts in the envelope.
func TestChunkErrorOffset(t *testing.T) {
	fx := mustFixtures(t)
	env := mustSeal(t, pattern(3*ChunkSize+1), testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	_, hdrLen, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	for _, index := range []int64{0, 2, 3} {
		tampered := bytes.Clone(env)
		tampered[hdrLen+index*(ChunkSize+16)] ^= 1
		_, err := openBothWays(t, tampered, key)
		wantChunk(t, err, CodeChunkAuth, uint64(index))
		var ce *ChunkError
		errors.As(err, &ce)
		if want := hdrLen + index*65552; ce.Offset != want {
			t.Errorf("chunk %d at offset %d, want %d", index, ce.Offset, want)
		}
	}
}

// TestBase64Alphabet: header and stanza base64 is the standard alphabet without padding,
// and nothing else: not CR or LF (which the decoder would skip), not the URL alphabet.
func TestBase64Alphabet(t *testing.T) {
	for s, ok := range map[string]bool{"": true, "eA": true, "AZaz09+/": true,
		"e\rA": false, "e\nA": false, "eA==": false, "-_": false, "eB": false, "e A": false} {
		if _, got := decodeB64(s); got != ok {
			t.Errorf("decodeB64(%q) ok = %v, want %v", s, got, ok)
		}
	}
	var st Stanza
	for _, body := range []string{"e\rA", "eB", "eA==", "e-", "e_", "e A", "e!"} {
		wantCode(t, st.UnmarshalText([]byte("-> future-kem id\n"+body+"\n")), CodeHeaderMalformed)
	}
	if err := st.UnmarshalText([]byte("-> future-kem id\neA\n")); err != nil || string(st.Body) != "x" {
		t.Fatalf("a canonical body: %q, %v", st.Body, err)
	}
}

// TestMessagesClipText: a header's own text quoted in an error message is cut at 40 bytes,
// so a hostile file cannot fill logs and pages.
func TestMessagesClipText(t *testing.T) {
	for _, c := range []struct{ text, quoted string }{
		{strings.Repeat("s", 40), `"` + strings.Repeat("s", 40) + `"`},
		{strings.Repeat("s", 41), `"` + strings.Repeat("s", 40) + `…"`},
		{strings.Repeat("s", 39), `"` + strings.Repeat("s", 39) + `"`},
	} {
		_, _, err := ParseHeader(strings.NewReader("kaiping.org/seal/v1\nsuite " + c.text + "\n"))
		wantCode(t, err, CodeUnsupportedSuite)
		var ke *kaiping.Error
		if !errors.As(err, &ke) || !strings.Contains(ke.Message, c.quoted) {
			t.Errorf("suite of %d bytes: message %q does not quote %s", len(c.text), ke.Message, c.quoted)
		}
		_, _, err = ParseHeader(strings.NewReader("kaiping.org/seal/" + c.text[:len(c.text)-17] + "\n"))
		wantCode(t, err, CodeUnsupportedVersion)
	}
	_, _, err := ParseHeader(strings.NewReader("kaiping.org/seal/" + strings.Repeat("v", 30) + "\n"))
	var ke *kaiping.Error
	if !errors.As(err, &ke) || !strings.Contains(ke.Message, `"kaiping.org/seal/`+strings.Repeat("v", 23)+`…"`) {
		t.Errorf("a long version line: %v", err)
	}
}

// TestRescueKeyMustBeP256: a rescue identity or recipient on another curve is refused when
// made, not when a stanza fails to open.
func TestRescueKeyMustBeP256(t *testing.T) {
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewRescueIdentity(x)
	wantCode(t, err, CodeRecipientUnsupported)
	if id != nil {
		t.Fatal("an X25519 rescue identity was made")
	}
	_, err = NewRescueRecipient(x.PublicKey())
	wantCode(t, err, CodeRecipientUnsupported)
	_, err = NewRescueIdentity(nil)
	wantCode(t, err, CodeWrongKey)
}

// TestConcurrencyAtLeastOne: a concurrency of zero or less means one goroutine, for sealing
// and for opening, whichever way the payload is read.
func TestConcurrencyAtLeastOne(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(2*ChunkSize + 3)
	for _, n := range []int{0, -3} {
		env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]}, WithConcurrency(n))
		key := mustFileKey(t, env, fx["p256"])
		var out bytes.Buffer
		if _, err := Decrypt(&out, bytes.NewReader(env), key, WithConcurrency(n)); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("WithConcurrency(%d): Decrypt: %v", n, err)
		}
		r, err := Open(bytes.NewReader(env), key, WithConcurrency(n))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(onlyReader{r}); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("WithConcurrency(%d): Read: %v", n, err)
		}
	}
}

// TestLineLengthBoundary: a header line may be 1024 bytes with its newline, not 1025.
func TestLineLengthBoundary(t *testing.T) {
	line := func(n int) []byte { // a stanza line of n bytes with its newline, and an empty body
		prefix := "-> future-kem "
		return []byte(prefix + strings.Repeat("a", n-len(prefix)-1) + "\n\n")
	}
	var st Stanza
	if err := st.UnmarshalText(line(1024)); err != nil {
		t.Fatalf("a 1024-byte line: %v", err)
	}
	wantCode(t, st.UnmarshalText(line(1025)), CodeHeaderMalformed)
}

// TestHeaderFieldMessages: a nonce or key check of the wrong length is refused for what it
// is, not only as a non-canonical header.
func TestHeaderFieldMessages(t *testing.T) {
	hdr, _ := sampleHeader(t)
	lines := strings.SplitAfter(hdr, "\n")
	for i, want := range map[int]string{6: "nonce 应为 16 字节的 base64", 7: "keycheck 应为 16 字节的 base64"} {
		name := strings.Fields(lines[i])[0]
		for _, v := range []string{"AAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "!!"} {
			l := append([]string(nil), lines...)
			l[i] = name + " " + v + "\n"
			_, _, err := ParseHeader(strings.NewReader(strings.Join(l, "")))
			var ke *kaiping.Error
			if !errors.As(err, &ke) || ke.Code != CodeHeaderMalformed || !strings.Contains(ke.Message, want) {
				t.Errorf("%s %q: %v, want %q", name, v, err, want)
			}
		}
	}
}

// TestNewCertIdentityWithoutCertificate: no certificate is refused, not a nil dereference.
func TestNewCertIdentityWithoutCertificate(t *testing.T) {
	id, err := NewCertIdentity(nil, mustFixtures(t)["p256"].key)
	wantCode(t, err, CodeRecipientUnsupported)
	if id != nil {
		t.Fatal("an identity without a certificate")
	}
}

// TestHeaderLineMessages: a line that is neither a stanza nor the MAC line, however short,
// and a carriage return anywhere in a line, first byte included, are refused for what
// they are.
func TestHeaderLineMessages(t *testing.T) {
	hdr, _ := sampleHeader(t)
	lines := strings.SplitAfter(hdr, "\n")
	for _, garbage := range []string{"x\n", "\n", "hello\n", "->x\n"} {
		l := append([]string(nil), lines...)
		l[11] = garbage
		_, _, err := ParseHeader(strings.NewReader(strings.Join(l, "")))
		var ke *kaiping.Error
		if !errors.As(err, &ke) || ke.Code != CodeHeaderMalformed || !strings.Contains(ke.Message, "此处应为接收方段落") {
			t.Errorf("line %q: %v", garbage, err)
		}
	}
	var st Stanza
	for _, text := range []string{"-> future-kem id\n\r\n", "\r-> future-kem id\n\n"} {
		err := st.UnmarshalText([]byte(text))
		var ke *kaiping.Error
		if !errors.As(err, &ke) || !strings.Contains(ke.Message, "回车符") {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// TestSealSaysWhichRandomFailed: a random source that fails at once fails Seal on the file
// key, and one that fails after it on the nonce.
func TestSealSaysWhichRandomFailed(t *testing.T) {
	p256 := mustFixtures(t)["p256"].recipient
	for want, r := range map[string]io.Reader{
		"random file key": errReader{io.ErrUnexpectedEOF},
		"random nonce":    io.MultiReader(bytes.NewReader(make([]byte, 32)), errReader{io.ErrUnexpectedEOF}),
	} {
		_, err := Seal(io.Discard, strings.NewReader("x"), testBinding(), []Recipient{p256}, WithRand(r))
		if err == nil || kaiping.CodeOf(err) != "internal" || !strings.Contains(err.Error(), want) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

// TestHeaderSizeBoundary: a header (here one stanza) may be exactly 65536 bytes, not one
// more.
func TestHeaderSizeBoundary(t *testing.T) {
	text := func(id string) []byte {
		return []byte("-> future-kem " + id + "\n" + strings.Repeat(strings.Repeat("A", 64)+"\n", 1007) + strings.Repeat("A", 63) + "\n")
	}
	if n := len(text("id")); n != 65536 {
		t.Fatalf("the test stanza is %d bytes", n)
	}
	var st Stanza
	if err := st.UnmarshalText(text("id")); err != nil {
		t.Fatalf("65536 bytes: %v", err)
	}
	wantCode(t, st.UnmarshalText(text("id2")), CodeHeaderMalformed)
}

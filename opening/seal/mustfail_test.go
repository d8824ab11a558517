package seal

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kaiping/kaiping"
)

// The must-fail vectors of FORMAT.md §9: envelopes a reader must refuse, each with the error
// code it must refuse it with. They are made from the committed vectors by one change each;
// `go test -update` rewrites testdata/vectors/must-fail.json, and TestMustFailVectors runs
// the reader on every committed case.

const mustFailFile = "must-fail.json"

// failFile is must-fail.json.
type failFile struct {
	Description string     `json:"description"`
	Cases       []failCase `json:"cases"`
}

// failCase is one envelope to refuse and how to try to open it.
type failCase struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Envelope is the input, standard base64 with padding (RFC 4648 §4).
	Envelope string `json:"envelope"`
	// ExpectedBinding is the binding the server expects (§7 step 2), when the case is about it.
	ExpectedBinding *bindingRecord `json:"expected_binding,omitempty"`
	// Identity is the key file (under testdata/vectors/) to unwrap the file key with, or
	// FileKey the file key to open with, hex; with neither, only the header is parsed.
	Identity string `json:"identity,omitempty"`
	FileKey  string `json:"file_key,omitempty"`
	// Error is the code the reader must fail with, and ChunkIndex the chunk index it names
	// for the four payload codes.
	Error      string  `json:"error"`
	ChunkIndex *uint64 `json:"chunk_index,omitempty"`
}

type bindingRecord struct {
	Tender  string `json:"tender"`
	Section string `json:"section"`
	Bidder  string `json:"bidder"`
	Kind    string `json:"kind"`
}

// readerCodes are the codes a reader returns for bad input: every one has a must-fail case.
var readerCodes = []string{
	CodeNotEnvelope, CodeUnsupportedVersion, CodeHeaderMalformed, CodeUnsupportedSuite,
	CodeBindingMismatch, CodeNoStanza, CodeWrongKey, CodeHeaderMAC,
	CodeChunkAuth, CodeTruncated, CodeTrailingData, CodePayloadMalformed,
}

func TestMustFailVectors(t *testing.T) {
	keys := mustVectorKeys(t)
	js, err := json.MarshalIndent(failFile{
		Description: "Envelopes a kaiping.org/seal/v1 reader must refuse, each with the error code of FORMAT.md §7 it must give (FORMAT.md §9).",
		Cases:       mustFailCases(t, keys),
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	js = append(js, '\n')
	path := filepath.Join(vectorDir, mustFailFile)
	if *update {
		mustWrite(t, path, js)
	}
	committed := mustRead(t, path)
	if !bytes.Equal(js, committed) {
		t.Fatalf("%s differs from what the generator makes; run go test -update after a deliberate change", path)
	}

	var ff failFile
	if err := json.Unmarshal(committed, &ff); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	names := map[string]bool{}
	for _, c := range ff.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if names[c.Name] {
				t.Fatalf("two cases named %s", c.Name)
			}
			names[c.Name] = true
			err := readFailCase(t, c, keys)
			if c.ChunkIndex != nil {
				wantChunk(t, err, c.Error, *c.ChunkIndex)
			} else {
				wantCode(t, err, c.Error)
			}
			covered[c.Error] = true
		})
	}
	for _, code := range readerCodes {
		if !covered[code] {
			t.Errorf("no must-fail case for %s", code)
		}
	}
}

// readFailCase does what §7 says with a case's input: parse the header, compare the
// binding, obtain the file key, check it, read the whole payload. It returns the first error.
func readFailCase(t *testing.T, c failCase, keys map[string]*party) error {
	t.Helper()
	env, err := base64.StdEncoding.DecodeString(c.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		return err
	}
	if b := c.ExpectedBinding; b != nil {
		if err := h.Check(Binding{Tender: kaiping.ID(b.Tender), Section: kaiping.ID(b.Section),
			Bidder: kaiping.ID(b.Bidder), Kind: EnvelopeKind(b.Kind)}); err != nil {
			return err
		}
	}
	var fileKey []byte
	switch {
	case c.Identity != "":
		p := keys[strings.TrimSuffix(strings.TrimPrefix(c.Identity, "keys/"), ".pem")]
		if p == nil {
			t.Fatalf("no key file %s", c.Identity)
		}
		if fileKey, err = h.UnwrapFileKey(p.identity); err != nil {
			return err
		}
	case c.FileKey != "":
		fileKey = mustHex(t, c.FileKey)
	default:
		t.Fatalf("%s: the header parses, and there is no key to go further with", c.Name)
	}
	_, err = openBothWays(t, env, fileKey)
	return err
}

// sample is a committed vector taken apart: its header's first eight lines, its stanzas,
// its MAC and its payload, to be changed and put back together.
type sample struct {
	lines   []string // magic, suite, tender, section, bidder, kind, nonce, keycheck
	stanzas []Stanza
	mac     string
	payload []byte
	fileKey string
}

func loadSample(t *testing.T, name string) sample {
	t.Helper()
	env := mustRead(t, filepath.Join(vectorDir, name+".seal"))
	h, off, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	var rec vectorRecord
	if err := json.Unmarshal(mustRead(t, filepath.Join(vectorDir, name+".json")), &rec); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(env[:off]), "\n")
	return sample{
		lines:   lines[:8],
		stanzas: h.Stanzas,
		mac:     b64.EncodeToString(h.MAC),
		payload: env[off:],
		fileKey: rec.FileKey,
	}
}

// clone copies s deeply enough to change any part.
func (s sample) clone() sample {
	c := s
	c.lines = append([]string(nil), s.lines...)
	c.stanzas = nil
	for _, st := range s.stanzas {
		c.stanzas = append(c.stanzas, Stanza{Type: st.Type, Args: append([]string(nil), st.Args...), Body: bytes.Clone(st.Body)})
	}
	c.payload = bytes.Clone(s.payload)
	return c
}

// header encodes the header as the writer would, from whatever the fields now hold.
func (s sample) header() []byte {
	var b bytes.Buffer
	for _, l := range s.lines {
		b.WriteString(l + "\n")
	}
	for _, st := range s.stanzas {
		st.encode(&b)
	}
	b.WriteString("--- " + s.mac + "\n")
	return b.Bytes()
}

func (s sample) bytes() []byte { return append(s.header(), s.payload...) }

// stanza returns the index of the first stanza of type typ.
func (s sample) stanza(t *testing.T, typ string) int {
	t.Helper()
	for i, st := range s.stanzas {
		if st.Type == typ {
			return i
		}
	}
	t.Fatalf("no %s stanza", typ)
	return -1
}

// edit returns a copy of s changed by f.
func (s sample) edit(f func(*sample)) []byte {
	c := s.clone()
	f(&c)
	return c.bytes()
}

func mustFailCases(t *testing.T, keys map[string]*party) []failCase {
	t.Helper()
	short := loadSample(t, "aes256gcm-p256-rescue") // one short final chunk
	full := loadSample(t, "aes256gcm-all")          // one full final chunk, every stanza type
	two := loadSample(t, "sm4gcm-sm2-rescue")       // a full chunk and a 1-byte final chunk
	rsaEnv := loadSample(t, "aes256gcm-rsa-empty")  // an empty final chunk
	// The sm2 cases fail in the header or when unwrapping, before the payload is read: they
	// keep the file small by carrying the header of sm4gcm-sm2-rescue alone.
	sm2Head := two.clone()
	sm2Head.payload = nil
	p256 := short.stanza(t, TypeX509P256)
	fp := short.stanzas[p256].Args[0]
	sm2Body := two.stanzas[two.stanza(t, TypeSM2)].Body
	withHeader := func(s sample, f func(h []byte) []byte) []byte {
		return append(f(s.header()), s.payload...)
	}
	replaceLine := func(s sample, i int, line string) []byte {
		return s.edit(func(c *sample) { c.lines[i] = line })
	}
	unknownStanzas := func(n int) []Stanza {
		var out []Stanza
		for i := range n {
			out = append(out, Stanza{Type: "x-later-version", Args: []string{string(rune('a' + i))}, Body: []byte{}})
		}
		return out
	}
	idx := func(i uint64) *uint64 { return &i }

	var cases []failCase
	add := func(name, code, desc string, env []byte, opts ...func(*failCase)) {
		c := failCase{Name: name, Description: desc, Envelope: base64.StdEncoding.EncodeToString(env), Error: code}
		for _, o := range opts {
			o(&c)
		}
		cases = append(cases, c)
	}
	key := func(hexKey string) func(*failCase) { return func(c *failCase) { c.FileKey = hexKey } }
	ident := func(name string) func(*failCase) { return func(c *failCase) { c.Identity = "keys/" + name + ".pem" } }
	chunk := func(i uint64) func(*failCase) { return func(c *failCase) { c.ChunkIndex = idx(i) } }

	// §2.3, §7 step 1: the first 17 bytes, then the first line.
	add("empty-input", CodeNotEnvelope, "no bytes at all", nil)
	add("pdf", CodeNotEnvelope, "a PDF file", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"))
	add("prefix-16-bytes", CodeNotEnvelope, "the first 16 bytes of the magic and nothing more: fewer than 17 bytes",
		[]byte("kaiping.org/seal"))
	add("prefix-uppercase", CodeNotEnvelope, "the magic with an uppercase K",
		replaceLine(short, 0, "Kaiping.org/seal/v1"))
	add("version-v2", CodeUnsupportedVersion, "first line kaiping.org/seal/v2", replaceLine(short, 0, "kaiping.org/seal/v2"))
	add("version-trailing-space", CodeUnsupportedVersion, "first line kaiping.org/seal/v1 followed by a space",
		replaceLine(short, 0, "kaiping.org/seal/v1 "))
	add("magic-without-lf", CodeHeaderMalformed, "the 17-byte prefix and v1, then the input ends: the line has no LF",
		[]byte("kaiping.org/seal/v1"))
	add("magic-crlf", CodeHeaderMalformed, "the first line ends in CR LF: CR is refused before the version is compared",
		replaceLine(short, 0, "kaiping.org/seal/v1\r"))
	add("magic-line-too-long", CodeHeaderMalformed, "a first line of 1,125 bytes with its LF: the line limit is checked before the version",
		replaceLine(short, 0, "kaiping.org/seal/"+strings.Repeat("x", 1107)))

	// §2.1: the suite line, checked as soon as it is read.
	add("suite-unknown", CodeUnsupportedSuite, "suite chacha20poly1305", replaceLine(short, 1, "suite chacha20poly1305"))
	add("suite-unknown-then-garbage", CodeUnsupportedSuite,
		"an unknown suite, then a line that is no header line and the end of input: the suite is refused before later lines are read",
		[]byte("kaiping.org/seal/v1\nsuite sm4ccm\nnot a header line\n"))
	add("suite-trailing-space", CodeUnsupportedSuite, "suite value \"aes256gcm \" (trailing space)",
		replaceLine(short, 1, "suite aes256gcm "))
	add("suite-double-space", CodeUnsupportedSuite, "two spaces after suite: the value is \" aes256gcm\"",
		replaceLine(short, 1, "suite  aes256gcm"))
	add("suite-empty", CodeUnsupportedSuite, "suite line with an empty value", replaceLine(short, 1, "suite "))
	add("suite-uppercase", CodeUnsupportedSuite, "suite AES256GCM", replaceLine(short, 1, "suite AES256GCM"))
	add("suite-line-missing", CodeHeaderMalformed, "the tender line where the suite line belongs",
		short.edit(func(c *sample) { c.lines = append(c.lines[:1], c.lines[2:]...) }))
	add("suite-without-space", CodeHeaderMalformed, "\"suite\" with no space and no value",
		replaceLine(short, 1, "suite"))

	// §2.1: binding, nonce, key check.
	add("tender-id-65-bytes", CodeHeaderMalformed, "a tender ID of 65 bytes", replaceLine(short, 2, "tender "+strings.Repeat("a", 65)))
	add("section-id-empty", CodeHeaderMalformed, "an empty section ID", replaceLine(short, 3, "section "))
	add("bidder-id-slash", CodeHeaderMalformed, "a bidder ID with a /", replaceLine(short, 4, "bidder 9a8b7c6d/5e4f"))
	add("kind-unknown", CodeHeaderMalformed, "kind price", replaceLine(short, 5, "kind price"))
	add("nonce-non-canonical", CodeHeaderMalformed, "the nonce's last base64 character has a non-zero unused bit",
		short.edit(func(c *sample) {
			v := strings.TrimPrefix(c.lines[6], "nonce ")
			last := strings.IndexByte(b64Alphabet, v[len(v)-1])
			c.lines[6] = "nonce " + v[:len(v)-1] + string(b64Alphabet[last|1])
		}))
	add("keycheck-padded", CodeHeaderMalformed, "the key check with = padding",
		short.edit(func(c *sample) { c.lines[7] += "==" }))

	// §2.2, §2.3: stanza grammar and limits.
	add("no-stanzas", CodeHeaderMalformed, "the MAC line right after the keycheck line",
		short.edit(func(c *sample) { c.stanzas = nil }))
	add("stanza-trailing-space", CodeHeaderMalformed, "a space at the end of the x509-p256 stanza line",
		withHeader(short, func(h []byte) []byte {
			i := bytes.Index(h, []byte("\n-> rescue-p256"))
			line := bytes.LastIndex(h[:i], []byte("\n-> x509-p256"))
			end := line + 1 + bytes.IndexByte(h[line+1:], '\n')
			return append(append(bytes.Clone(h[:end]), ' '), h[end:]...)
		}))
	add("stanza-type-control-char", CodeHeaderMalformed, "a stanza type holding a DEL (0x7f)",
		short.edit(func(c *sample) { c.stanzas = append(c.stanzas, Stanza{Type: "x-later\x7f", Body: []byte{}}) }))
	add("stanza-body-line-65-chars", CodeHeaderMalformed, "a body line of 65 characters",
		withHeader(short, func(h []byte) []byte {
			body := b64.EncodeToString(short.stanzas[p256].Body)
			return bytes.Replace(h, []byte(body+"\n"), []byte(body+"A\n"), 1)
		}))
	add("stanza-body-unterminated", CodeHeaderMalformed,
		"the x509-p256 body's 64-character line without the empty last line: the next stanza line is read as a body line",
		withHeader(short, func(h []byte) []byte {
			body := b64.EncodeToString(short.stanzas[p256].Body)
			return bytes.Replace(h, []byte(body+"\n\n"), []byte(body+"\n"), 1)
		}))
	add("stanza-crlf", CodeHeaderMalformed, "a stanza line ending in CR LF",
		withHeader(short, func(h []byte) []byte {
			return bytes.Replace(h, []byte("\n-> rescue-p256 "+short.stanzas[1].Args[0]+" "+short.stanzas[1].Args[1]+"\n"),
				[]byte("\n-> rescue-p256 "+short.stanzas[1].Args[0]+" "+short.stanzas[1].Args[1]+"\r\n"), 1)
		}))
	add("seventeen-stanzas", CodeHeaderMalformed, "the two stanzas and 15 of an unknown type: 17",
		short.edit(func(c *sample) { c.stanzas = append(c.stanzas, unknownStanzas(15)...) }))
	add("line-1025-bytes", CodeHeaderMalformed, "an unknown-type stanza line of 1,025 bytes with its LF",
		short.edit(func(c *sample) {
			c.stanzas = append(c.stanzas, Stanza{Type: "x-later-version", Args: []string{strings.Repeat("a", 1024-len("-> x-later-version "))}, Body: []byte{}})
		}))
	add("header-65537-bytes", CodeHeaderMalformed,
		"a header of 65,537 bytes, MAC line included (65,489 before the 48-byte MAC line): one byte over the limit",
		short.edit(func(c *sample) { padHeader(t, c, MaxHeaderSize+1) }))
	add("mac-line-short", CodeHeaderMalformed, "a MAC of 31 bytes",
		short.edit(func(c *sample) { c.mac = b64.EncodeToString(make([]byte, 31)) }))

	// §5: arguments and bodies of the known types, checked when the header is parsed.
	add("x509-p256-one-arg", CodeHeaderMalformed, "an x509-p256 stanza without its ephemeral key",
		short.edit(func(c *sample) { c.stanzas[p256].Args = c.stanzas[p256].Args[:1] }))
	add("x509-p256-three-args", CodeHeaderMalformed, "an x509-p256 stanza with a third argument",
		short.edit(func(c *sample) { c.stanzas[p256].Args = append(c.stanzas[p256].Args, "x") }))
	add("rescue-p256-three-args", CodeHeaderMalformed, "a rescue-p256 stanza with a third argument",
		short.edit(func(c *sample) { c.stanzas[1].Args = append(c.stanzas[1].Args, "x") }))
	add("rsa-two-args", CodeHeaderMalformed, "an rsa-oaep-sha256 stanza with a second argument",
		rsaEnv.edit(func(c *sample) { c.stanzas[0].Args = append(c.stanzas[0].Args, "x") }))
	add("sm2-two-args", CodeHeaderMalformed, "an sm2 stanza with a second argument (header only)",
		sm2Head.edit(func(c *sample) { c.stanzas[0].Args = append(c.stanzas[0].Args, "x") }))
	add("recipient-id-uppercase", CodeHeaderMalformed, "the x509-p256 fingerprint in uppercase hex",
		short.edit(func(c *sample) { c.stanzas[p256].Args[0] = strings.ToUpper(fp) }))
	add("recipient-id-63-digits", CodeHeaderMalformed, "a fingerprint of 63 hex digits",
		short.edit(func(c *sample) { c.stanzas[p256].Args[0] = fp[:63] }))
	add("x509-p256-body-47-bytes", CodeHeaderMalformed, "an x509-p256 body of 47 bytes in a header (must be 48)",
		short.edit(func(c *sample) { c.stanzas[p256].Body = c.stanzas[p256].Body[:47] }))
	add("x509-p256-body-49-bytes", CodeHeaderMalformed, "an x509-p256 body of 49 bytes in a header (must be 48)",
		short.edit(func(c *sample) { c.stanzas[p256].Body = append(c.stanzas[p256].Body, 0) }))
	add("ephemeral-off-curve", CodeHeaderMalformed,
		"an x509-p256 ephemeral key of 65 bytes, 0x04 first, whose point is not on the curve: refused when the header is parsed, with no key",
		short.edit(func(c *sample) {
			e, _ := b64.DecodeString(c.stanzas[p256].Args[1])
			e[64] ^= 1
			c.stanzas[p256].Args[1] = b64.EncodeToString(e)
		}))
	add("ephemeral-compressed", CodeHeaderMalformed, "a rescue-p256 ephemeral key in compressed form (33 bytes)",
		short.edit(func(c *sample) {
			e, _ := b64.DecodeString(c.stanzas[1].Args[1])
			c.stanzas[1].Args[1] = b64.EncodeToString(append([]byte{2 + e[64]&1}, e[1:33]...))
		}))
	add("rsa-body-255-bytes", CodeHeaderMalformed, "an rsa-oaep-sha256 body of 255 bytes",
		rsaEnv.edit(func(c *sample) { c.stanzas[0].Body = c.stanzas[0].Body[1:] }))
	add("rsa-body-1025-bytes", CodeHeaderMalformed, "an rsa-oaep-sha256 body of 1,025 bytes",
		rsaEnv.edit(func(c *sample) { c.stanzas[0].Body = make([]byte, 1025) }))
	add("sm2-body-c1c3c2", CodeHeaderMalformed, "an sm2 body in the raw C1 || C3 || C2 form (first byte 0x04, not 0x30; header only)",
		sm2Head.edit(func(c *sample) {
			raw, err := sm2.ASN1Ciphertext2Plain(c.stanzas[0].Body, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.stanzas[0].Body = raw
		}))
	add("sm2-body-513-bytes", CodeHeaderMalformed, "an sm2 body of 513 bytes starting with 0x30 (header only)",
		sm2Head.edit(func(c *sample) { c.stanzas[0].Body = append([]byte{0x30}, make([]byte, 512)...) }))
	add("duplicate-recipient", CodeHeaderMalformed, "the x509-p256 stanza twice",
		short.edit(func(c *sample) { c.stanzas = append(c.stanzas, c.stanzas[p256]) }))
	add("duplicate-recipient-across-types", CodeHeaderMalformed,
		"an sm2 stanza naming the same fingerprint as the x509-p256 stanza: identifiers are distinct across types",
		short.edit(func(c *sample) {
			c.stanzas = append(c.stanzas, Stanza{Type: TypeSM2, Args: []string{fp}, Body: sm2Body})
		}))

	// §7 step 2: the binding the server expects.
	add("binding-other-bidder", CodeBindingMismatch, "a valid envelope, expected for another bidder", short.bytes(),
		func(c *failCase) {
			c.ExpectedBinding = &bindingRecord{Tender: string(vectorBinding.Tender), Section: string(vectorBinding.Section),
				Bidder: "00000000-0000-4000-8000-000000000000", Kind: string(vectorBinding.Kind)}
		})

	// §7 step 3: finding and unwrapping the holder's stanza.
	add("no-stanza", CodeNoStanza, "a valid envelope with no stanza for the RSA certificate", short.bytes(), ident("rsa"))
	add("no-stanza-unknown-type", CodeNoStanza,
		"the x509-p256 stanza's type renamed to an unknown one: unknown types are ignored when unwrapping, whatever their arguments",
		short.edit(func(c *sample) { c.stanzas[p256].Type = "x-later-version" }), ident("p256"))
	add("stanza-type-mismatch", CodeHeaderMalformed,
		"the x509-p256 stanza replaced by a well-formed sm2 stanza naming the P-256 certificate: refused when unwrapping with that certificate's key",
		short.edit(func(c *sample) { c.stanzas[p256] = Stanza{Type: TypeSM2, Args: []string{fp}, Body: sm2Body} }), ident("p256"))
	add("x509-p256-body-altered", CodeWrongKey, "one bit of the x509-p256 body flipped",
		short.edit(func(c *sample) { c.stanzas[p256].Body[0] ^= 1 }), ident("p256"))
	add("rescue-p256-other-ephemeral", CodeWrongKey, "the rescue stanza with the x509-p256 stanza's ephemeral key (a valid point)",
		short.edit(func(c *sample) { c.stanzas[1].Args[1] = c.stanzas[p256].Args[1] }), ident("rescue"))
	add("rsa-body-altered", CodeWrongKey, "one bit of the rsa-oaep-sha256 body flipped",
		rsaEnv.edit(func(c *sample) { c.stanzas[0].Body[100] ^= 1 }), ident("rsa"))
	add("rsa-secret-31-bytes", CodeWrongKey, "a valid RSA-OAEP encryption of 31 bytes: the file key must be 32",
		rsaEnv.edit(func(c *sample) {
			s, err := rsaWrap(newDetRand("must-fail rsa"), c.stanzas[0].Args[0], keys["rsa"].cert.PublicKey.(*rsa.PublicKey), make([]byte, 31))
			if err != nil {
				t.Fatal(err)
			}
			c.stanzas[0] = s
		}), ident("rsa"))
	rsa4096 := loadSample(t, "aes256gcm-rsa4096-rescue")
	add("rsa-body-leading-zero-dropped", CodeWrongKey,
		"the RSA-4096 stanza re-wrapped to a ciphertext starting with 0x00, then that byte dropped: 511 bytes pass parsing, but the body must be as long as the modulus (header only)",
		rsa4096.edit(func(c *sample) {
			s, n := shortRSAStanza(t, c.stanzas[0].Args[0], keys["rsa4096"].cert.PublicKey.(*rsa.PublicKey), mustHex(t, rsa4096.fileKey))
			if n != 1 {
				t.Fatalf("%d leading zero bytes dropped, want 1", n)
			}
			c.stanzas[0] = s
			c.payload = nil
		}), ident("rsa4096"))
	sm2Cases := []struct {
		name, desc string
		body       func(c sm2Cipher) []byte
	}{
		{"sm2-trailing-byte", "a zero byte after the DER SM2Cipher", func(c sm2Cipher) []byte { return append(c.der(), 0) }},
		{"sm2-c3-31-bytes", "C3 cut to 31 bytes", func(c sm2Cipher) []byte { c.C3 = c.C3[:31]; return c.der() }},
		{"sm2-c3-altered", "one bit of C3 flipped", func(c sm2Cipher) []byte { c.C3[0] ^= 1; return c.der() }},
		{"sm2-c1-off-curve", "C1's y coordinate plus one: not on the curve", func(c sm2Cipher) []byte {
			c.Y = new(big.Int).Add(c.Y, big.NewInt(1))
			return c.der()
		}},
		{"sm2-integer-not-minimal", "x encoded with a superfluous leading zero byte (BER, not DER)", func(c sm2Cipher) []byte {
			return c.derWith(func(b *cryptobyte.Builder, n *big.Int) {
				b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(append([]byte{0, 0}, n.Bytes()...)) })
			})
		}},
		{"sm2-length-not-minimal", "the SEQUENCE length in two bytes where one suffices (BER, not DER)", func(c sm2Cipher) []byte {
			d := c.der()
			if d[1] != 0x81 {
				t.Fatalf("the vector's SM2Cipher length is encoded as %x, not 81 xx", d[1])
			}
			return append([]byte{0x30, 0x82, 0x00}, d[2:]...)
		}},
	}
	for _, sc := range sm2Cases {
		add(sc.name, CodeWrongKey, sc.desc+" in the sm2 body: checked when unwrapping, not when parsing (header only)",
			sm2Head.edit(func(c *sample) { c.stanzas[0].Body = sc.body(parseSM2Cipher(t, c.stanzas[0].Body)) }), ident("sm2"))
	}
	add("sm2-secret-31-bytes", CodeWrongKey, "a valid SM2 encryption of 31 bytes: the file key must be 32 (header only)",
		sm2Head.edit(func(c *sample) {
			body, err := sm2.EncryptASN1(newDetRand("must-fail sm2"), keys["sm2"].cert.PublicKey.(*ecdsa.PublicKey), make([]byte, 31))
			if err != nil {
				t.Fatal(err)
			}
			c.stanzas[0].Body = body
		}), ident("sm2"))

	// §4: key check, then MAC.
	add("file-key-wrong", CodeWrongKey, "a valid envelope and 32 zero bytes as the file key", short.bytes(),
		key(strings.Repeat("00", 32)))
	add("file-key-31-bytes", CodeWrongKey, "a valid envelope and the first 31 bytes of its file key", short.bytes(),
		key(short.fileKey[:62]))
	add("mac-bidder-changed", CodeHeaderMAC, "the bidder line changed to another valid ID",
		replaceLine(short, 4, "bidder 00000000-0000-4000-8000-000000000000"), key(short.fileKey))
	add("mac-unknown-stanza-added", CodeHeaderMAC,
		"a stanza of an unknown type added: it parses, unwrapping works, and the MAC covers it",
		short.edit(func(c *sample) { c.stanzas = append(c.stanzas, unknownStanzas(1)...) }), ident("p256"))
	add("mac-altered", CodeHeaderMAC, "one bit of the MAC flipped",
		short.edit(func(c *sample) {
			m, _ := b64.DecodeString(c.mac)
			m[0] ^= 1
			c.mac = b64.EncodeToString(m)
		}), key(short.fileKey))

	// §6.1: the payload.
	add("chunk-altered", CodeChunkAuth, "one bit of the only chunk flipped",
		short.edit(func(c *sample) { c.payload[3] ^= 1 }), key(short.fileKey), chunk(0))
	add("short-final-chunk-then-byte", CodeChunkAuth,
		"one byte after a short final chunk: the piece is not full, so it is the last piece and fails as a whole (not trailing data)",
		short.edit(func(c *sample) { c.payload = append(c.payload, 0) }), key(short.fileKey), chunk(0))
	add("empty-final-chunk-then-byte", CodeChunkAuth, "one byte after the empty final chunk of an empty plaintext",
		rsaEnv.edit(func(c *sample) { c.payload = append(c.payload, 0) }), key(rsaEnv.fileKey), chunk(0))
	add("no-payload", CodeTruncated, "the header alone", short.header(), key(short.fileKey), chunk(0))
	add("payload-15-bytes", CodeTruncated, "the first 15 bytes of the payload: less than a tag",
		short.edit(func(c *sample) { c.payload = c.payload[:15] }), key(short.fileKey), chunk(0))
	add("cut-at-chunk-boundary", CodeTruncated, "the final chunk removed: chunk 0 is full, authentic with flag 0, and last",
		two.edit(func(c *sample) { c.payload = c.payload[:encChunkSize] }), key(two.fileKey), chunk(1))
	add("full-final-chunk-then-byte", CodeTrailingData, "one byte after a full final chunk",
		full.edit(func(c *sample) { c.payload = append(c.payload, 0) }), key(full.fileKey), chunk(0))
	add("empty-final-chunk-after-full", CodePayloadMalformed,
		"the 65,536-byte plaintext sealed as a full chunk with flag 0 and an empty final chunk: authentic but not canonical",
		full.edit(func(c *sample) {
			h, _, err := ParseHeader(bytes.NewReader(full.bytes()))
			if err != nil {
				t.Fatal(err)
			}
			k, err := deriveKeys(h.Suite, mustHex(t, full.fileKey), h.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			aead, err := h.Suite.newAEAD(k.payload)
			if err != nil {
				t.Fatal(err)
			}
			chunk0 := append(pattern(ChunkSize), make([]byte, TagSize)...)
			c.payload = append(sealChunk(aead, 0, false, chunk0[:ChunkSize]), sealChunk(aead, 1, true, make([]byte, 0, TagSize))...)
		}), key(full.fileKey), chunk(1))
	return cases
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// padHeader adds a stanza of an unknown type so that the header is exactly size bytes.
func padHeader(t *testing.T, s *sample, size int) {
	t.Helper()
	pad := Stanza{Type: "x-pad", Body: []byte{}}
	s.stanzas = append(s.stanzas, pad)
	base := len(s.header())
	// Each 48 body bytes add a 65-byte line; the rest is made up with an argument.
	n := (size - base - 64) / 65 * 48
	s.stanzas[len(s.stanzas)-1].Body = make([]byte, n)
	if short := size - len(s.header()) - 1; short > 0 {
		s.stanzas[len(s.stanzas)-1].Args = []string{strings.Repeat("p", short)}
	}
	if got := len(s.header()); got != size {
		t.Fatalf("padded header is %d bytes, want %d", got, size)
	}
}

// sm2Cipher is the GM/T 0009 SM2Cipher of a stanza body, to be re-encoded with one change.
type sm2Cipher struct {
	X, Y   *big.Int
	C3, C2 []byte
}

func parseSM2Cipher(t *testing.T, body []byte) sm2Cipher {
	t.Helper()
	var c struct {
		X, Y       *big.Int
		Hash       []byte
		CipherText []byte
	}
	if rest, err := asn1.Unmarshal(body, &c); err != nil || len(rest) != 0 {
		t.Fatalf("sm2 body: %v", err)
	}
	return sm2Cipher{X: c.X, Y: c.Y, C3: bytes.Clone(c.Hash), C2: bytes.Clone(c.CipherText)}
}

func (c sm2Cipher) der() []byte {
	return c.derWith(func(b *cryptobyte.Builder, n *big.Int) { b.AddASN1BigInt(n) })
}

// derWith encodes c, writing x with addX (y always minimally).
func (c sm2Cipher) derWith(addX func(*cryptobyte.Builder, *big.Int)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addX(b, c.X)
		b.AddASN1BigInt(c.Y)
		b.AddASN1OctetString(c.C3)
		b.AddASN1OctetString(c.C2)
	})
	return b.BytesOrPanic()
}

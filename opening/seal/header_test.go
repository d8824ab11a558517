package seal

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// sampleHeader is a valid header (p256 and rescue stanzas) as text, and its envelope.
func sampleHeader(t *testing.T) (string, []byte) {
	t.Helper()
	fx := mustFixtures(t)
	env := mustSeal(t, []byte("报价：壹佰万元"), testBinding(), []*party{fx["p256"], fx["rescue"]})
	h, off, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Bytes(), env[:off]) {
		t.Fatal("Header.Bytes differs from the envelope's header")
	}
	return string(env[:off]), env
}

func TestParseHeaderRefuses(t *testing.T) {
	hdr, _ := sampleHeader(t)
	lines := strings.SplitAfter(hdr, "\n")
	// lines: 0 magic, 1 suite, 2 tender, 3 section, 4 bidder, 5 kind, 6 nonce, 7 keycheck,
	// 8 "-> x509-p256 ...", 9 body, 10 "" (body end), 11 "-> rescue-p256 ...", 12, 13, 14 "--- MAC"
	if len(lines) != 16 || !strings.HasPrefix(lines[14], "--- ") {
		t.Fatalf("unexpected sample header:\n%s", hdr)
	}
	set := func(i int, s string) string {
		l := append([]string(nil), lines...)
		l[i] = s
		return strings.Join(l, "")
	}
	stanzaLine := strings.TrimSuffix(lines[8], "\n")
	fp := strings.Fields(stanzaLine)[2]
	eph := strings.Fields(stanzaLine)[3]
	unknown := func(n int, body string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "-> future-kem %d\n%s\n", i, body)
		}
		return b.String()
	}
	tests := []struct {
		name  string
		input string
		code  string
	}{
		{"empty", "", CodeNotEnvelope},
		{"a PDF", "%PDF-1.7\n%âãÏÓ\n1 0 obj\n", CodeNotEnvelope},
		{"age file", "age-encryption.org/v1\n-> X25519 abc\n", CodeNotEnvelope},
		{"magic only", "kaiping.org/seal/", CodeHeaderMalformed},
		{"version 2", set(0, "kaiping.org/seal/v2\n"), CodeUnsupportedVersion},
		{"unknown suite", set(1, "suite chacha20poly1305\n"), CodeUnsupportedSuite},
		{"suite missing", set(1, ""), CodeHeaderMalformed},
		{"fields out of order", set(2, lines[3]), CodeHeaderMalformed},
		{"ID with a space", set(2, "tender tender 1\n"), CodeHeaderMalformed},
		{"ID in Chinese", set(3, "section 第一标段\n"), CodeHeaderMalformed},
		{"ID too long", set(4, "bidder "+strings.Repeat("b", 65)+"\n"), CodeHeaderMalformed},
		{"unknown kind", set(5, "kind price\n"), CodeHeaderMalformed},
		{"trailing space", set(5, "kind technical \n"), CodeHeaderMalformed},
		{"CRLF", set(5, "kind technical\r\n"), CodeHeaderMalformed},
		{"short nonce", set(6, "nonce AAAA\n"), CodeHeaderMalformed},
		{"padded nonce", set(6, "nonce AAAAAAAAAAAAAAAAAAAAAA==\n"), CodeHeaderMalformed},
		{"non-canonical base64", set(7, "keycheck AAAAAAAAAAAAAAAAAAAAAB\n"), CodeHeaderMalformed},
		{"no stanza", strings.Join(append(lines[:8:8], lines[14:]...), ""), CodeHeaderMalformed},
		{"double space in stanza", set(8, strings.Replace(lines[8], " ", "  ", 2)), CodeHeaderMalformed},
		{"uppercase fingerprint", set(8, strings.Replace(lines[8], fp, strings.ToUpper(fp), 1)), CodeHeaderMalformed},
		{"point off the curve", set(8, strings.Replace(lines[8], eph, "BA"+strings.Repeat("A", len(eph)-2), 1)), CodeHeaderMalformed},
		{"missing argument", set(8, "-> x509-p256 "+fp+"\n"), CodeHeaderMalformed},
		{"body line too long", set(9, strings.TrimSuffix(lines[9], "\n")+"A\n"), CodeHeaderMalformed},
		{"body too short", set(9, lines[9][:60]+"\n"), CodeHeaderMalformed},
		{"duplicate recipient", set(11, lines[8]+lines[9]+lines[10]+lines[11]), CodeHeaderMalformed},
		{"too many stanzas", set(8, unknown(MaxStanzas, "")+lines[8]), CodeHeaderMalformed},
		{"too large", set(8, unknown(1, strings.Repeat(strings.Repeat("A", 64)+"\n", MaxHeaderSize/65))+lines[8]), CodeHeaderMalformed},
		{"line too long", set(8, "-> future-kem "+strings.Repeat("x", maxLineLen)+"\n\n"+lines[8]), CodeHeaderMalformed},
		{"cut in the stanzas", strings.Join(lines[:10], ""), CodeHeaderMalformed},
		{"cut in the MAC line", strings.Join(lines[:14], "") + "--- AAAA", CodeHeaderMalformed},
		{"short MAC", set(14, "--- AAAA\n"), CodeHeaderMalformed},
		{"MAC line without space", set(14, "---"+lines[14][4:]), CodeHeaderMalformed},
		{"garbage line", set(11, "hello\n"), CodeHeaderMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseHeader(strings.NewReader(tt.input))
			wantCode(t, err, tt.code)
			t.Log(err)
		})
	}
}

// TestUnknownStanzaIgnored: a stanza of a type this version does not know is kept (later
// versions may add recipient types) and skipped when unwrapping; but it is covered by the
// MAC like everything else.
func TestUnknownStanzaIgnored(t *testing.T) {
	fx := mustFixtures(t)
	future := recipientFunc(func() (Stanza, error) {
		return Stanza{Type: "mlkem768-x25519", Args: []string{"some-id"}, Body: []byte("opaque")}, nil
	})
	var buf bytes.Buffer
	if _, err := Seal(&buf, strings.NewReader("x"), testBinding(), []Recipient{future, fx["p256"].recipient}); err != nil {
		t.Fatal(err)
	}
	h, _, err := ParseHeader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Stanzas) != 2 || h.Stanzas[0].Type != "mlkem768-x25519" || h.Stanzas[0].RecipientID() != "" {
		t.Fatalf("stanzas: %+v", h.Stanzas)
	}
	if _, ok := h.Stanza("some-id"); ok {
		t.Fatal("an unknown type's argument taken for a recipient ID")
	}
	if _, err := h.UnwrapFileKey(fx["p256"].identity); err != nil {
		t.Fatal(err)
	}
}

// recipientFunc is a Recipient from outside this package.
type recipientFunc func() (Stanza, error)

func (f recipientFunc) RecipientID() string                    { return "future" }
func (f recipientFunc) Wrap(io.Reader, []byte) (Stanza, error) { return f() }

// TestSealRefusesBadStanza: a Recipient that produces a stanza the parser would refuse is
// caught at sealing time, not at the opening.
func TestSealRefusesBadStanza(t *testing.T) {
	bad := recipientFunc(func() (Stanza, error) {
		return Stanza{Type: "x", Args: []string{strings.Repeat("a", 2000)}}, nil
	})
	_, err := Seal(io.Discard, strings.NewReader("x"), testBinding(), []Recipient{bad})
	wantCode(t, err, CodeHeaderMalformed)
}

// TestParseHeaderThenPayload: a caller's *bufio.Reader is used as is, so the payload can
// be read from it after ParseHeader.
func TestParseHeaderThenPayload(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(2*ChunkSize + 1)
	env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]})
	br := bufio.NewReaderSize(bytes.NewReader(env), 64<<10)
	h, off, err := ParseHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(payload, env[off:]) {
		t.Fatal("bufio.Reader does not hold the payload after the header")
	}
	key, _ := h.UnwrapFileKey(fx["p256"].identity)
	r, err := OpenPayload(h, bytes.NewReader(payload), key)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("payload: %v", err)
	}
}

func TestHeaderCheck(t *testing.T) {
	_, env := sampleHeader(t)
	h, _, _ := ParseHeader(bytes.NewReader(env))
	if err := h.Check(testBinding()); err != nil {
		t.Fatal(err)
	}
	for _, mutate := range []func(*Binding){
		func(b *Binding) { b.Tender = "tender-2026-002" },
		func(b *Binding) { b.Section = "section-2" },
		func(b *Binding) { b.Bidder = "bidder-43" },
		func(b *Binding) { b.Kind = Commercial },
	} {
		want := testBinding()
		mutate(&want)
		wantCode(t, h.Check(want), CodeBindingMismatch)
	}
}

// TestHeaderStanzaLookup: the server finds the bidder's and the rescue stanza by ID.
func TestHeaderStanzaLookup(t *testing.T) {
	fx := mustFixtures(t)
	_, env := sampleHeader(t)
	h, _, _ := ParseHeader(bytes.NewReader(env))
	for name, want := range map[string]bool{"p256": true, "rescue": true, "rsa": false, "sm2": false} {
		if _, ok := h.Stanza(fx[name].recipient.RecipientID()); ok != want {
			t.Errorf("stanza for %s: %v, want %v", name, ok, want)
		}
	}
	if _, ok := h.Stanza(""); ok {
		t.Error("found a stanza for the empty ID")
	}
	_, err := h.UnwrapFileKey(fx["rsa"].identity, fx["sm2"].identity)
	wantCode(t, err, CodeNoStanza)
	if _, err := h.UnwrapFileKey(fx["rsa"].identity, fx["rescue"].identity); err != nil {
		t.Fatalf("second identity: %v", err)
	}
}

package ledger_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

// The tests in this file need no database: they pin the parsers' edges (make mutate runs
// them alone against mutants of leaf.go, checkpoint.go and signer.go; see
// internal/mutate/targets.txt for the names it selects).

// TestParseLeafEdges: what ParseLeaf accepts and refuses at each limit, by value: seq from
// 0 to 2^63-1, a non-zero time in years 1 to 9999, text fields of at most 4096 bytes of
// UTF-8 without NUL, a detail of at most 1 MiB.
func TestParseLeafEdges(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	entry := func(edit func(*ledger.Entry)) ledger.Entry {
		e := ledger.Entry{Seq: 1, At: at, Operator: "system", Action: "bid.submitted"}
		edit(&e)
		return e
	}
	good := map[string]ledger.Entry{
		"seq 0":               entry(func(e *ledger.Entry) { e.Seq = 0 }),
		"seq 2^63-1":          entry(func(e *ledger.Entry) { e.Seq = math.MaxInt64 }),
		"the first µs of 1":   entry(func(e *ledger.Entry) { e.At = time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC) }),
		"the last µs of 9999": entry(func(e *ledger.Entry) { e.At = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC) }),
		"before 1970":         entry(func(e *ledger.Entry) { e.At = time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC) }),
		"4096-byte fields": entry(func(e *ledger.Entry) {
			e.Operator, e.Address, e.Action, e.Subject = strings.Repeat("o", 4096), strings.Repeat("1", 4096), strings.Repeat("a", 4096), strings.Repeat("s", 4096)
		}),
		"a 1 MiB detail": entry(func(e *ledger.Entry) { e.Detail = bytes.Repeat([]byte("d"), 1<<20) }),
		// Each field alone far longer than the rest: LeafData sizes its buffer from all of them.
		"a long operator": entry(func(e *ledger.Entry) { e.Operator, e.Action = strings.Repeat("o", 4096), "a" }),
		"a long address":  entry(func(e *ledger.Entry) { e.Operator, e.Address, e.Action = "", strings.Repeat("1", 4096), "a" }),
		"a long action":   entry(func(e *ledger.Entry) { e.Operator, e.Action = "", strings.Repeat("a", 4096) }),
		"a long subject":  entry(func(e *ledger.Entry) { e.Operator, e.Action, e.Subject = "", "a", strings.Repeat("s", 4096) }),
		"Chinese text":    entry(func(e *ledger.Entry) { e.Subject = "第一标段" }),
		"a 1-byte action": entry(func(e *ledger.Entry) {
			e.Action = "a"
		}),
	}
	for name, e := range good {
		t.Run(name, func(t *testing.T) {
			got, err := ledger.ParseLeaf(e.LeafData())
			if err != nil {
				t.Fatal(err)
			}
			if got.Seq != e.Seq || !got.At.Equal(e.At) || got.Operator != e.Operator || got.Address != e.Address ||
				got.Action != e.Action || got.Subject != e.Subject || !bytes.Equal(got.Detail, e.Detail) {
				t.Fatalf("ParseLeaf = %+v", got)
			}
			if got.At.Location() != time.UTC {
				t.Fatalf("time in %v, want UTC", got.At.Location())
			}
		})
	}
	bad := map[string][]byte{
		"zero time":           entry(func(e *ledger.Entry) { e.At = time.Time{} }).LeafData(),
		"year 0":              entry(func(e *ledger.Entry) { e.At = time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC) }).LeafData(),
		"year 10000":          entry(func(e *ledger.Entry) { e.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }).LeafData(),
		"seq 2^63":            seqLeaf(entry(func(*ledger.Entry) {}), 1<<63),
		"seq 2^64-1":          seqLeaf(entry(func(*ledger.Entry) {}), math.MaxUint64),
		"NUL in the operator": entry(func(e *ledger.Entry) { e.Operator = "sys\x00tem" }).LeafData(),
		"NUL in the address":  entry(func(e *ledger.Entry) { e.Address = "\x00" }).LeafData(),
		"NUL in the action":   entry(func(e *ledger.Entry) { e.Action = "bid\x00" }).LeafData(),
		"NUL in the subject":  entry(func(e *ledger.Entry) { e.Subject = "\x00x" }).LeafData(),
		"bad UTF-8 operator":  entry(func(e *ledger.Entry) { e.Operator = "\xc3" }).LeafData(),
		"bad UTF-8 address":   entry(func(e *ledger.Entry) { e.Address = "\xff" }).LeafData(),
		"bad UTF-8 action":    entry(func(e *ledger.Entry) { e.Action = "a\xfe" }).LeafData(),
		"4097-byte operator":  entry(func(e *ledger.Entry) { e.Operator = strings.Repeat("o", 4097) }).LeafData(),
		"4097-byte address":   entry(func(e *ledger.Entry) { e.Address = strings.Repeat("1", 4097) }).LeafData(),
		"4097-byte subject":   entry(func(e *ledger.Entry) { e.Subject = strings.Repeat("s", 4097) }).LeafData(),
		"detail of 1 MiB + 1": entry(func(e *ledger.Entry) { e.Detail = bytes.Repeat([]byte("d"), 1<<20+1) }).LeafData(),
		"empty action":        entry(func(e *ledger.Entry) { e.Action = "" }).LeafData(),
		"tag only":            []byte("kaiping-ledger-entry/v1\n"),
		"tag and 15 bytes":    append([]byte("kaiping-ledger-entry/v1\n"), make([]byte, 15)...),
		"tag, seq and time":   entry(func(*ledger.Entry) {}).LeafData()[:24+16],
		"a length cut short":  entry(func(*ledger.Entry) {}).LeafData()[:24+16+3],
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			e, err := ledger.ParseLeaf(b)
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_leaf")
			if e.Action != "" || e.Seq != 0 {
				t.Fatalf("a refused leaf returned %+v", e)
			}
		})
	}
}

// seqLeaf is e's leaf with its 8-byte seq replaced by seq, which an Entry cannot hold.
func seqLeaf(e ledger.Entry, seq uint64) []byte {
	b := e.LeafData()
	for i := range 8 {
		b[24+i] = byte(seq >> (56 - 8*i))
	}
	return b
}

// TestParseCheckpointEdges: size 0 and the largest size are accepted; an origin is refused
// for a space, control or plus sign anywhere, first character included.
func TestParseCheckpointEdges(t *testing.T) {
	root := tlog.RecordHash([]byte("x")).String()
	const tm = "time 2026-11-21T09:30:00.120000Z\n"
	text := func(origin, size string) []byte { return []byte(origin + "\n" + size + "\n" + root + "\n" + tm) }
	for _, c := range []struct {
		origin, size string
		want         int64
	}{
		{testOrigin, "0", 0},
		{testOrigin, "1", 1},
		{testOrigin, "9223372036854775807", math.MaxInt64},
		{"公共资源交易中心/ledger", "5", 5},
		{"a", "5", 5},
	} {
		cp, err := ledger.ParseCheckpoint(text(c.origin, c.size))
		if err != nil {
			t.Errorf("origin %q size %s: %v", c.origin, c.size, err)
			continue
		}
		if cp.Origin != c.origin || cp.Size != c.want || cp.Root.String() != root || cp.Time.Location() != time.UTC {
			t.Errorf("origin %q size %s: %+v", c.origin, c.size, cp)
		}
	}
	for name, b := range map[string][]byte{
		"origin starting with a space":  text(" "+testOrigin, "5"),
		"origin ending with a space":    text(testOrigin+" ", "5"),
		"origin starting with a tab":    text("\t"+testOrigin, "5"),
		"origin with a no-break space":  text("ggzy\u00a0example", "5"),
		"origin with an ideographic sp": text("ggzy\u3000example", "5"),
		"origin starting with +":        text("+"+testOrigin, "5"),
		"origin with +":                 text("ggzy+example", "5"),
		"origin with a control":         text("ggzy\x01example", "5"),
		"origin starting with a DEL":    text("\x7fggzy", "5"),
		"origin not UTF-8":              text("ggzy\xff", "5"),
		"size 2^63":                     text(testOrigin, "9223372036854775808"),
		"size -0":                       text(testOrigin, "-0"),
		"size empty":                    text(testOrigin, ""),
		"three lines":                   []byte(testOrigin + "\n5\n" + root + "\n"),
		"five lines":                    append(text(testOrigin, "5"), "x\n"...),
		"time line without its word":    []byte(testOrigin + "\n5\n" + root + "\n2026-11-21T09:30:00.120000Z\n"),
		"a 31-byte root":                []byte(testOrigin + "\n5\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" + "\n" + tm),
	} {
		t.Run(name, func(t *testing.T) {
			cp, err := ledger.ParseCheckpoint(b)
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_checkpoint")
			if cp != (ledger.Checkpoint{}) {
				t.Fatalf("a refused checkpoint returned %+v", cp)
			}
		})
	}
}

// TestSignedCheckpointAlgorithm: a checkpoint that names no algorithm is checked with the
// verifier's; one that names another is refused before any signature check.
func TestSignedCheckpointAlgorithm(t *testing.T) {
	s := mustSigner(t, ledger.AlgSM2)
	v := mustVerifier(t, s)
	cp := ledger.Checkpoint{Origin: testOrigin, Size: 0, Root: tlog.RecordHash(nil), Time: t0.Truncate(time.Microsecond)}
	sig, err := s.Sign(cp.Text())
	if err != nil {
		t.Fatal(err)
	}
	for alg, ok := range map[string]bool{"": true, ledger.AlgSM2: true, ledger.AlgEd25519: false, "SM2": false} {
		err := ledger.SignedCheckpoint{Checkpoint: cp, Algorithm: alg, Signature: sig}.Verify(v)
		if ok != (err == nil) {
			t.Errorf("algorithm %q: %v, want ok %v", alg, err, ok)
		}
		if err != nil {
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_checkpoint")
		}
	}
	if v.Algorithm() != ledger.AlgSM2 || s.Algorithm() != ledger.AlgSM2 || ledger.AlgSM2 != "sm2" || ledger.AlgEd25519 != "ed25519" {
		t.Errorf("algorithms: signer %q, verifier %q", s.Algorithm(), v.Algorithm())
	}
}

// TestParseVerifierRefuses: anything but a PKIX PUBLIC KEY block holding an Ed25519 or SM2
// key is ledger.bad_key, never a panic: empty input, text without PEM, other block types.
func TestParseVerifierRefuses(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256Pub, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	edPub, err := mustSigner(t, ledger.AlgEd25519).PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(edPub)
	priv, err := ledger.GenerateKeyPEM(ledger.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"nil":                    nil,
		"empty":                  {},
		"not PEM":                []byte("PUBLIC KEY"),
		"a private key":          priv,
		"the key as CERTIFICATE": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}),
		"garbage DER":            pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{0x30, 0x01, 0x00}}),
		"P-256":                  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p256Pub}),
	} {
		t.Run(name, func(t *testing.T) {
			v, err := ledger.ParseVerifier(in)
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_key")
			if v != nil {
				t.Fatal("a refused key returned a verifier")
			}
		})
	}
	for name, in := range map[string][]byte{"nil": nil, "empty": {}, "not PEM": []byte("PRIVATE KEY")} {
		t.Run("signer "+name, func(t *testing.T) {
			s, err := ledger.ParseSigner(in)
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_key")
			if s != nil {
				t.Fatal("a refused key returned a signer")
			}
		})
	}
}

// TestSignersRefuseBadKeys: a signer is made only from a whole Ed25519 key or an SM2 key;
// VerifierFor passes on the signer's own failure.
func TestSignersRefuseBadKeys(t *testing.T) {
	for _, n := range []int{0, 32, 63, 65} {
		s, err := ledger.NewEd25519Signer(make(ed25519.PrivateKey, n))
		wantKind(t, err, kaiping.KindInvalid, "ledger.bad_key")
		if s != nil {
			t.Fatalf("a %d-byte Ed25519 key made a signer", n)
		}
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*sm2.PrivateKey{"nil": nil, "P-256": {PrivateKey: *p256}} {
		s, err := ledger.NewSM2Signer(k)
		wantKind(t, err, kaiping.KindInvalid, "ledger.bad_key")
		if s != nil {
			t.Fatalf("%s made an SM2 signer", name)
		}
	}
	v, err := ledger.VerifierFor(brokenSigner{})
	if !errors.Is(err, errNoPublicKey) || v != nil {
		t.Fatalf("VerifierFor(a signer without a public key) = %v, %v", v, err)
	}
}

var errNoPublicKey = errors.New("the token lost its public key")

// brokenSigner is a Signer whose public key cannot be read.
type brokenSigner struct{}

func (brokenSigner) Algorithm() string             { return ledger.AlgEd25519 }
func (brokenSigner) Sign([]byte) ([]byte, error)   { return nil, errNoPublicKey }
func (brokenSigner) PublicKeyPEM() ([]byte, error) { return nil, errNoPublicKey }

// TestParseCheckpointSaysWhichLine: a refused line is quoted in the error.
func TestParseCheckpointSaysWhichLine(t *testing.T) {
	root := tlog.RecordHash([]byte("x")).String()
	for line, text := range map[string]string{
		`"x42"`:                             testOrigin + "\nx42\n" + root + "\ntime 2026-11-21T09:30:00.120000Z\n",
		`"AAAA"`:                            testOrigin + "\n42\nAAAA\ntime 2026-11-21T09:30:00.120000Z\n",
		`"2026-11-21T09:30:00.120000Z"`:     testOrigin + "\n42\n" + root + "\n2026-11-21T09:30:00.120000Z\n",
		`"time 2026-11-21 09:30:00.120000"`: testOrigin + "\n42\n" + root + "\ntime 2026-11-21 09:30:00.120000\n",
	} {
		_, err := ledger.ParseCheckpoint([]byte(text))
		if err == nil || !strings.Contains(err.Error(), line) {
			t.Errorf("%v does not quote %s", err, line)
		}
	}
}

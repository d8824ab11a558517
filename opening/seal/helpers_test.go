package seal

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
)

// update rewrites the golden files (test vectors, fuzz seeds) instead of checking them.
var update = flag.Bool("update", false, "rewrite golden files in testdata")

// party is a certificate with its key, or a rescue key, and what seals to and opens it.
type party struct {
	name      string
	cert      *smx509.Certificate // nil for the rescue key
	key       crypto.PrivateKey
	recipient Recipient
	identity  Identity
}

// fixtures are generated once per test binary: RSA key generation is slow under -race.
var (
	fixturesOnce sync.Once
	fixturesVal  map[string]*party
	fixturesErr  error
)

// The recipient kinds every round trip covers.
var partyNames = []string{"p256", "rsa", "sm2", "rescue"}

func mustFixtures(tb testing.TB) map[string]*party {
	tb.Helper()
	fixturesOnce.Do(func() { fixturesVal, fixturesErr = makeFixtures() })
	if fixturesErr != nil {
		tb.Fatalf("fixtures: %v", fixturesErr)
	}
	return fixturesVal
}

func makeFixtures() (map[string]*party, error) {
	now := time.Now()
	ca, err := devpki.NewCA(devpki.ECDSA, "Seal Test CA", now.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	out := map[string]*party{}
	for name, alg := range map[string]devpki.Algorithm{"p256": devpki.ECDSA, "rsa": devpki.RSA, "sm2": devpki.SM2} {
		iss, err := ca.Issue(alg, "投标人 "+name, "Seal Test Bidder", now.Add(-time.Hour), now.Add(24*time.Hour))
		if err != nil {
			return nil, err
		}
		p, err := certParty(name, iss.Cert, iss.Key)
		if err != nil {
			return nil, err
		}
		out[name] = p
	}
	rescue, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if out["rescue"], err = rescueParty("rescue", rescue); err != nil {
		return nil, err
	}
	return out, nil
}

func certParty(name string, cert *smx509.Certificate, key crypto.PrivateKey) (*party, error) {
	r, err := NewCertRecipient(cert)
	if err != nil {
		return nil, err
	}
	id, err := NewCertIdentity(cert, key)
	if err != nil {
		return nil, err
	}
	return &party{name: name, cert: cert, key: key, recipient: r, identity: id}, nil
}

func rescueParty(name string, key *ecdh.PrivateKey) (*party, error) {
	r, err := NewRescueRecipient(key.PublicKey())
	if err != nil {
		return nil, err
	}
	id, err := NewRescueIdentity(key)
	if err != nil {
		return nil, err
	}
	return &party{name: name, key: key, recipient: r, identity: id}, nil
}

// testBinding is a binding with readable IDs (the grammar allows them; production uses UUIDs).
func testBinding() Binding {
	return Binding{Tender: "tender-2026-001", Section: "section-1", Bidder: "bidder-42", Kind: Technical}
}

// pattern returns n bytes of a fixed non-repeating-per-chunk pattern: byte i is
// (i + i/251) mod 256, so two chunks never hold the same plaintext.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i + i/251)
	}
	return b
}

// detRand is the deterministic random source of the test vectors (FORMAT.md, "Test
// vectors"): SHA-256(seed || uint64be(0)) || SHA-256(seed || uint64be(1)) || ...
type detRand struct {
	seed []byte
	ctr  uint64
	buf  []byte
}

func newDetRand(seed string) *detRand { return &detRand{seed: []byte(seed)} }

func (d *detRand) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.buf) == 0 {
			h := sha256.New()
			h.Write(d.seed)
			h.Write(binary.BigEndian.AppendUint64(nil, d.ctr))
			d.ctr++
			d.buf = h.Sum(nil)
		}
		c := copy(p[n:], d.buf)
		d.buf = d.buf[c:]
		n += c
	}
	return n, nil
}

// mustSeal seals plain to the parties and returns the envelope.
func mustSeal(tb testing.TB, plain []byte, b Binding, to []*party, opts ...Option) []byte {
	tb.Helper()
	var recipients []Recipient
	for _, p := range to {
		recipients = append(recipients, p.recipient)
	}
	var buf bytes.Buffer
	sealed, err := Seal(&buf, bytes.NewReader(plain), b, recipients, opts...)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	if sealed.Size != int64(buf.Len()) || sealed.PlaintextSize != int64(len(plain)) {
		tb.Fatalf("Seal reported %d bytes from %d, wrote %d from %d", sealed.Size, sealed.PlaintextSize, buf.Len(), len(plain))
	}
	return buf.Bytes()
}

// mustFileKey unwraps the file key of envelope env with p's identity.
func mustFileKey(tb testing.TB, env []byte, p *party) []byte {
	tb.Helper()
	h, _, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		tb.Fatalf("ParseHeader: %v", err)
	}
	key, err := h.UnwrapFileKey(p.identity)
	if err != nil {
		tb.Fatalf("UnwrapFileKey(%s): %v", p.name, err)
	}
	return key
}

// wantCode fails unless err is a *kaiping.Error with the given code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %s", code)
	}
	if got := kaiping.CodeOf(err); got != code {
		tb.Fatalf("got %v (code %s), want code %s", err, got, code)
	}
	var ke *kaiping.Error
	if errors.As(err, &ke) && ke.Message == "" {
		tb.Fatalf("error %s has no message", code)
	}
}

// wantChunk fails unless err is the given code naming chunk index.
func wantChunk(tb testing.TB, err error, code string, index uint64) {
	tb.Helper()
	wantCode(tb, err, code)
	var ce *ChunkError
	if !errors.As(err, &ce) {
		tb.Fatalf("%v: no ChunkError", err)
	}
	if ce.Index != index {
		tb.Fatalf("%v: chunk %d, want %d", err, ce.Index, index)
	}
}

// openBothWays opens env with key sequentially (Read) and in parallel (WriteTo) and
// checks they agree; it returns the plaintext and the error.
func openBothWays(tb testing.TB, env, key []byte) ([]byte, error) {
	tb.Helper()
	var seqPlain []byte
	var seqErr error
	if r, err := Open(bytes.NewReader(env), key); err != nil {
		seqErr = err
	} else {
		seqPlain, seqErr = io.ReadAll(onlyReader{r})
	}
	var par bytes.Buffer
	_, parErr := Decrypt(&par, bytes.NewReader(env), key, WithConcurrency(3))
	if kaiping.CodeOf(seqErr) != kaiping.CodeOf(parErr) || (seqErr == nil) != (parErr == nil) {
		tb.Fatalf("Read says %v, WriteTo says %v", seqErr, parErr)
	}
	if seqErr == nil && !bytes.Equal(seqPlain, par.Bytes()) {
		tb.Fatalf("Read and WriteTo disagree on the plaintext")
	}
	if seqErr != nil {
		var a, b *ChunkError
		if errors.As(seqErr, &a) != errors.As(parErr, &b) || (a != nil && *a != *b) {
			tb.Fatalf("Read says %v, WriteTo says %v", seqErr, parErr)
		}
	}
	return seqPlain, seqErr
}

// onlyReader hides WriteTo, so io.ReadAll takes the sequential path.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

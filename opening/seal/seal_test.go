package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/kaiping/kaiping"
)

// sizes covers the chunk boundaries: nothing, one byte, exactly one chunk, one chunk and a
// byte, and several MiB (not a multiple of the chunk size).
var sizes = []int{0, 1, ChunkSize, ChunkSize + 1, 3<<20 + 12345}

func TestRoundTrip(t *testing.T) {
	fx := mustFixtures(t)
	for _, suite := range []Suite{AES256GCM, SM4GCM} {
		for _, name := range partyNames {
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s/%s/%d", suite, name, size), func(t *testing.T) {
					p := fx[name]
					plain := pattern(size)
					env := mustSeal(t, plain, testBinding(), []*party{p}, WithSuite(suite))

					h, off, err := ParseHeader(bytes.NewReader(env))
					if err != nil {
						t.Fatal(err)
					}
					if h.Suite != suite || h.Binding != testBinding() {
						t.Fatalf("header says %s %+v", h.Suite, h.Binding)
					}
					if _, ok := h.Stanza(p.recipient.RecipientID()); !ok {
						t.Fatalf("no stanza for %s", p.recipient.RecipientID())
					}
					chunks := max(1, (size+ChunkSize-1)/ChunkSize)
					if want := off + int64(size) + int64(chunks)*TagSize; int64(len(env)) != want {
						t.Fatalf("envelope is %d bytes, want %d", len(env), want)
					}

					key := mustFileKey(t, env, p)
					got, err := openBothWays(t, env, key)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, plain) {
						t.Fatal("plaintext differs")
					}
					res, err := Verify(bytes.NewReader(env), key)
					if err != nil {
						t.Fatal(err)
					}
					if res.PlaintextSize != int64(size) || res.Chunks != uint64(chunks) {
						t.Fatalf("Verify: %d bytes in %d chunks", res.PlaintextSize, res.Chunks)
					}
					if want := suiteDigest(suite, plain); !bytes.Equal(res.Digest, want) {
						t.Fatalf("digest %x, want %x", res.Digest, want)
					}
				})
			}
		}
	}
}

func suiteDigest(s Suite, b []byte) []byte {
	if s == SM4GCM {
		h := sm3.New()
		h.Write(b)
		return h.Sum(nil)
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// TestEveryRecipientOpens seals once to all recipient kinds; each one alone opens it to the
// same file key.
func TestEveryRecipientOpens(t *testing.T) {
	fx := mustFixtures(t)
	var all []*party
	for _, name := range partyNames {
		all = append(all, fx[name])
	}
	plain := pattern(1000)
	env := mustSeal(t, plain, testBinding(), all)
	var first []byte
	for _, p := range all {
		key := mustFileKey(t, env, p)
		if first == nil {
			first = key
		} else if !bytes.Equal(first, key) {
			t.Fatalf("%s unwrapped another file key", p.name)
		}
	}
	got, err := openBothWays(t, env, first)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v", err)
	}
}

func TestSealedDigest(t *testing.T) {
	fx := mustFixtures(t)
	var buf bytes.Buffer
	sealed, err := Seal(&buf, bytes.NewReader(pattern(ChunkSize*2+7)), testBinding(), []Recipient{fx["p256"].recipient}, WithDigest())
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := Seal(io.Discard, bytes.NewReader(pattern(7)), testBinding(), []Recipient{fx["p256"].recipient}); err != nil || plain.SHA256 != "" {
		t.Fatalf("without WithDigest: %+v, %v", plain, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if sealed.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("SHA256 %s, want %x", sealed.SHA256, sum)
	}
	if !bytes.Equal(sealed.Header.Bytes(), buf.Bytes()[:sealed.Header.Size()]) {
		t.Fatal("Sealed.Header.Bytes is not the start of the envelope")
	}
}

// TestSealDeterministic: with WithRand, sealing is a function of its inputs, whatever the
// number of workers; without it, two envelopes of the same plaintext share nothing.
func TestSealDeterministic(t *testing.T) {
	fx := mustFixtures(t)
	to := []*party{fx["p256"], fx["rsa"], fx["sm2"], fx["rescue"]}
	plain := pattern(5*ChunkSize + 3)
	a := mustSeal(t, plain, testBinding(), to, WithRand(newDetRand("x")), WithConcurrency(1))
	b := mustSeal(t, plain, testBinding(), to, WithRand(newDetRand("x")), WithConcurrency(7))
	if !bytes.Equal(a, b) {
		t.Fatal("same randomness, different envelopes")
	}
	c := mustSeal(t, plain, testBinding(), to)
	d := mustSeal(t, plain, testBinding(), to)
	if bytes.Equal(c[len(c)-100:], d[len(d)-100:]) {
		t.Fatal("two seals of the same plaintext end alike")
	}
}

func TestSealRefuses(t *testing.T) {
	fx := mustFixtures(t)
	p := fx["p256"]
	bad := testBinding()
	bad.Bidder = "bidder 42"
	noKind := testBinding()
	noKind.Kind = ""
	many := make([]Recipient, MaxStanzas+1)
	for i := range many {
		many[i] = p.recipient
	}
	tests := []struct {
		name string
		b    Binding
		to   []Recipient
		opts []Option
		code string
	}{
		{"bad bidder ID", bad, []Recipient{p.recipient}, nil, CodeBindingInvalid},
		{"no kind", noKind, []Recipient{p.recipient}, nil, CodeBindingInvalid},
		{"no recipients", testBinding(), nil, nil, CodeNoRecipients},
		{"too many recipients", testBinding(), many, nil, CodeNoRecipients},
		{"duplicate recipient", testBinding(), []Recipient{p.recipient, fx["rsa"].recipient, p.recipient}, nil, CodeRecipientDuplicate},
		{"unknown suite", testBinding(), []Recipient{p.recipient}, []Option{WithSuite("chacha20poly1305")}, CodeUnsupportedSuite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Seal(&buf, bytes.NewReader([]byte("x")), tt.b, tt.to, tt.opts...)
			wantCode(t, err, tt.code)
			if buf.Len() != 0 {
				t.Fatal("wrote something before refusing")
			}
		})
	}
}

// TestReadThenWriteTo: a Reader may be read a little (say, to sniff the format) and then
// copied; the two halves join up.
func TestReadThenWriteTo(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(4*ChunkSize + 100)
	env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	for _, head := range []int{0, 10, ChunkSize, ChunkSize + 5, len(plain)} {
		t.Run(fmt.Sprint(head), func(t *testing.T) {
			r, err := Open(bytes.NewReader(env), key)
			if err != nil {
				t.Fatal(err)
			}
			first := make([]byte, head)
			if _, err := io.ReadFull(r, first); err != nil {
				t.Fatal(err)
			}
			var rest bytes.Buffer
			if _, err := r.WriteTo(&rest); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(first, rest.Bytes()...), plain) {
				t.Fatal("plaintext differs")
			}
			if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("after the end: %d, %v", n, err)
			}
		})
	}
}

// TestOpenPayload: the server parses the header on upload and, at the opening, reads the
// payload alone from the stored object at the payload offset.
func TestOpenPayload(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(ChunkSize + 99)
	env := mustSeal(t, plain, testBinding(), []*party{fx["sm2"]}, WithSuite(SM4GCM))
	h, off, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	key, err := h.UnwrapFileKey(fx["sm2"].identity)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenPayload(h, bytes.NewReader(env[off:]), key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("OpenPayload: %v", err)
	}
}

// TestMemoryFlat seals and verifies 32 MiB; the bytes allocated must not grow with the
// payload (a few chunk buffers, not the file).
func TestMemoryFlat(t *testing.T) {
	fx := mustFixtures(t)
	const size = 32 << 20
	to := []Recipient{fx["p256"].recipient}
	measure := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var env bytes.Buffer
	env.Grow(size + size/ChunkSize*TagSize + 4096)
	sealAlloc := measure(func() {
		if _, err := Seal(&env, io.LimitReader(zeros{}, size), testBinding(), to); err != nil {
			t.Fatal(err)
		}
	})
	key := mustFileKey(t, env.Bytes(), fx["p256"])
	verifyAlloc := measure(func() {
		if _, err := Verify(bytes.NewReader(env.Bytes()), key); err != nil {
			t.Fatal(err)
		}
	})
	const limit = 4 << 20
	t.Logf("allocated %d KiB sealing and %d KiB verifying %d MiB", sealAlloc>>10, verifyAlloc>>10, size>>20)
	if sealAlloc > limit || verifyAlloc > limit {
		t.Fatalf("allocated %d and %d bytes for a %d-byte payload", sealAlloc, verifyAlloc, size)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestWriteError: a failing writer stops Seal and Decrypt with its error, without leaking
// goroutines.
func TestWriteError(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(10 * ChunkSize)
	env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	before := runtime.NumGoroutine()
	for range 5 {
		if _, err := Seal(&failAfter{n: 3 * ChunkSize}, bytes.NewReader(plain), testBinding(), []Recipient{fx["p256"].recipient}); err == nil || kaiping.CodeOf(err) != "internal" {
			t.Fatalf("Seal to a failing writer: %v", err)
		}
		if _, err := Decrypt(&failAfter{n: 3 * ChunkSize}, bytes.NewReader(env), key); err == nil || kaiping.CodeOf(err) != "internal" {
			t.Fatalf("Decrypt to a failing writer: %v", err)
		}
	}
	// A goroutine that has called wg.Done may still be on its way out: give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, io.ErrShortWrite
	}
	f.n -= len(p)
	return len(p), nil
}

// TestHeaderKeysDerivation pins the key schedule against an independent computation.
func TestHeaderKeysDerivation(t *testing.T) {
	fx := mustFixtures(t)
	env := mustSeal(t, []byte("x"), testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	h, _, _ := ParseHeader(bytes.NewReader(env))
	keys, err := deriveKeys(h.Suite, key, h.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, keys.macKey)
	m.Write(env[:bytes.Index(env, []byte("\n--- "))+4])
	if !hmac.Equal(m.Sum(nil), h.MAC) {
		t.Fatal("MAC is not HMAC-SHA256 over the header through \"---\"")
	}
}

// TestReadError: an error from the caller's reader is passed through (errors.Is finds it),
// not mistaken for tampering.
func TestReadError(t *testing.T) {
	fx := mustFixtures(t)
	boom := errors.New("disk on fire")
	plain := pattern(3 * ChunkSize)
	_, err := Seal(io.Discard, io.MultiReader(bytes.NewReader(plain), errReader{boom}), testBinding(), []Recipient{fx["p256"].recipient})
	if !errors.Is(err, boom) || kaiping.CodeOf(err) != "internal" {
		t.Fatalf("Seal: %v", err)
	}
	env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	broken := func() io.Reader { return io.MultiReader(bytes.NewReader(env[:len(env)-ChunkSize]), errReader{boom}) }
	if _, err := Verify(broken(), key); !errors.Is(err, boom) || kaiping.CodeOf(err) != "internal" {
		t.Fatalf("Verify: %v", err)
	}
	r, err := Open(broken(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(onlyReader{r}); !errors.Is(err, boom) {
		t.Fatalf("Read: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestOddReaders: short reads, one-byte reads and data returned together with io.EOF do not
// change the envelope or its reading.
func TestOddReaders(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(2*ChunkSize + 5)
	det := func() Option { return WithRand(newDetRand("odd")) }
	want := mustSeal(t, plain, testBinding(), []*party{fx["p256"]}, det())
	key := mustFileKey(t, want, fx["p256"])
	wrappers := map[string]func(io.Reader) io.Reader{
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	}
	for name, wrap := range wrappers {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			if _, err := Seal(&got, wrap(bytes.NewReader(plain)), testBinding(), []Recipient{fx["p256"].recipient}, det()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatal("envelope differs")
			}
			r, err := Open(wrap(bytes.NewReader(want)), key)
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(onlyReader{r})
			if err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("Read: %v", err)
			}
			var par bytes.Buffer
			if _, err := Decrypt(&par, wrap(bytes.NewReader(want)), key); err != nil || !bytes.Equal(par.Bytes(), plain) {
				t.Fatalf("Decrypt: %v", err)
			}
		})
	}
}

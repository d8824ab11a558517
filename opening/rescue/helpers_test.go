package rescue

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening/seal"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// testHolder is a supervisor with the private key of their certificate, as their client
// would have it (a key file or a token).
type testHolder struct {
	Holder
	Key crypto.Signer
}

// pool caches supervisors across tests: RSA key generation is the slow part of this suite.
// The first six cycle through SM2, ECDSA P-256 and RSA; the rest, needed only to reach
// MaxHolders, are ECDSA.
var pool struct {
	sync.Mutex
	ca      *devpki.CA
	holders []testHolder
}

var mixedAlgs = []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA}

func mustCA(tb testing.TB) *devpki.CA {
	tb.Helper()
	pool.Lock()
	defer pool.Unlock()
	if pool.ca == nil {
		ca, err := devpki.NewCA(devpki.ECDSA, "Kaiping Test CA", t0.AddDate(-1, 0, 0))
		if err != nil {
			tb.Fatal(err)
		}
		pool.ca = ca
	}
	return pool.ca
}

// mustHolders returns n distinct supervisors, each with their own principal and certificate.
func mustHolders(tb testing.TB, n int) []testHolder {
	tb.Helper()
	ca := mustCA(tb)
	pool.Lock()
	defer pool.Unlock()
	for i := len(pool.holders); i < n; i++ {
		alg := devpki.ECDSA
		if i < 6 {
			alg = mixedAlgs[i%len(mixedAlgs)]
		}
		c, err := ca.Issue(alg, "监督人员", "某市公共资源交易监督管理局", t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0))
		if err != nil {
			tb.Fatal(err)
		}
		pool.holders = append(pool.holders, testHolder{
			Holder: Holder{Principal: kaiping.NewID(), Certificate: c.Cert},
			Key:    c.Key,
		})
	}
	return append([]testHolder(nil), pool.holders[:n]...)
}

func holdersOf(ths []testHolder) []Holder {
	hs := make([]Holder, len(ths))
	for i, th := range ths {
		hs[i] = th.Holder
	}
	return hs
}

func mustSplit(tb testing.TB, k int, ths []testHolder) Setup {
	tb.Helper()
	s, err := Split(rand.Reader, k, len(ths), holdersOf(ths))
	if err != nil {
		tb.Fatalf("Split(%d of %d): %v", k, len(ths), err)
	}
	return s
}

func mustIdentity(tb testing.TB, th testHolder) seal.Identity {
	tb.Helper()
	id, err := seal.NewCertIdentity(th.Certificate, th.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// mustShares has every holder verify their own share, as their clients do at setup.
func mustShares(tb testing.TB, s Setup, ths []testHolder) []Share {
	tb.Helper()
	shares := make([]Share, len(ths))
	for i, th := range ths {
		sh, err := VerifyShare(s.Shares[i], mustIdentity(tb, th), s.Commitments, s.PublicKey)
		if err != nil {
			tb.Fatalf("holder %d (%T): VerifyShare: %v", i, th.Key, err)
		}
		shares[i] = sh
	}
	return shares
}

func mustCombine(tb testing.TB, shares []Share, s Setup) *Key {
	tb.Helper()
	key, err := Combine(shares, s.Commitments, s.PublicKey)
	if err != nil {
		tb.Fatalf("Combine: %v", err)
	}
	tb.Cleanup(key.Wipe)
	return key
}

// mustP384Cert is a certificate whose key no stanza type wraps to.
func mustP384Cert(tb testing.TB) *smx509.Certificate {
	tb.Helper()
	ca := mustCA(tb)
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(384),
		NotBefore:    t0.AddDate(0, -1, 0),
		NotAfter:     t0.AddDate(1, 0, 0),
		KeyUsage:     smx509.KeyUsageDigitalSignature,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

// wantCode fails unless err is a *kaiping.Error of kind and code with a public message.
func wantCode(tb testing.TB, err error, kind kaiping.Kind, code string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want %s", code)
	}
	var ke *kaiping.Error
	if !errors.As(err, &ke) {
		tb.Fatalf("error %v (%T) is not a *kaiping.Error", err, err)
	}
	if ke.Code != code || ke.Kind != kind {
		tb.Fatalf("error %v: code %s kind %s, want %s %s", err, ke.Code, ke.Kind, code, kind)
	}
	if ke.Message == "" {
		tb.Fatalf("error %v has no message", err)
	}
}

// wantShareError fails unless err is rescue.share_invalid naming share index.
func wantShareError(tb testing.TB, err error, index int) {
	tb.Helper()
	wantCode(tb, err, kaiping.KindInvalid, CodeShareInvalid)
	var se *ShareError
	if !errors.As(err, &se) {
		tb.Fatalf("error %v carries no *ShareError", err)
	}
	if se.Index != index {
		tb.Fatalf("error %v names share %d, want %d", err, se.Index, index)
	}
}

// subsets lists every k-element subset of {0, …, n-1}.
func subsets(n, k int) [][]int {
	var out [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == k {
			out = append(out, append([]int(nil), cur...))
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
	return out
}

func pick(shares []Share, idx ...int) []Share {
	out := make([]Share, len(idx))
	for i, j := range idx {
		out[i] = shares[j]
	}
	return out
}

// mustPeer is an ephemeral key as a rescue stanza carries: ECDH is symmetric, so a combined
// key that agrees with it on a shared secret is the private half of the setup's public key.
func mustPeer(tb testing.TB) *ecdh.PrivateKey {
	tb.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// rewrap encrypts a forged share plaintext to a holder: anyone can encrypt to a certificate,
// so only the Feldman check (and the fields inside) can catch it.
func rewrap(tb testing.TB, th testHolder, es EncryptedShare, s Share) EncryptedShare {
	tb.Helper()
	plain, err := s.marshal()
	if err != nil {
		tb.Fatal(err)
	}
	st, err := seal.WrapSecret(rand.Reader, th.Certificate, plain)
	if err != nil {
		tb.Fatal(err)
	}
	es.Stanza = st
	return es
}

// plusOne is a share with its value increased by one (mod the group order).
func plusOne(tb testing.TB, s Share) Share {
	tb.Helper()
	v := new(big.Int).SetBytes(s.Value)
	v.Add(v, big.NewInt(1)).Mod(v, elliptic.P256().Params().N)
	return Share{KeyID: s.KeyID, Index: s.Index, Value: v.FillBytes(make([]byte, scalarSize))}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy source unplugged") }

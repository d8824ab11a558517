package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
)

// memStore is the identity.Store of a login test: the token test needs the real login
// check (identity.Service.Login), not a database.
type memStore struct {
	mu     sync.Mutex
	byCert map[string]kaiping.Principal
	used   map[string]bool
}

func newMemStore() *memStore {
	return &memStore{byCert: map[string]kaiping.Principal{}, used: map[string]bool{}}
}

func (s *memStore) CreatePrincipal(_ context.Context, _ kaiping.Actor, p kaiping.Principal, c identity.RegisteredCertificate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byCert[c.Fingerprint] = p
	return nil
}

func (s *memStore) AddCertificate(ctx context.Context, a kaiping.Actor, id kaiping.ID, c identity.RegisteredCertificate) error {
	p, err := s.Principal(ctx, id)
	if err != nil {
		return err
	}
	return s.CreatePrincipal(ctx, a, p, c)
}

func (s *memStore) PrincipalByCertificate(_ context.Context, fp string) (kaiping.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.byCert[fp]; ok {
		return p, nil
	}
	return kaiping.Principal{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "没有此用户")
}

func (s *memStore) Principal(_ context.Context, id kaiping.ID) (kaiping.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.byCert {
		if p.ID == id {
			return p, nil
		}
	}
	return kaiping.Principal{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "没有此用户")
}

func (s *memStore) Principals(context.Context) ([]kaiping.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kaiping.Principal
	for _, p := range s.byCert {
		out = append(out, p)
	}
	return out, nil
}

func (s *memStore) RecordLogin(_ context.Context, _ kaiping.Actor, nonce string, _ time.Time, _ kaiping.ID, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[nonce] {
		return kaiping.E(kaiping.KindConflict, "auth.nonce_replayed", "登录挑战已使用")
	}
	s.used[nonce] = true
	return nil
}

func (s *memStore) Standing(_ context.Context, id kaiping.ID, fp string) (identity.Standing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.byCert {
		if p.ID == id {
			return identity.Standing{Principal: p, Certificate: s.byCert[fp].ID == id}, nil
		}
	}
	return identity.Standing{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "没有此用户")
}

// The token test changes nobody's standing.
func (s *memStore) SetDisabled(context.Context, kaiping.Actor, kaiping.ID, bool) error { return nil }
func (s *memStore) SetRoles(context.Context, kaiping.Actor, kaiping.ID, []kaiping.Role) error {
	return nil
}
func (s *memStore) RevokeCertificate(context.Context, kaiping.Actor, kaiping.ID, string) error {
	return nil
}

func (s *memStore) RecordFailedLogin(context.Context, identity.FailedLogin) error { return nil }
func (s *memStore) RecentFailure(context.Context, string, string, int, int, time.Time) (time.Time, time.Time, error) {
	return time.Time{}, time.Time{}, nil
}

// mustLoginService is identity's login service trusting the test CA, with cert registered.
func mustLoginService(tb testing.TB, certs ...*smx509.Certificate) *identity.Service {
	tb.Helper()
	roots, err := identity.ParseCARoots(mustCA(tb).CertPEM())
	if err != nil {
		tb.Fatal(err)
	}
	tokens, err := identity.NewTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	svc := identity.NewService(newMemStore(), roots, tokens, kaiping.SystemClock{}, time.Hour, time.Minute)
	for _, c := range certs {
		if _, err := svc.Register(context.Background(), kaiping.SystemActor(time.Now()), identity.NewPrincipal{
			Name: c.Subject.CommonName, Roles: []kaiping.Role{kaiping.RoleBidder}, Certificate: string(devpki.CertPEM(c)),
		}); err != nil {
			tb.Fatal(err)
		}
	}
	return svc
}

// TestSignLogin logs in with the token key the way the bidder's tool will: identity.SignLogin
// with the Key as the crypto.Signer, checked by identity.Service.Login.
func TestSignLogin(t *testing.T) {
	t.Parallel()
	eachAlgorithm(t, func(t *testing.T, bk bidderKey, other *smx509.Certificate) {
		svc := mustLoginService(t, bk.cert, other)
		tests := []struct {
			name     string
			cert     *smx509.Certificate
			wantCode string
		}{
			{"own certificate", bk.cert, ""},
			{"another bidder's certificate", other, "auth.bad_signature"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ch := svc.Challenge()
				sig, err := identity.SignLogin(bk.key, ch.Nonce)
				if err != nil {
					t.Fatalf("SignLogin: %v", err)
				}
				sess, err := svc.Login(context.Background(), kaiping.Actor{At: time.Now()}, devpki.CertPEM(tt.cert), ch.Nonce, sig)
				if code := codeOf(err); code != tt.wantCode {
					t.Fatalf("Login: code %q (%v), want %q", code, err, tt.wantCode)
				}
				if tt.wantCode == "" && sess.Principal.Name != tt.cert.Subject.CommonName {
					t.Fatalf("logged in as %q", sess.Principal.Name)
				}
			})
		}
	})
}

// TestSignMatchesSoftware puts software keys on the token and compares: RSA PKCS#1 v1.5 is
// deterministic, so the token's signature must equal crypto/rsa's byte for byte; ECDSA is
// randomized, so the token's must verify under the software public key.
func TestSignMatchesSoftware(t *testing.T) {
	t.Parallel()
	label := mustToken(t)
	rsaKey := mustSoftwareKey(t, devpki.RSA).(*rsa.PrivateKey)
	ecKey := mustSoftwareKey(t, devpki.ECDSA).(*ecdsa.PrivateKey)
	importKey(t, label, rsaKey, keyObject{"rsa", []byte{1}}, true)
	importKey(t, label, ecKey, keyObject{"ec", []byte{2}}, true)
	rsaTok := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN, KeyLabel: "rsa"})
	ecTok := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN, KeyID: []byte{2}})
	if !rsaTok.Public().(*rsa.PublicKey).Equal(&rsaKey.PublicKey) || !ecTok.Public().(*ecdsa.PublicKey).Equal(&ecKey.PublicKey) {
		t.Fatal("token public keys differ from the imported keys")
	}
	msg := []byte("KAIPING-LOGIN-V1\nnonce")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		d := h.New()
		d.Write(msg)
		digest := d.Sum(nil)
		want, err := rsa.SignPKCS1v15(nil, rsaKey, h, digest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rsaTok.Sign(rand.Reader, digest, h)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("RSA %v: token signature differs from crypto/rsa (err %v)", h, err)
		}
		sig, err := ecTok.Sign(rand.Reader, digest, h)
		if err != nil || !ecdsa.VerifyASN1(&ecKey.PublicKey, digest, sig) {
			t.Errorf("ECDSA %v: token signature does not verify (err %v)", h, err)
		}
	}
}

// TestSignBadOptions: what the token cannot sign is refused before it reaches the token.
func TestSignBadOptions(t *testing.T) {
	t.Parallel()
	ec, rs := mustBidderKey(t, devpki.ECDSA), mustBidderKey(t, devpki.RSA)
	d256 := sha256.Sum256([]byte("m"))
	d1 := make([]byte, 20)
	d512 := sha512.Sum512([]byte("m"))
	tests := []struct {
		name   string
		key    *Key
		digest []byte
		opts   crypto.SignerOpts
	}{
		{"RSA-PSS", rs.key, d256[:], &rsa.PSSOptions{Hash: crypto.SHA256}},
		{"RSA with SHA-1", rs.key, d1, crypto.SHA1},
		{"RSA without a hash", rs.key, d256[:], crypto.Hash(0)},
		{"ECDSA without a hash", ec.key, d256[:], crypto.Hash(0)},
		{"SM2 options on a P-256 key", ec.key, []byte("message"), sm2.DefaultSM2SignerOpts},
		{"digest of the wrong length", ec.key, d512[:], crypto.SHA256},
		{"nil options", ec.key, d256[:], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.key.Sign(rand.Reader, tt.digest, tt.opts)
			if code := codeOf(err); code != CodeUnsupportedAlgorithm {
				t.Fatalf("code %q (%v), want %s", code, err, CodeUnsupportedAlgorithm)
			}
		})
	}
}

// mustSoftwareKey makes a key in memory, for comparing the token's results with software's.
func mustSoftwareKey(tb testing.TB, alg devpki.Algorithm) crypto.Signer {
	tb.Helper()
	if alg == devpki.ECDSA {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	// RSA key generation is slow under -race: one software RSA key serves the run.
	rsaOnce.Do(func() { rsaVal, rsaErr = rsa.GenerateKey(rand.Reader, 2048) })
	if rsaErr != nil {
		tb.Fatal(rsaErr)
	}
	return rsaVal
}

var (
	rsaOnce sync.Once
	rsaVal  *rsa.PrivateKey
	rsaErr  error
)

// codeOf is the error code, "" for no error.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return kaiping.CodeOf(err)
}

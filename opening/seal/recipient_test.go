package seal

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping/identity"
)

// TestFingerprintMatchesIdentity: a stanza names a certificate by the fingerprint the
// identity package registers it under.
func TestFingerprintMatchesIdentity(t *testing.T) {
	fx := mustFixtures(t)
	for _, name := range []string{"p256", "rsa", "sm2"} {
		c := fx[name].cert
		if got, want := fx[name].recipient.RecipientID(), identity.Fingerprint(c.Raw); got != want {
			t.Errorf("%s: recipient ID %s, identity.Fingerprint %s", name, got, want)
		}
	}
}

func TestWrapSecret(t *testing.T) {
	fx := mustFixtures(t)
	for _, name := range []string{"p256", "rsa", "sm2"} {
		for _, size := range []int{1, 33, MaxSecretSize} {
			t.Run(fmt.Sprintf("%s/%d", name, size), func(t *testing.T) {
				p := fx[name]
				secret := pattern(size)
				s, err := WrapSecret(rand.Reader, p.cert, secret)
				if err != nil {
					t.Fatal(err)
				}
				text, err := s.MarshalText()
				if err != nil {
					t.Fatal(err)
				}
				var back Stanza
				if err := back.UnmarshalText(text); err != nil {
					t.Fatalf("UnmarshalText(%q): %v", text, err)
				}
				got, err := UnwrapSecret(back, p.identity)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(secret) {
					t.Fatal("secret differs")
				}
				other := fx["p256"]
				if name == "p256" {
					other = fx["sm2"]
				}
				_, err = UnwrapSecret(back, other.identity)
				wantCode(t, err, CodeNoStanza)
			})
		}
	}
	for _, size := range []int{0, MaxSecretSize + 1} {
		_, err := WrapSecret(rand.Reader, fx["p256"].cert, make([]byte, size))
		wantCode(t, err, CodeSecretSize)
	}
}

func TestStanzaUnmarshalRefuses(t *testing.T) {
	fx := mustFixtures(t)
	s, _ := WrapSecret(rand.Reader, fx["sm2"].cert, []byte("share"))
	text, _ := s.MarshalText()
	for name, bad := range map[string]string{
		"no arrow":      strings.TrimPrefix(string(text), "-> "),
		"trailing data": string(text) + "x",
		"no body end":   strings.TrimSuffix(string(text), "\n"),
		"not DER":       "-> sm2 " + s.Args[0] + "\nAAAA\n",
		"empty":         "",
	} {
		t.Run(name, func(t *testing.T) {
			var st Stanza
			wantCode(t, st.UnmarshalText([]byte(bad)), CodeHeaderMalformed)
		})
	}
}

// TestUnwrapWrongKey: a stanza that names this identity but was not made for its key, or
// was altered, is seal.wrong_key.
func TestUnwrapWrongKey(t *testing.T) {
	fx := mustFixtures(t)
	for _, name := range partyNames {
		t.Run(name, func(t *testing.T) {
			p := fx[name]
			s, err := p.recipient.Wrap(rand.Reader, pattern(FileKeySize))
			if err != nil {
				t.Fatal(err)
			}
			s.Body[len(s.Body)/2] ^= 0x40
			_, err = UnwrapSecret(s, p.identity)
			wantCode(t, err, CodeWrongKey)
		})
	}
	t.Run("stanza relabelled for another P-256 key", func(t *testing.T) {
		other := mustP256Party(t)
		s, _ := fx["p256"].recipient.Wrap(rand.Reader, pattern(FileKeySize))
		s.Args[0] = other.recipient.RecipientID()
		_, err := UnwrapSecret(s, other.identity)
		wantCode(t, err, CodeWrongKey)
	})
	t.Run("stanza type does not match the key", func(t *testing.T) {
		s, _ := fx["p256"].recipient.Wrap(rand.Reader, pattern(FileKeySize))
		s.Args[0] = fx["rsa"].recipient.RecipientID()
		_, err := UnwrapSecret(s, fx["rsa"].identity)
		wantCode(t, err, CodeHeaderMalformed)
	})
}

// TestRSAUnwrapRefusesShortBody: RFC 8017 §7.1.2 refuses a ciphertext that is not exactly
// as long as the modulus. crypto/rsa reads a shorter one as the same integer with its leading
// zero bytes dropped, which would give one RSA stanza two encodings.
func TestRSAUnwrapRefusesShortBody(t *testing.T) {
	p := mustFixtures(t)["rsa"]
	s, stripped := shortRSAStanza(t, p.recipient.RecipientID(), p.cert.PublicKey.(*rsa.PublicKey), pattern(FileKeySize))
	_, err := p.identity.Unwrap(s)
	wantCode(t, err, CodeWrongKey)
	// The same ciphertext at full length opens.
	s.Body = append(make([]byte, stripped), s.Body...)
	if got, err := p.identity.Unwrap(s); err != nil || !bytes.Equal(got, pattern(FileKeySize)) {
		t.Fatalf("full-length body: %v", err)
	}
}

// shortRSAStanza wraps secret to pub with the first deterministic seed whose ciphertext
// starts with a zero byte (one in 256 do), and returns the stanza with its leading zero bytes
// dropped and how many were dropped.
func shortRSAStanza(tb testing.TB, fp string, pub *rsa.PublicKey, secret []byte) (Stanza, int) {
	tb.Helper()
	for i := range 1 << 16 {
		s, err := rsaWrap(newDetRand(fmt.Sprintf("short RSA body %d", i)), fp, pub, secret)
		if err != nil {
			tb.Fatal(err)
		}
		if s.Body[0] == 0 {
			n := len(s.Body) - len(bytes.TrimLeft(s.Body, "\x00"))
			s.Body = s.Body[n:]
			return s, n
		}
	}
	tb.Fatal("no ciphertext with a leading zero byte")
	return Stanza{}, 0
}

func mustP256Party(tb testing.TB) *party {
	tb.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p, err := certParty("p256-2", mustSelfSigned(tb, key), key)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// mustSelfSigned makes a throwaway certificate for key.
func mustSelfSigned(tb testing.TB, key crypto.Signer) *smx509.Certificate {
	tb.Helper()
	tmpl := &smx509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// token stands for a PKCS#11 token: it decrypts or does ECDH, and its key's type is hidden.
type token struct {
	dec crypto.Decrypter
	dh  *ecdh.PrivateKey
}

func (k token) Public() crypto.PublicKey { return k.dec.Public() }
func (k token) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return k.dec.Decrypt(r, msg, opts)
}
func (k token) ECDH(peer *ecdh.PublicKey) ([]byte, error) { return k.dh.ECDH(peer) }
func (k token) PublicKey() *ecdh.PublicKey                { return k.dh.PublicKey() }

// TestIdentityKeyForms: the key forms a bidder's tool may hold all work.
func TestIdentityKeyForms(t *testing.T) {
	fx := mustFixtures(t)
	p256Key := fx["p256"].key.(*ecdsa.PrivateKey)
	p256DH, _ := p256Key.ECDH()
	sm2Key := fx["sm2"].key.(*sm2.PrivateKey)
	tests := []struct {
		name string
		cert string
		key  crypto.PrivateKey
	}{
		{"ecdsa.PrivateKey", "p256", p256Key},
		{"ecdh.PrivateKey", "p256", p256DH},
		{"ECDH token", "p256", struct{ ECDHer }{token{dh: p256DH}}},
		{"rsa.PrivateKey", "rsa", fx["rsa"].key},
		{"RSA token", "rsa", struct{ crypto.Decrypter }{token{dec: fx["rsa"].key.(*rsa.PrivateKey)}}},
		{"sm2.PrivateKey", "sm2", sm2Key},
		{"SM2 key as ecdsa.PrivateKey", "sm2", &sm2Key.PrivateKey},
		{"SM2 token", "sm2", struct{ crypto.Decrypter }{token{dec: sm2Key}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fx[tt.cert]
			id, err := NewCertIdentity(p.cert, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := p.recipient.Wrap(rand.Reader, []byte("file key"))
			got, err := UnwrapSecret(s, id)
			if err != nil || string(got) != "file key" {
				t.Fatalf("unwrap: %q, %v", got, err)
			}
		})
	}
}

func TestIdentityRefusesWrongKey(t *testing.T) {
	fx := mustFixtures(t)
	other := mustP256Party(t)
	tests := []struct {
		name string
		cert string
		key  crypto.PrivateKey
		code string
	}{
		{"another P-256 key", "p256", other.key, CodeWrongKey},
		{"SM2 key for a P-256 certificate", "p256", fx["sm2"].key, CodeWrongKey},
		{"P-256 key for an RSA certificate", "rsa", fx["p256"].key, CodeWrongKey},
		{"RSA key for an SM2 certificate", "sm2", fx["rsa"].key, CodeWrongKey},
		{"a signer that cannot decrypt", "sm2", struct{ crypto.Signer }{fx["sm2"].key.(crypto.Signer)}, CodeWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCertIdentity(fx[tt.cert].cert, tt.key)
			wantCode(t, err, tt.code)
		})
	}
}

func TestUnsupportedRecipients(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	// 2047 bits is one short of the minimum, yet its modulus still takes 256 bytes.
	rsa2047, _ := rsa.GenerateKey(rand.Reader, 2047)
	for name, key := range map[string]crypto.Signer{"P-384": p384, "Ed25519": edKey, "RSA-1024": rsa1024, "RSA-2047": rsa2047} {
		t.Run(name, func(t *testing.T) {
			cert := mustSelfSigned(t, key)
			_, err := NewCertRecipient(cert)
			wantCode(t, err, CodeRecipientUnsupported)
			_, err = NewCertIdentity(cert, key)
			wantCode(t, err, CodeRecipientUnsupported)
		})
	}
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	_, err := NewRescueRecipient(x25519.PublicKey())
	wantCode(t, err, CodeRecipientUnsupported)
	_, err = NewCertRecipient(nil)
	wantCode(t, err, CodeRecipientUnsupported)
}

// TestRescueKeyID pins the rescue key ID to the SHA-256 of the SubjectPublicKeyInfo.
func TestRescueKeyID(t *testing.T) {
	fx := mustFixtures(t)
	key := fx["rescue"].key.(*ecdh.PrivateKey)
	id, err := RescueKeyID(key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	// SPKI of a P-256 key: a fixed 26-byte prefix, then the uncompressed point.
	prefix := []byte{0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00}
	if want := Fingerprint(append(prefix, key.PublicKey().Bytes()...)); id != want {
		t.Fatalf("rescue key ID %s, want %s", id, want)
	}
}

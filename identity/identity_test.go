package identity

import (
	"bytes"
	"crypto"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func mustCA(tb testing.TB, alg devpki.Algorithm, name string) *devpki.CA {
	tb.Helper()
	ca, err := devpki.NewCA(alg, name, t0.AddDate(-1, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

func mustIssue(tb testing.TB, ca *devpki.CA, alg devpki.Algorithm, from, to time.Time) *devpki.Issued {
	tb.Helper()
	c, err := ca.Issue(alg, "四川某建设工程有限公司", "投标人", from, to)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func mustRoots(tb testing.TB, cas ...*devpki.CA) *CARoots {
	tb.Helper()
	var pems [][]byte
	for _, ca := range cas {
		pems = append(pems, ca.CertPEM())
	}
	r, err := ParseCARoots(pems...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestVerifyChain(t *testing.T) {
	sm2CA, ecCA, rsaCA := mustCA(t, devpki.SM2, "SM2 CA"), mustCA(t, devpki.ECDSA, "EC CA"), mustCA(t, devpki.RSA, "RSA CA")
	strangerCA := mustCA(t, devpki.ECDSA, "Unknown CA")
	roots := mustRoots(t, sm2CA, ecCA, rsaCA)
	valid := func(ca *devpki.CA, alg devpki.Algorithm) []byte {
		return mustIssue(t, ca, alg, t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0)).CertPEM()
	}
	usage := func(ca *devpki.CA, alg devpki.Algorithm, ku smx509.KeyUsage, eku []smx509.ExtKeyUsage) []byte {
		c, err := ca.IssueWithUsage(alg, "四川某建设工程有限公司", "投标人", t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0), ku, eku)
		if err != nil {
			t.Fatal(err)
		}
		return c.CertPEM()
	}
	tests := []struct {
		name     string
		pem      []byte
		wantCode string
	}{
		{"sm2 from sm2 CA", valid(sm2CA, devpki.SM2), ""},
		{"ecdsa from ecdsa CA", valid(ecCA, devpki.ECDSA), ""},
		{"rsa from rsa CA", valid(rsaCA, devpki.RSA), ""},
		{"sm2 leaf from rsa CA", valid(rsaCA, devpki.SM2), ""},
		{"unknown CA", valid(strangerCA, devpki.ECDSA), "auth.cert_untrusted"},
		{"expired", mustIssue(t, ecCA, devpki.ECDSA, t0.AddDate(-1, 0, 0), t0.Add(-time.Second)).CertPEM(), "auth.cert_expired"},
		{"not yet valid", mustIssue(t, ecCA, devpki.ECDSA, t0.Add(time.Hour), t0.AddDate(1, 0, 0)).CertPEM(), "auth.cert_expired"},
		{"not PEM", []byte("hello"), "auth.cert_malformed"},
		{"empty", nil, "auth.cert_malformed"},
		{"a CA certificate is not a client", ecCA.CertPEM(), "auth.cert_not_client"},
		{"SM2 encryption certificate", usage(sm2CA, devpki.SM2, smx509.KeyUsageKeyEncipherment|smx509.KeyUsageDataEncipherment, nil), "auth.cert_usage"},
		{"key agreement only", usage(ecCA, devpki.ECDSA, smx509.KeyUsageKeyAgreement, []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth}), "auth.cert_usage"},
		{"no key usage at all", usage(ecCA, devpki.ECDSA, 0, nil), "auth.cert_usage"},
		{"server authentication only", usage(ecCA, devpki.ECDSA, smx509.KeyUsageDigitalSignature, []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth}), "auth.cert_usage"},
		{"signing, no extended key usage", usage(sm2CA, devpki.SM2, smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment, nil), ""},
		{"signing, any extended key usage", usage(rsaCA, devpki.RSA, smx509.KeyUsageDigitalSignature, []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := roots.VerifyChain(tt.pem, t0)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("VerifyChain: %v", err)
				}
				if len(c.Fingerprint) != 64 {
					t.Fatalf("fingerprint %q", c.Fingerprint)
				}
				return
			}
			if got := kaiping.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.wantCode, err)
			}
		})
	}
}

func TestLoginSignature(t *testing.T) {
	for _, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
		t.Run(string(alg), func(t *testing.T) {
			ca := mustCA(t, alg, "CA")
			holder := mustIssue(t, ca, alg, t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0))
			other := mustIssue(t, ca, alg, t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0))
			sig := mustSign(t, holder.Key, "n1.abc")
			if err := verifyLoginSignature(holder.Cert.PublicKey, "n1.abc", sig); err != nil {
				t.Fatalf("own signature: %v", err)
			}
			cases := map[string]error{
				"other nonce": verifyLoginSignature(holder.Cert.PublicKey, "n1.abd", sig),
				"other key":   verifyLoginSignature(holder.Cert.PublicKey, "n1.abc", mustSign(t, other.Key, "n1.abc")),
				"flipped bit": verifyLoginSignature(holder.Cert.PublicKey, "n1.abc", flip(sig)),
			}
			for name, err := range cases {
				if kaiping.CodeOf(err) != "auth.bad_signature" {
					t.Errorf("%s: err = %v, want auth.bad_signature", name, err)
				}
			}
		})
	}
}

func mustSign(tb testing.TB, key crypto.Signer, nonce string) []byte {
	tb.Helper()
	sig, err := SignLogin(key, nonce)
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)/2] ^= 0x01
	return c
}

func TestTokens(t *testing.T) {
	tok, err := NewTokens(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewTokens(bytes.Repeat([]byte{8}, 32))
	if _, err := NewTokens([]byte("short")); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}

	nonce := tok.NewNonce(t0.Add(time.Minute))
	if exp, err := tok.CheckNonce(nonce, t0); err != nil || !exp.Equal(t0.Add(time.Minute)) {
		t.Fatalf("CheckNonce = %v, %v", exp, err)
	}
	claims := Claims{Session: kaiping.NewID(), Principal: kaiping.NewID(), Roles: []kaiping.Role{kaiping.RoleBidder}, Expires: t0.Add(time.Hour).Unix()}
	session := tok.IssueSession(claims)
	if c, err := tok.CheckSession(session, t0); err != nil || c.Principal != claims.Principal {
		t.Fatalf("CheckSession = %+v, %v", c, err)
	}

	tampered := []byte(session)
	tampered[5] ^= 1
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"nonce expired at the exact second", second(tok.CheckNonce(nonce, t0.Add(time.Minute))), "auth.nonce_expired"},
		{"nonce from another server", second(other.CheckNonce(nonce, t0)), "auth.nonce_invalid"},
		{"nonce garbage", second(tok.CheckNonce("n1.x.y", t0)), "auth.nonce_invalid"},
		{"session as nonce", second(tok.CheckNonce(session, t0)), "auth.nonce_invalid"},
		{"nonce as session", second(tok.CheckSession(nonce, t0)), "auth.token_invalid"},
		{"session forged by another key", second(other.CheckSession(session, t0)), "auth.token_invalid"},
		{"session tampered", second(tok.CheckSession(string(tampered), t0)), "auth.token_invalid"},
		{"session expired", second(tok.CheckSession(session, t0.Add(time.Hour))), "auth.token_expired"},
	}
	for _, tt := range tests {
		if got := kaiping.CodeOf(tt.err); got != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.code)
		}
	}
}

func second[T any](_ T, err error) error { return err }

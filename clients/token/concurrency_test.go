package token

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/kaiping/kaiping/identity/devpki"
)

// TestConcurrentUse: 8 goroutines share each Key (a PKCS#11 session does one operation at
// a time; run with -race), and every result is checked.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ec, rs := mustBidderKey(t, devpki.ECDSA), mustBidderKey(t, devpki.RSA)
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				if err := useBoth(ec.key, rs.key, fmt.Sprintf("%d/%d", w, r)); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := countSecretObjects(t, ec.key); n != 0 {
		t.Fatalf("%d derived secret objects left on the token", n)
	}
}

// useBoth signs with both keys, does ECDH with the P-256 key and decrypts with the RSA key,
// checking each result in software.
func useBoth(ec, rs *Key, msg string) error {
	d := sha256.Sum256([]byte(msg))
	sig, err := ec.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(ec.Public().(*ecdsa.PublicKey), d[:], sig) {
		return fmt.Errorf("ECDSA sign: %v", err)
	}
	sig, err = rs.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("RSA sign: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(rs.Public().(*rsa.PublicKey), crypto.SHA256, d[:], sig); err != nil {
		return fmt.Errorf("RSA signature: %w", err)
	}
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	got, err := ec.ECDH(peer.PublicKey())
	if err != nil {
		return fmt.Errorf("ECDH: %w", err)
	}
	if want, _ := peer.ECDH(ec.PublicKey()); !bytes.Equal(got, want) {
		return fmt.Errorf("ECDH secret differs")
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, rs.Public().(*rsa.PublicKey), []byte(msg), nil)
	if err != nil {
		return err
	}
	pt, err := rs.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256})
	if err != nil || string(pt) != msg {
		return fmt.Errorf("Decrypt: %q, %v", pt, err)
	}
	return nil
}

// TestClose: a closed Key refuses every operation with token.closed, closing twice is
// harmless, and the module reference is given back.
func TestClose(t *testing.T) {
	t.Parallel()
	label := mustToken(t)
	generate(t, label, devpki.ECDSA, bidderObject)
	k, err := Open(Config{Module: softhsm, TokenLabel: label, PIN: userPIN})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	d := sha256.Sum256([]byte("m"))
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"Sign": func() error { _, err := k.Sign(nil, d[:], crypto.SHA256); return err },
		"ECDH": func() error { _, err := k.ECDH(peer.PublicKey()); return err },
	}
	for name, op := range ops {
		if err := op(); codeOf(err) != CodeClosed {
			t.Errorf("%s after Close: %v, want %s", name, err, CodeClosed)
		}
	}
	// The token was logged out with the last Key: a new one must log in again, so a wrong
	// PIN is caught by the token itself.
	if _, err := Open(Config{Module: softhsm, TokenLabel: label, PIN: "0000"}); codeOf(err) != CodePIN {
		t.Fatalf("wrong PIN after Close: %v", err)
	}
}

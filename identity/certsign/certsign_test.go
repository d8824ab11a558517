package certsign_test

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/identity/devpki"
)

// TestSignVerify: each supported key signs and verifies; another message, another key or a
// key of an unsupported type does not.
func TestSignVerify(t *testing.T) {
	msg := []byte("KAIPING-TEST-V1\n签名")
	for _, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
		key, err := devpki.NewKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		other, _ := devpki.NewKey(alg)
		sig, err := certsign.Sign(key, msg)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if ok, err := certsign.Verify(key.Public(), msg, sig); !ok || err != nil {
			t.Errorf("%s: own signature: %v %v", alg, ok, err)
		}
		if ok, _ := certsign.Verify(key.Public(), append(msg, '!'), sig); ok {
			t.Errorf("%s: verified another message", alg)
		}
		if ok, _ := certsign.Verify(other.Public(), msg, sig); ok {
			t.Errorf("%s: verified with another key", alg)
		}
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	if _, err := certsign.Verify(pub, msg, nil); !errors.Is(err, certsign.ErrUnsupportedKey) {
		t.Errorf("ed25519 key: %v", err)
	}
}

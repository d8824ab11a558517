package opening

import (
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
)

// TestRecordSignature: a confirmation signed with the certificate's key verifies for every
// algorithm the CAs issue; another digest, another key, or a login signature does not.
func TestRecordSignature(t *testing.T) {
	now := time.Now()
	ca, err := devpki.NewCA(devpki.SM2, "测试 CA", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	digest := strings.Repeat("ab", 32)
	for _, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
		c, err := ca.Issue(alg, "投标人", "x", now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		other, _ := ca.Issue(alg, "他人", "x", now.Add(-time.Hour), now.Add(time.Hour))
		sig, err := SignRecord(c.Key, digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyRecordSignature(c.Cert.Raw, digest, sig); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
		login, _ := identity.SignLogin(c.Key, digest)
		otherSig, _ := SignRecord(other.Key, digest)
		for name, bad := range map[string]error{
			"another digest":    VerifyRecordSignature(c.Cert.Raw, strings.Repeat("cd", 32), sig),
			"another key":       VerifyRecordSignature(c.Cert.Raw, digest, otherSig),
			"a login signature": VerifyRecordSignature(c.Cert.Raw, digest, login),
		} {
			if codeOrEmpty(bad) != "hall.bad_signature" {
				t.Errorf("%s, %s: %v", alg, name, bad)
			}
		}
	}
}

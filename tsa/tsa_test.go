package tsa

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping/identity/devpki"
)

// mustTSA runs a TSA on loopback with a certificate of ca for usage eku and returns its URL
// and the pool of ca's certificate.
func mustTSA(tb testing.TB, ca *devpki.CA, eku smx509.ExtKeyUsage) (string, *x509.CertPool) {
	tb.Helper()
	now := time.Now()
	issued, err := ca.IssueWithUsage(devpki.ECDSA, "测试时间戳服务", "测试 TSA", now.Add(-time.Hour), now.AddDate(1, 0, 0),
		smx509.KeyUsageDigitalSignature, []smx509.ExtKeyUsage{eku})
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(issued.Cert.Raw)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(&Server{Cert: cert, Key: issued.Key, Now: time.Now})
	tb.Cleanup(srv.Close)
	roots, err := ParseRoots(ca.CertPEM())
	if err != nil {
		tb.Fatal(err)
	}
	return srv.URL, roots
}

func mustCA(tb testing.TB) *devpki.CA {
	tb.Helper()
	ca, err := devpki.NewCA(devpki.ECDSA, "测试 TSA CA", time.Now().Add(-time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

// TestStampAndVerify: a token from the TSA verifies offline for its digest against the TSA's
// CA, and not for another digest, against another CA, nor from a certificate not for
// time-stamping.
func TestStampAndVerify(t *testing.T) {
	ctx := context.Background()
	ca := mustCA(t)
	url, roots := mustTSA(t, ca, smx509.ExtKeyUsageTimeStamping)
	digest := sha256.Sum256([]byte("回执"))
	token, stampedAt, err := NewClient(url, roots, 5*time.Second).Stamp(ctx, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	at, err := Verify(token, digest[:], roots)
	if err != nil || !at.Equal(stampedAt) || time.Since(at) > time.Minute {
		t.Fatalf("Verify: %v at %v (stamped %v)", err, at, stampedAt)
	}
	other := sha256.Sum256([]byte("另一份回执"))
	if _, err := Verify(token, other[:], roots); err == nil {
		t.Error("the token verifies for another digest")
	}
	_, otherRoots := mustTSA(t, mustCA(t), smx509.ExtKeyUsageTimeStamping)
	if _, err := Verify(token, digest[:], otherRoots); err == nil {
		t.Error("the token verifies against another TSA's CA")
	}
	loginURL, _ := mustTSA(t, ca, smx509.ExtKeyUsageClientAuth)
	if _, _, err := NewClient(loginURL, roots, 5*time.Second).Stamp(ctx, digest[:]); err == nil {
		t.Error("a token signed with a certificate not for time-stamping was accepted")
	}
}

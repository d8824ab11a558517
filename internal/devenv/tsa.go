package devenv

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/tsa"
)

// TSA is an RFC 3161 time-stamping authority (tsa.Server) on loopback, with a certificate
// for timeStamping from a CA of its own, until the test ends. Down makes it refuse every
// request (503), as a TSA that is away.
type TSA struct {
	// URL is where it takes time-stamp queries.
	URL string
	// CAFile holds its CA's certificate (PEM): timestamp.certificate_file.
	CAFile string
	// Roots is the pool of that CA.
	Roots *x509.CertPool
	// Down, while true, refuses every request.
	Down atomic.Bool
}

// StartTSA starts a time-stamping authority.
func StartTSA(tb testing.TB) *TSA {
	tb.Helper()
	now := time.Now()
	ca, err := devpki.NewCA(devpki.ECDSA, "测试时间戳 CA", now.Add(-time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	issued, err := ca.IssueWithUsage(devpki.ECDSA, "测试时间戳服务", "测试 TSA", now.Add(-time.Hour), now.AddDate(1, 0, 0),
		smx509.KeyUsageDigitalSignature, []smx509.ExtKeyUsage{smx509.ExtKeyUsageTimeStamping})
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(issued.Cert.Raw)
	if err != nil {
		tb.Fatal(err)
	}
	t := &TSA{CAFile: filepath.Join(tb.TempDir(), "tsa-ca.pem")}
	if err := os.WriteFile(t.CAFile, ca.CertPEM(), 0o600); err != nil {
		tb.Fatal(err)
	}
	if t.Roots, err = tsa.ParseRoots(ca.CertPEM()); err != nil {
		tb.Fatal(err)
	}
	server := &tsa.Server{Cert: cert, Key: issued.Key, Now: time.Now}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.Down.Load() {
			http.Error(w, "the time-stamping authority is down", http.StatusServiceUnavailable)
			return
		}
		server.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	t.URL = srv.URL
	return t
}

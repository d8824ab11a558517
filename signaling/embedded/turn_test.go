package embedded

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
)

// turnCert is the TURN server's certificate in tests. pion verifies a turns: server against
// the system roots, so TestMain writes it to a file and points SSL_CERT_FILE at it before
// anything loads the roots.
var turnCert tls.Certificate

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kaiping-turn")
	if err != nil {
		panic(err)
	}
	turnCert = mustSelfSigned(dir)
	os.Setenv("SSL_CERT_FILE", filepath.Join(dir, "ca.pem"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func mustSelfSigned(dir string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kaiping test TURN"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pemBytes, 0o600); err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func withTURN(c *Config) {
	c.TURN = &TURNConfig{TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", TLSCertificate: &turnCert,
		Host: "127.0.0.1", RelayIP: "127.0.0.1"}
}

func TestMediaThroughTURN(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{}, withTURN)
	mustRoom(t, srv, "r")
	tests := []struct {
		name   string
		scheme string
	}{
		{"TURN over TCP", "turn:"},
		{"TURN over TLS", "turns:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, _, _ := startPair(t, srv, "r", func(c *seat.Config) {
				c.ForceRelay = true
				c.ICEURLFilter = func(u string) bool { return strings.HasPrefix(u, tt.scheme) }
			})
			for _, s := range []*running{a, b} {
				if err := s.stop(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestMediaOverICETCP(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	startPair(t, srv, "r", func(c *seat.Config) { c.TCPOnly = true })
}

func TestTURNCredentials(t *testing.T) {
	clock := kaiping.NewManualClock(time.Now())
	k, err := deriveKeys(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ts := &turnServer{cfg: TURNConfig{CredentialTTL: time.Hour, Realm: "kaiping"}, keys: k, clock: clock}
	user, pass := k.turnCredentials("p-1", clock.Now().Add(time.Hour))
	key, ok := ts.authenticate(user, "kaiping", nil)
	if !ok || string(key) != string(turn.GenerateAuthKey(user, "kaiping", pass)) {
		t.Fatalf("valid credentials refused")
	}
	tests := []struct {
		name, user string
	}{
		{"no expiry", "p-1"},
		{"expiry not a number", "soon:p-1"},
		{"expired", user},
	}
	clock.Advance(time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := ts.authenticate(tt.user, "kaiping", nil); ok {
				t.Fatalf("username %q accepted", tt.user)
			}
		})
	}
	other, err := deriveKeys([]byte("another secret, 32 bytes or more......"))
	if err != nil {
		t.Fatal(err)
	}
	if _, forged := other.turnCredentials("p-1", time.Now()); forged == pass {
		t.Fatalf("another secret derives the same password")
	}
	if ownAddresses(nil, net.ParseIP("192.0.2.1")) {
		t.Errorf("TURN would relay to a foreign address")
	}
	if !ownAddresses(nil, net.ParseIP("127.0.0.1")) {
		t.Errorf("TURN would not relay to this machine")
	}
}

package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/storage/kek"
	"github.com/kaiping/kaiping/storage/ledger"
)

// DevSetup is a development installation written into one folder: a CA, the first
// administrator's certificate and key, the ledger signing key, the key-encryption key of
// file keys, the session secret and a
// configuration file that points at them. The demo and the end-to-end tests use it; a real
// centre gets its CA roots from its CAs and its keys from its own key management.
type DevSetup struct {
	Dir        string
	CA         *devpki.CA
	Admin      *devpki.Issued
	Config     Config
	ConfigPath string
}

// DevServers says where the development PostgreSQL and MinIO are.
type DevServers struct {
	DatabaseURL                          string
	BlobEndpoint, BlobAccess, BlobSecret string
}

// NewDevSetup writes a development installation into dir, valid from now.
func NewDevSetup(dir string, s DevServers, now time.Time) (*DevSetup, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := devpki.NewCA(devpki.SM2, "开评演示 CA (Kaiping demo CA)", now.AddDate(0, 0, -1))
	if err != nil {
		return nil, err
	}
	admin, err := ca.Issue(devpki.SM2, "交易中心系统管理员", "演示公共资源交易中心", now.AddDate(0, 0, -1), now.AddDate(1, 0, 0))
	if err != nil {
		return nil, err
	}
	adminKey, err := admin.KeyPEM()
	if err != nil {
		return nil, err
	}
	ledgerKey, err := ledger.GenerateKeyPEM(ledger.AlgEd25519)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"ca.pem":          ca.CertPEM(),
		"admin.pem":       admin.CertPEM(),
		"admin.key":       adminKey,
		"ledger.key":      ledgerKey,
		"session-secret":  []byte(hex.EncodeToString(secret)),
		"blob-secret-key": []byte(s.BlobSecret),
		"database-url":    []byte(s.DatabaseURL),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	// The key-encryption key that wraps the file keys kept after openings.
	kekFile := filepath.Join(dir, "kek-1.key")
	if err := kek.GenerateKeyFile(kekFile); err != nil {
		return nil, err
	}
	cfg := DefaultConfig()
	cfg.KEK.KeyFiles = []string{kekFile}
	// Any free port: tests and the demo run beside each other and beside a real server.
	cfg.InternalListen = "127.0.0.1:0"
	cfg.Database.URLFile = filepath.Join(dir, "database-url")
	cfg.Blob.Endpoint = s.BlobEndpoint
	cfg.Blob.AccessKey = s.BlobAccess
	cfg.Blob.SecretKeyFile = filepath.Join(dir, "blob-secret-key")
	cfg.Ledger.SigningKeyFile = filepath.Join(dir, "ledger.key")
	cfg.Auth.CARoots = []string{filepath.Join(dir, "ca.pem")}
	cfg.Auth.SessionSecretFile = filepath.Join(dir, "session-secret")
	// One machine: media on a free loopback port, loopback candidates announced.
	cfg.Media.UDPAddr, cfg.Media.TCPAddr, cfg.Media.Loopback = "127.0.0.1:0", "127.0.0.1:0", true
	// Its own spool: the default is shared by every installation with the same archive
	// bucket, and a recorder starting up recovers what it finds there (another test's or
	// another demo's recording in progress).
	cfg.Media.RecordingSpoolDir = filepath.Join(dir, "recordings")
	// One machine, maybe without NTP: the demo and tests judge deadlines on its clock
	// (TestClockSync switches the check on against an NTP server of its own).
	cfg.Clock.Check = false
	cfg.Auth.BootstrapAdmin = BootstrapAdmin{Name: "交易中心系统管理员", Org: "演示公共资源交易中心", CertificateFile: filepath.Join(dir, "admin.pem")}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "kaiping.yaml")
	header := "# Written by the kaiping demo. Secrets are in the files next to this one.\n"
	if err := os.WriteFile(path, append([]byte(header), out...), 0o600); err != nil {
		return nil, err
	}
	loaded, err := LoadConfig(path, nil)
	if err != nil {
		return nil, fmt.Errorf("dev setup wrote a config it cannot load: %w", err)
	}
	return &DevSetup{Dir: dir, CA: ca, Admin: admin, Config: loaded, ConfigPath: path}, nil
}

// LedgerPublicKey is the platform public key of the setup's ledger signing key, as a centre
// would publish it for bidders to check receipts against.
func (s *DevSetup) LedgerPublicKey() ([]byte, error) {
	b, err := os.ReadFile(s.Config.Ledger.SigningKeyFile)
	if err != nil {
		return nil, err
	}
	signer, err := ledger.ParseSigner(b)
	if err != nil {
		return nil, err
	}
	return signer.PublicKeyPEM()
}

// Package agent is the local signing agent (证书助手): it runs on the user's computer, holds
// the certificate's key (a key file or a UKEY through PKCS#11) and lets the platform's pages
// have it sign what a user must sign in the browser (the login challenge, a record
// confirmation, a report signature, an inquiry answer), over HTTP on loopback only.
//
// Another web page must not be able to use it: only the origins it was started with may call
// it (CORS and a check of the Origin header), and an origin's page must first be paired, by
// the user typing a six-digit code the agent shows in its own terminal. Each signature is
// over a domain-separated message the agent builds itself from named fields, so a page can
// never make it sign arbitrary bytes, and no route ever returns the private key.
package agent

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity"
)

// DefaultPort is the loopback port the pages look for the agent on unless told otherwise.
const DefaultPort = 18443

// Config is what an Agent needs; every field but Log and Version is required.
type Config struct {
	// Certificate is the PEM chain, the leaf first, whose key Key is.
	Certificate []byte
	// Key signs; it may be a PKCS#11 token, whose key never leaves it.
	Key crypto.Signer
	// Origins are the platform's origins (scheme://host[:port]) whose pages may call the agent.
	Origins []string
	// StatePath is the file where pairings are kept (written 0600).
	StatePath string
	// ShowCode tells the user, in the agent's own terminal, the code a page asks them to type.
	ShowCode func(origin, code string)
	// Clock bounds how long a pairing code may be typed.
	Clock kaiping.Clock
	// Version is reported by GET /v1/status.
	Version string
	// Log receives pairings, refusals and the pairing codes shown (a code is good once, for
	// minutes, and the log is the user's own), never a pairing token.
	Log *slog.Logger
}

// Agent serves the signing routes. Its methods are safe for concurrent use.
type Agent struct {
	cfg         Config
	origins     map[string]bool
	subject     string
	fingerprint string
	state       *stateFile

	mu    sync.Mutex
	codes map[string]*pairingCode // by origin: the code shown and not yet typed
}

// New checks cfg and loads the pairings from cfg.StatePath (none if it does not exist).
func New(cfg Config) (*Agent, error) {
	if cfg.Key == nil || len(cfg.Certificate) == 0 || cfg.StatePath == "" || cfg.ShowCode == nil || cfg.Clock == nil {
		return nil, errors.New("agent: certificate, key, state path, ShowCode and clock are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	origins := map[string]bool{}
	for _, o := range cfg.Origins {
		norm, err := NormalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		origins[norm] = true
	}
	if len(origins) == 0 {
		return nil, errors.New("请用 --origin 指定至少一个平台地址，例如 --origin https://kaiping.example.cn (no origin allowed)")
	}
	block, _ := pem.Decode(cfg.Certificate)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("证书文件不是 PEM 格式的证书 (certificate is not PEM)")
	}
	cert, err := smx509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("证书无法解析: %w", err)
	}
	if !samePublicKey(cert.PublicKey, cfg.Key.Public()) {
		return nil, errors.New("私钥与证书不匹配 (the key is not the certificate's)")
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg, origins: origins, subject: cert.Subject.String(),
		fingerprint: identity.Fingerprint(block.Bytes), state: st, codes: map[string]*pairingCode{}}, nil
}

// samePublicKey reports whether a and b are the same key (they all implement Equal).
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// NormalizeOrigin turns a platform address into the origin a browser sends
// (scheme://host[:port], lower case, no path), refusing anything else.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(s), "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("平台地址 %q 无效：应为 https://主机[:端口] (bad origin)", s)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// tokenDigest is what the state file keeps of a pairing token: never the token itself.
func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Handler is the agent's HTTP API (see routes.go).
func (a *Agent) Handler() http.Handler { return http.HandlerFunc(a.serve) }

package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/kek"
)

// Config is the whole configuration of a kaiping server: one typed struct with defaults, read
// from a YAML file (unknown keys are an error), then overridden by environment variables named
// KAIPING_ plus the YAML path in upper case (database.url → KAIPING_DATABASE_URL), then checked
// by Validate. Secrets may be given as files (*_file), which is how container platforms mount
// them; a secret given both ways is an error.
type Config struct {
	// Listen is the HTTP listen address.
	Listen string `yaml:"listen"`
	// InternalListen is the operations listen address: /metrics and the detailed /readyz,
	// for the monitoring system only (loopback by default; a private network in a cluster).
	// Empty: no operations listener. The public listener says only ready or not.
	InternalListen string `yaml:"internal_listen"`
	// PublicURL is how users reach this server, printed in URLs and links.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the load balancers (addresses or networks) whose X-Forwarded-For is
	// believed for the client address that the ledger records: the rightmost address in it
	// that is not one of them. A request through them without such an address is refused.
	TrustedProxies []string `yaml:"trusted_proxies"`

	Database DatabaseConfig `yaml:"database"`
	Blob     BlobConfig     `yaml:"blob"`
	Ledger   LedgerConfig   `yaml:"ledger"`
	KEK      KEKConfig      `yaml:"kek"`
	Auth     AuthConfig     `yaml:"auth"`
	// Clock is the check that the server's clock may judge deadlines.
	Clock ClockConfig `yaml:"clock"`
	// TimeStamp is the time-stamping authority that stamps receipts and records.
	TimeStamp TimeStampConfig `yaml:"timestamp"`
	// Submission tunes sealed-bid uploads.
	Submission SubmissionConfig `yaml:"submission"`
	// Evaluation is the centre's rules for evaluation sessions.
	Evaluation EvaluationConfig `yaml:"evaluation"`
	Media      MediaConfig      `yaml:"media"`
	// Notify is how notices reach people besides the inbox: e-mail and an SMS/voice gateway.
	Notify NotifyConfig `yaml:"notify"`
	Log    LogConfig    `yaml:"log"`
}

// MediaConfig is the media plane: live audio and video of openings and evaluation
// sessions, on the embedded SFU (signaling/embedded, the default) or a LiveKit server
// (signaling/livekit, for deployments that outgrow one machine or run several replicas:
// LiveKit's rooms are shared by every kaiping process, the embedded SFU's are each
// process's own).
type MediaConfig struct {
	// Backend is "embedded" (default) or "livekit". The settings below up to LiveKit are the
	// embedded SFU's; recording_spool_dir is both's.
	Backend string `yaml:"backend"`
	// LiveKit is the LiveKit server, with backend: livekit.
	LiveKit LiveKitConfig `yaml:"livekit"`
	// SecretFile holds the secret that signs join grants (at least 32 bytes); replicas
	// share it. Empty derives one from the session secret.
	SecretFile string `yaml:"secret_file"`
	// URL is the public WebSocket URL of the signaling route; empty derives it from
	// public_url (http→ws) + /media/ws.
	URL string `yaml:"url"`
	// UDPAddr is the one UDP port all media uses; TCPAddr the ICE-TCP fallback ("" = none).
	UDPAddr string `yaml:"udp_addr"`
	TCPAddr string `yaml:"tcp_addr"`
	// PublicIPs are announced instead of local addresses (a server behind 1:1 NAT).
	PublicIPs []string `yaml:"public_ips"`
	// Loopback announces loopback candidates: for the demo and tests on one machine.
	Loopback bool `yaml:"loopback"`
	// RecordingSpoolDir holds recordings until they are stored in the archive bucket; put it
	// on a persistent disk. Empty: a folder under the temporary directory.
	RecordingSpoolDir string `yaml:"recording_spool_dir"`
}

// LiveKitConfig is the LiveKit server the livekit backend drives. The server must not
// create rooms on join (room.auto_create: false: a grant is for a room kaiping created),
// must allow remote unmute (room.enable_remote_unmute: true, for MuteParticipant), and
// must post its webhooks to public_url + /media/livekit/webhook signed with api_key.
type LiveKitConfig struct {
	// URL is the server's WebSocket URL as participants reach it (wss://…); APIURL where
	// kaiping reaches its API, when not the same host (default: URL with http(s)).
	URL    string `yaml:"url"`
	APIURL string `yaml:"api_url"`
	// APIKey and the file holding its secret: one of the server's `keys:`.
	APIKey        string `yaml:"api_key"`
	APISecretFile string `yaml:"api_secret_file"`
}

// The media backends.
const (
	MediaEmbedded = "embedded"
	MediaLiveKit  = "livekit"
)

// DatabaseConfig is the PostgreSQL connection.
type DatabaseConfig struct {
	URL      string `yaml:"url"`
	URLFile  string `yaml:"url_file"`
	MaxConns int32  `yaml:"max_conns"`
	// Migrate applies pending migrations at start-up (kaiping migrate does it explicitly).
	Migrate bool `yaml:"migrate"`
}

// BlobConfig is the S3-compatible object storage (MinIO is the reference server).
type BlobConfig struct {
	Endpoint      string `yaml:"endpoint"`
	AccessKey     string `yaml:"access_key"`
	SecretKey     string `yaml:"secret_key"`
	SecretKeyFile string `yaml:"secret_key_file"`
	Region        string `yaml:"region"`
	Secure        bool   `yaml:"secure"`
	// BidsBucket holds sealed bid files; ArchiveBucket records, recordings and exports. Both
	// are created with Object Lock.
	BidsBucket    string `yaml:"bids_bucket"`
	ArchiveBucket string `yaml:"archive_bucket"`
	// ArchiveRetentionYears is the COMPLIANCE retention of archived objects; the law asks for
	// at least 15 years.
	ArchiveRetentionYears int `yaml:"archive_retention_years"`
}

// LedgerConfig is the audit ledger's signing key and log name.
type LedgerConfig struct {
	Origin         string `yaml:"origin"`
	SigningKeyFile string `yaml:"signing_key_file"`
}

// KEKConfig is the key-encryption keys (KEKs, 密钥加密密钥) that wrap the file keys the
// platform keeps after the opening (storage/kek). They live outside the database, so a
// database dump opens no bid. The first KEK listed wraps; the others only unwrap, until
// `kaiping kek rotate` re-wrapped every key under the first and they can be removed.
type KEKConfig struct {
	// Backend is "file" (default) or "pkcs11".
	Backend string `yaml:"backend"`
	// KeyFiles are the KEK files (32 random bytes, raw or hexadecimal, mode 0600), newest
	// first; a KEK's ID is its file name without the extension, so never reuse a name.
	KeyFiles []string `yaml:"key_files"`
	// PKCS11 is the cipher machine (密码机), with backend: pkcs11.
	PKCS11 KEKPKCS11Config `yaml:"pkcs11"`
}

// KEKPKCS11Config is a PKCS#11 device holding the KEKs as secret keys.
type KEKPKCS11Config struct {
	Module     string `yaml:"module"`
	TokenLabel string `yaml:"token_label"`
	PINFile    string `yaml:"pin_file"`
	// KeyLabels are the secret keys' CKA_LABELs, newest first.
	KeyLabels []string `yaml:"key_labels"`
	// Mechanism is "aes-gcm" (default) or the number of the device's GCM mechanism, such as
	// a cipher machine's SM4-GCM ("0x8000…", CK_GCM_PARAMS).
	Mechanism string `yaml:"mechanism"`
}

// AuthConfig is certificate login.
type AuthConfig struct {
	CARoots           []string       `yaml:"ca_roots"` // PEM files, one or more CAs each
	SessionTTL        Duration       `yaml:"session_ttl"`
	NonceTTL          Duration       `yaml:"nonce_ttl"`
	SessionSecretFile string         `yaml:"session_secret_file"`
	BootstrapAdmin    BootstrapAdmin `yaml:"bootstrap_admin"`
	// StatusCacheTTL bounds how long a replica believes a principal's standing (disabled,
	// roles, revoked certificate) without asking the database: the longest a disabled
	// principal's session keeps working on another replica. 0 asks on every request.
	StatusCacheTTL Duration `yaml:"status_cache_ttl"`
	// Login throttling: at most MaxFailuresPerAddress failed logins from one address and
	// MaxFailuresPerCertificate made with one certificate's key within ThrottleWindow.
	ThrottleWindow            Duration `yaml:"throttle_window"`
	MaxFailuresPerAddress     int      `yaml:"max_failures_per_address"`
	MaxFailuresPerCertificate int      `yaml:"max_failures_per_certificate"`
	// CRLs are the accepted CAs' certificate revocation lists (证书吊销列表): a certificate
	// its CA revoked cannot log in, be registered, register for a tender, or act with a
	// session. A CA without one is not checked.
	CRLs []CRLConfig `yaml:"crls"`
	// CRLRefresh is how often every list is fetched again.
	CRLRefresh Duration `yaml:"crl_refresh"`
	// CRLGrace is how long a list past its nextUpdate is still believed (a CA publishing
	// late); after it, the CA's certificates are refused (auth.revocation_unknown) until a
	// fresh list is had.
	CRLGrace Duration `yaml:"crl_grace"`
}

// CRLConfig is where one CA publishes its revocation list.
type CRLConfig struct {
	// CA is the CA's certificate file (PEM, one certificate): the list must be signed by it.
	CA string `yaml:"ca"`
	// URL is the list's http(s) URL or file path (DER or PEM).
	URL string `yaml:"url"`
}

// ClockConfig is the check of the server's clock (clocksync): while the kernel says it is
// not synchronised, or it is further than MaxOffset from the NTP servers, no deadline is
// judged (clock.unsynchronised) and /readyz and the host's board say why.
type ClockConfig struct {
	// Check switches the check on (default). Off only for development and tests on one
	// machine: deadlines are then judged on whatever the clock says.
	Check bool `yaml:"check"`
	// NTPServers are compared with ("host" or "host:port"), the median of those answering.
	NTPServers []string `yaml:"ntp_servers"`
	// MaxOffset is the largest offset from them still trusted.
	MaxOffset Duration `yaml:"max_offset"`
	// RequireKernelSync also requires the kernel to say (adjtimex) that chronyd or ntpd
	// keeps the clock.
	RequireKernelSync bool `yaml:"require_kernel_sync"`
	// Interval is how often the clock is checked.
	Interval Duration `yaml:"interval"`
}

// TimeStampConfig is the time-stamping authority (TSA, RFC 3161) whose tokens every receipt
// and archived opening record gets. Empty URL: none. A TSA that does not answer never costs a
// bid: the receipt says the stamp is pending and it is given later.
type TimeStampConfig struct {
	URL string `yaml:"url"`
	// CertificateFile is the TSA's certificate, or the CA that issues it (PEM): tokens that
	// do not verify against it are refused.
	CertificateFile string `yaml:"certificate_file"`
	// Timeout bounds one request to the TSA.
	Timeout Duration `yaml:"timeout"`
	// ReceiptWait is how long a receipt waits for its stamp before it goes out pending.
	ReceiptWait Duration `yaml:"receipt_wait"`
	// Interval is how often pending stamps are asked for again.
	Interval Duration `yaml:"interval"`
}

// BootstrapAdmin is the first administrator, registered at start-up if missing.
type BootstrapAdmin struct {
	Name            string `yaml:"name"`
	Org             string `yaml:"org"`
	CertificateFile string `yaml:"certificate_file"`
}

// SubmissionConfig tunes sealed-bid uploads.
type SubmissionConfig struct {
	// MaxOpenUploads is how many uploads one bidder may have open in one section at once
	// (each holds parts in the bids bucket); the next is refused, upload.too_many_open.
	MaxOpenUploads int `yaml:"max_open_uploads"`
}

// EvaluationConfig is what a centre sets for its evaluation sessions (evaluation.Config).
type EvaluationConfig struct {
	// CheckInLead is how long before a session's start check-in may open.
	CheckInLead Duration `yaml:"checkin_lead"`
	// SuspendBeforeReview and SuspendDuringReview bound a suspension on a fault before and
	// during review (typically 2 and 4 hours): past them a session can only be voided.
	SuspendBeforeReview Duration `yaml:"suspend_before_review"`
	SuspendDuringReview Duration `yaml:"suspend_during_review"`
	// SeatGrace is how long a seat may be gone from the session's room before the host may
	// record its member as having left.
	SeatGrace Duration `yaml:"seat_grace"`
	// PublicationMinimum is the shortest period candidates are published for (中标候选人公示:
	// the law's 3 days at least; a centre may ask for more).
	PublicationMinimum Duration `yaml:"publication_minimum"`
	// InquiryApproval makes a supervisor of the tender approve each written request of the
	// committee to a bidder before it goes out (some centres' rule; default false).
	InquiryApproval bool `yaml:"inquiry_approval"`
}

// LogConfig is logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Duration is a time.Duration written as "30m" in YAML and the environment.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30m or 1h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as "30m0s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// DefaultConfig is the configuration before any file or environment is applied.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8080",
		InternalListen: "127.0.0.1:8081",
		PublicURL:      "http://127.0.0.1:8080",
		Database:       DatabaseConfig{MaxConns: 20, Migrate: true},
		Blob: BlobConfig{
			Region: "us-east-1", BidsBucket: "kaiping-bids", ArchiveBucket: "kaiping-archive",
			ArchiveRetentionYears: 15,
		},
		Ledger: LedgerConfig{Origin: "kaiping.local/ledger"},
		Auth: AuthConfig{SessionTTL: Duration(30 * time.Minute), NonceTTL: Duration(2 * time.Minute),
			StatusCacheTTL: Duration(identity.DefaultStatusCacheTTL),
			ThrottleWindow: Duration(identity.DefaultThrottle.Window), MaxFailuresPerAddress: identity.DefaultThrottle.MaxPerAddress,
			MaxFailuresPerCertificate: identity.DefaultThrottle.MaxPerCertificate,
			CRLRefresh:                Duration(time.Hour), CRLGrace: Duration(24 * time.Hour)},
		// 国家授时中心 and two public services: an answer from any counts.
		Clock: ClockConfig{Check: true, NTPServers: []string{"ntp.ntsc.ac.cn", "ntp.aliyun.com", "cn.pool.ntp.org"},
			MaxOffset: Duration(500 * time.Millisecond), RequireKernelSync: true, Interval: Duration(time.Minute)},
		TimeStamp: TimeStampConfig{Timeout: Duration(5 * time.Second), ReceiptWait: Duration(2 * time.Second),
			Interval: Duration(30 * time.Second)},
		Media:      MediaConfig{UDPAddr: ":7882"},
		Log:        LogConfig{Level: "info", Format: "text"},
		Submission: SubmissionConfig{MaxOpenUploads: opening.DefaultSubmitConfig.MaxOpenUploads},
		Evaluation: EvaluationConfig{CheckInLead: Duration(evaluation.DefaultConfig.CheckInLead),
			SuspendBeforeReview: Duration(evaluation.DefaultConfig.SuspendBeforeReview),
			SuspendDuringReview: Duration(evaluation.DefaultConfig.SuspendDuringReview),
			SeatGrace:           Duration(evaluation.DefaultConfig.SeatGrace),
			PublicationMinimum:  Duration(evaluation.DefaultConfig.PublicationMinimum)},
	}
}

// LoadConfig reads path (may be empty: defaults and environment only), applies env overrides
// from environ, reads *_file secrets and validates. The error lists every problem found.
func LoadConfig(path string, environ []string) (Config, error) {
	cfg := DefaultConfig()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) /* an empty file */ {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	if err := cfg.readSecretFiles(); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// applyEnv sets every field whose KAIPING_* variable is present in environ.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "KAIPING_") {
			env[k] = v
		}
	}
	var problems []string
	walkFields(reflect.ValueOf(cfg).Elem(), "", func(path string, v reflect.Value) {
		name := "KAIPING_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
		raw, ok := env[name]
		if !ok {
			return
		}
		if err := setFromString(v, raw); err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s): %v", path, name, err))
		}
	})
	if len(problems) > 0 {
		return fmt.Errorf("config: bad environment values:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// walkFields calls fn for every leaf field with its dotted YAML path.
func walkFields(v reflect.Value, prefix string, fn func(path string, v reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			walkFields(f, path, fn)
			continue
		}
		fn(path, f)
	}
}

func setFromString(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 30m", s)
		}
		v.Set(reflect.ValueOf(Duration(d)))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("a list of %s is set in the YAML file only", v.Type().Elem())
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// readSecretFiles loads secrets given as files.
func (c *Config) readSecretFiles() error {
	var problems []string
	load := func(name string, value *string, file string) {
		if file == "" {
			return
		}
		if *value != "" {
			problems = append(problems, fmt.Sprintf("%s and %s_file are both set: give the secret one way", name, name))
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s_file: %v", name, err))
			return
		}
		*value = strings.TrimSpace(string(b))
	}
	load("database.url", &c.Database.URL, c.Database.URLFile)
	load("blob.secret_key", &c.Blob.SecretKey, c.Blob.SecretKeyFile)
	if len(problems) > 0 {
		return fmt.Errorf("config:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// Validate checks every setting and reports all problems at once, each naming the setting
// and saying what is wrong.
func (c Config) Validate() error {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	required := func(path, value string) {
		if strings.TrimSpace(value) == "" {
			bad("%s: required (set it in the file or as %s)", path, "KAIPING_"+strings.ToUpper(strings.ReplaceAll(path, ".", "_")))
		}
	}
	fileExists := func(path, file string) {
		if file == "" {
			return
		}
		if _, err := os.Stat(file); err != nil {
			bad("%s: cannot read %s: %v", path, file, errors.Unwrap(err))
		}
	}

	required("listen", c.Listen)
	if c.InternalListen != "" && c.InternalListen == c.Listen {
		bad("internal_listen: must differ from listen: metrics and readiness details are not for the public")
	}
	if _, err := httpapi.ParseTrustedProxies(c.TrustedProxies); err != nil {
		bad("trusted_proxies: %v", err)
	}
	switch c.Media.Backend {
	case "", MediaEmbedded:
		required("media.udp_addr", c.Media.UDPAddr)
		fileExists("media.secret_file", c.Media.SecretFile)
	case MediaLiveKit:
		required("media.livekit.url", c.Media.LiveKit.URL)
		required("media.livekit.api_key", c.Media.LiveKit.APIKey)
		required("media.livekit.api_secret_file", c.Media.LiveKit.APISecretFile)
		fileExists("media.livekit.api_secret_file", c.Media.LiveKit.APISecretFile)
	default:
		bad("media.backend: must be %q or %q, got %q", MediaEmbedded, MediaLiveKit, c.Media.Backend)
	}
	required("database.url", c.Database.URL)
	if c.Database.URL != "" && !strings.HasPrefix(c.Database.URL, "postgres://") && !strings.HasPrefix(c.Database.URL, "postgresql://") {
		bad("database.url: must start with postgres:// (got %q)", redact(c.Database.URL))
	}
	if c.Database.MaxConns < 1 || c.Database.MaxConns > 1000 {
		bad("database.max_conns: must be between 1 and 1000, got %d", c.Database.MaxConns)
	}
	required("blob.endpoint", c.Blob.Endpoint)
	if strings.Contains(c.Blob.Endpoint, "://") {
		bad("blob.endpoint: host:port only, without a scheme (use blob.secure for TLS), got %q", c.Blob.Endpoint)
	}
	required("blob.access_key", c.Blob.AccessKey)
	required("blob.secret_key", c.Blob.SecretKey)
	required("blob.bids_bucket", c.Blob.BidsBucket)
	required("blob.archive_bucket", c.Blob.ArchiveBucket)
	if c.Blob.BidsBucket != "" && c.Blob.BidsBucket == c.Blob.ArchiveBucket {
		bad("blob.archive_bucket: must differ from blob.bids_bucket")
	}
	if c.Blob.ArchiveRetentionYears < 15 {
		bad("blob.archive_retention_years: the law requires at least 15 years, got %d", c.Blob.ArchiveRetentionYears)
	}
	c.KEK.validate(bad, required, fileExists)
	required("ledger.origin", c.Ledger.Origin)
	required("ledger.signing_key_file", c.Ledger.SigningKeyFile)
	fileExists("ledger.signing_key_file", c.Ledger.SigningKeyFile)
	if len(c.Auth.CARoots) == 0 {
		bad("auth.ca_roots: at least one CA root certificate file is required")
	}
	for i, f := range c.Auth.CARoots {
		fileExists(fmt.Sprintf("auth.ca_roots[%d]", i), f)
	}
	if d := time.Duration(c.Auth.SessionTTL); d < time.Minute || d > 24*time.Hour {
		bad("auth.session_ttl: must be between 1m and 24h, got %s", d)
	}
	if d := time.Duration(c.Auth.NonceTTL); d < 10*time.Second || d > 15*time.Minute {
		bad("auth.nonce_ttl: must be between 10s and 15m, got %s", d)
	}
	if d := time.Duration(c.Auth.StatusCacheTTL); d < 0 || d > time.Minute {
		bad("auth.status_cache_ttl: must be between 0s and 1m (how long a disabled principal may go on), got %s", d)
	}
	if d := time.Duration(c.Auth.ThrottleWindow); d < time.Minute || d > 24*time.Hour {
		bad("auth.throttle_window: must be between 1m and 24h, got %s", d)
	}
	if n := c.Auth.MaxFailuresPerAddress; n < 1 || n > 10000 {
		bad("auth.max_failures_per_address: must be between 1 and 10000, got %d", n)
	}
	if n := c.Auth.MaxFailuresPerCertificate; n < 1 || n > 1000 {
		bad("auth.max_failures_per_certificate: must be between 1 and 1000, got %d", n)
	}
	for i, crl := range c.Auth.CRLs {
		required(fmt.Sprintf("auth.crls[%d].ca", i), crl.CA)
		fileExists(fmt.Sprintf("auth.crls[%d].ca", i), crl.CA)
		required(fmt.Sprintf("auth.crls[%d].url", i), crl.URL)
		if crl.URL != "" && !strings.HasPrefix(crl.URL, "http://") && !strings.HasPrefix(crl.URL, "https://") {
			fileExists(fmt.Sprintf("auth.crls[%d].url", i), crl.URL)
		}
	}
	if len(c.Auth.CRLs) > 0 {
		if d := time.Duration(c.Auth.CRLRefresh); d < time.Minute || d > 24*time.Hour {
			bad("auth.crl_refresh: must be between 1m and 24h, got %s", d)
		}
		if d := time.Duration(c.Auth.CRLGrace); d < 0 || d > 7*24*time.Hour {
			bad("auth.crl_grace: must be between 0s and 168h, got %s", d)
		}
	}
	required("auth.session_secret_file", c.Auth.SessionSecretFile)
	fileExists("auth.session_secret_file", c.Auth.SessionSecretFile)
	if b := c.Auth.BootstrapAdmin; b.CertificateFile != "" || b.Name != "" {
		required("auth.bootstrap_admin.name", b.Name)
		required("auth.bootstrap_admin.certificate_file", b.CertificateFile)
		fileExists("auth.bootstrap_admin.certificate_file", b.CertificateFile)
	}
	if c.Clock.Check {
		if len(c.Clock.NTPServers) == 0 {
			bad("clock.ntp_servers: at least one NTP server is required while clock.check is on")
		}
		if d := time.Duration(c.Clock.MaxOffset); d < time.Millisecond || d > 10*time.Second {
			bad("clock.max_offset: must be between 1ms and 10s, got %s", d)
		}
		if d := time.Duration(c.Clock.Interval); d < 5*time.Second || d > 10*time.Minute {
			bad("clock.interval: must be between 5s and 10m, got %s", d)
		}
	}
	if ts := c.TimeStamp; ts.URL != "" {
		if !strings.HasPrefix(ts.URL, "http://") && !strings.HasPrefix(ts.URL, "https://") {
			bad("timestamp.url: must be an http:// or https:// URL, got %q", ts.URL)
		}
		required("timestamp.certificate_file", ts.CertificateFile)
		fileExists("timestamp.certificate_file", ts.CertificateFile)
		if d := time.Duration(ts.Timeout); d < time.Second || d > time.Minute {
			bad("timestamp.timeout: must be between 1s and 1m, got %s", d)
		}
		if d := time.Duration(ts.ReceiptWait); d < 0 || d > 10*time.Second {
			bad("timestamp.receipt_wait: must be between 0s and 10s (a bidder waits for it), got %s", d)
		}
		if d := time.Duration(ts.Interval); d < 5*time.Second || d > 10*time.Minute {
			bad("timestamp.interval: must be between 5s and 10m, got %s", d)
		}
	}
	if err := c.Evaluation.validate(); err != nil {
		return err
	}
	if n := c.Submission.MaxOpenUploads; n < 1 || n > 100 {
		bad("submission.max_open_uploads: must be between 1 and 100, got %d", n)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level: must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format: must be text or json, got %q", c.Log.Format)
	}
	c.Notify.validate(bad)
	if len(p) > 0 {
		return fmt.Errorf("config: %d problem(s):\n  %s", len(p), strings.Join(p, "\n  "))
	}
	return nil
}

// validate checks the KEK settings: the server refuses to start without a KEK, since it
// would otherwise have to keep file keys in the clear.
func (k KEKConfig) validate(bad func(string, ...any), required func(path, value string), fileExists func(path, file string)) {
	switch k.Backend {
	case "", kek.BackendFile:
		if len(k.KeyFiles) == 0 {
			bad("kek.key_files: at least one key-encryption key file is required (kaiping kek keygen --out FILE writes one)")
		}
		seen := map[string]bool{}
		for i, f := range k.KeyFiles {
			fileExists(fmt.Sprintf("kek.key_files[%d]", i), f)
			id := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			if seen[id] {
				bad("kek.key_files[%d]: another key file is also named %q: a KEK's name must be unique", i, id)
			}
			seen[id] = true
		}
	case kek.BackendPKCS11:
		p := k.PKCS11
		required("kek.pkcs11.module", p.Module)
		fileExists("kek.pkcs11.module", p.Module)
		required("kek.pkcs11.token_label", p.TokenLabel)
		required("kek.pkcs11.pin_file", p.PINFile)
		fileExists("kek.pkcs11.pin_file", p.PINFile)
		if len(p.KeyLabels) == 0 {
			bad("kek.pkcs11.key_labels: at least one secret key label is required")
		}
		if _, err := kek.ParseMechanism(p.Mechanism); err != nil {
			bad("kek.pkcs11.mechanism: %v", err)
		}
	default:
		bad("kek.backend: must be %q or %q, got %q", kek.BackendFile, kek.BackendPKCS11, k.Backend)
	}
}

// keys is the storage/kek configuration, with the PIN read from its file.
func (k KEKConfig) keys() (kek.Config, error) {
	out := kek.Config{Backend: k.Backend, KeyFiles: k.KeyFiles, KeyLabels: k.PKCS11.KeyLabels}
	if k.Backend == kek.BackendPKCS11 {
		pin, err := os.ReadFile(k.PKCS11.PINFile)
		if err != nil {
			return out, fmt.Errorf("kek.pkcs11.pin_file: %w", err)
		}
		out.Token = kek.TokenConfig{Module: k.PKCS11.Module, TokenLabel: k.PKCS11.TokenLabel,
			PIN: strings.TrimSpace(string(pin)), Mechanism: k.PKCS11.Mechanism}
	}
	return out, nil
}

// OpenKEK loads the configured KEKs; the function returned releases them.
func (c Config) OpenKEK() (*kek.Keyring, func() error, error) {
	kc, err := c.KEK.keys()
	if err != nil {
		return nil, func() error { return nil }, err
	}
	return kek.Open(kc)
}

// redact hides a password in a URL before it is shown in an error.
func redact(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if colon := strings.Index(u, "://"); colon > 0 {
			return u[:colon+3] + "***" + u[at:]
		}
	}
	return u
}

// validate checks the session rules are in the ranges a centre can mean.
func (e EvaluationConfig) validate() error {
	for _, r := range []struct {
		name     string
		v        Duration
		min, max time.Duration
	}{
		{"evaluation.checkin_lead", e.CheckInLead, 0, 24 * time.Hour},
		{"evaluation.suspend_before_review", e.SuspendBeforeReview, time.Minute, 24 * time.Hour},
		{"evaluation.suspend_during_review", e.SuspendDuringReview, time.Minute, 24 * time.Hour},
		{"evaluation.seat_grace", e.SeatGrace, time.Minute, 2 * time.Hour},
		{"evaluation.publication_minimum", e.PublicationMinimum, 72 * time.Hour, 30 * 24 * time.Hour},
	} {
		if d := time.Duration(r.v); d < r.min || d > r.max {
			return fmt.Errorf("%s: %s is outside %s to %s", r.name, d, r.min, r.max)
		}
	}
	return nil
}

// rules are the session rules of e on top of evaluation's defaults.
func (e EvaluationConfig) rules() evaluation.Config {
	c := evaluation.DefaultConfig
	c.CheckInLead, c.SuspendBeforeReview = time.Duration(e.CheckInLead), time.Duration(e.SuspendBeforeReview)
	c.SuspendDuringReview, c.SeatGrace = time.Duration(e.SuspendDuringReview), time.Duration(e.SeatGrace)
	c.PublicationMinimum = time.Duration(e.PublicationMinimum)
	c.InquiryApproval = e.InquiryApproval
	return c
}

package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// validYAML is a complete configuration whose files exist in dir.
func validYAML(tb testing.TB, dir string) string {
	tb.Helper()
	return `
listen: 127.0.0.1:9000
database:
  url: postgres://kaiping@127.0.0.1:5432/kaiping
blob:
  endpoint: 127.0.0.1:9001
  access_key: kaiping
  secret_key_file: ` + writeFile(tb, dir, "blob-secret", "s3cret\n") + `
ledger:
  signing_key_file: ` + writeFile(tb, dir, "ledger.key", "x") + `
kek:
  key_files: [` + writeFile(tb, dir, "kek-1.key", strings.Repeat("ab", 32)) + `]
auth:
  ca_roots: [` + writeFile(tb, dir, "ca.pem", "x") + `]
  session_secret_file: ` + writeFile(tb, dir, "session", "x") + `
  session_ttl: 45m
`
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "kaiping.yaml", validYAML(t, dir))
	cfg, err := LoadConfig(path, []string{"KAIPING_DATABASE_MAX_CONNS=7", "KAIPING_LOG_LEVEL=debug", "OTHER=1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Blob.SecretKey != "s3cret" {
		t.Errorf("blob.secret_key from file = %q", cfg.Blob.SecretKey)
	}
	if time.Duration(cfg.Auth.SessionTTL) != 45*time.Minute {
		t.Errorf("session_ttl = %s", time.Duration(cfg.Auth.SessionTTL))
	}
	if cfg.Database.MaxConns != 7 || cfg.Log.Level != "debug" {
		t.Errorf("environment overrides not applied: max_conns %d, log.level %s", cfg.Database.MaxConns, cfg.Log.Level)
	}
	if cfg.Blob.ArchiveRetentionYears != 15 || cfg.Blob.BidsBucket != "kaiping-bids" {
		t.Errorf("defaults lost: %+v", cfg.Blob)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	valid := validYAML(t, dir)
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string // every fragment must appear in the error
	}{
		{"empty file", "", nil, []string{"database.url: required", "blob.endpoint: required", "ledger.signing_key_file: required", "auth.ca_roots: at least one"}},
		{"no KEK file", valid, []string{"KAIPING_KEK_KEY_FILES="}, []string{"kek.key_files: at least one key-encryption key file is required"}},
		{"missing KEK file", valid, []string{"KAIPING_KEK_KEY_FILES=/nonexistent/kek-9.key"}, []string{"kek.key_files[0]: cannot read /nonexistent/kek-9.key"}},
		{"two KEKs of one name", valid, []string{"KAIPING_KEK_KEY_FILES=" + filepath.Join(dir, "kek-1.key") + "," + filepath.Join(dir, "kek-1.key")}, []string{`kek.key_files[1]: another key file is also named "kek-1"`}},
		{"unknown KEK backend", valid, []string{"KAIPING_KEK_BACKEND=vault"}, []string{`kek.backend: must be "file" or "pkcs11", got "vault"`}},
		{"PKCS#11 KEK without its device", valid, []string{"KAIPING_KEK_BACKEND=pkcs11", "KAIPING_KEK_PKCS11_MECHANISM=sm4"}, []string{"kek.pkcs11.module: required", "kek.pkcs11.token_label: required", "kek.pkcs11.pin_file: required", "kek.pkcs11.key_labels: at least one", `kek.pkcs11.mechanism: mechanism "sm4"`}},
		{"unknown key", valid + "databse: {}\n", nil, []string{"field databse not found"}},
		{"bad duration", strings.Replace(valid, "45m", "forty", 1), nil, []string{`"forty" is not a duration`}},
		{"session too long", strings.Replace(valid, "45m", "48h", 1), nil, []string{"auth.session_ttl: must be between 1m and 24h"}},
		{"not a postgres url", valid, []string{"KAIPING_DATABASE_URL=mysql://x"}, []string{"database.url: must start with postgres://"}},
		{"endpoint with scheme", valid, []string{"KAIPING_BLOB_ENDPOINT=http://127.0.0.1:9000"}, []string{"blob.endpoint: host:port only"}},
		{"retention under 15 years", valid, []string{"KAIPING_BLOB_ARCHIVE_RETENTION_YEARS=10"}, []string{"at least 15 years, got 10"}},
		{"bad number in env", valid, []string{"KAIPING_DATABASE_MAX_CONNS=many"}, []string{"database.max_conns (KAIPING_DATABASE_MAX_CONNS)", "not a whole number"}},
		{"missing key file", valid, []string{"KAIPING_LEDGER_SIGNING_KEY_FILE=/nonexistent/ledger.key"}, []string{"ledger.signing_key_file: cannot read /nonexistent/ledger.key"}},
		{"secret given twice", valid, []string{"KAIPING_BLOB_SECRET_KEY=also"}, []string{"blob.secret_key and blob.secret_key_file are both set"}},
		{"same bucket twice", valid, []string{"KAIPING_BLOB_ARCHIVE_BUCKET=kaiping-bids"}, []string{"blob.archive_bucket: must differ"}},
		{"bad log level", valid, []string{"KAIPING_LOG_LEVEL=loud"}, []string{`log.level: must be debug, info, warn or error, got "loud"`}},
		{"unknown media backend", valid, []string{"KAIPING_MEDIA_BACKEND=janus"}, []string{`media.backend: must be "embedded" or "livekit", got "janus"`}},
		{"livekit without its server", valid, []string{"KAIPING_MEDIA_BACKEND=livekit"}, []string{"media.livekit.url: required", "media.livekit.api_key: required", "media.livekit.api_secret_file: required"}},
		{"SMTP without port or sender", valid, []string{"KAIPING_NOTIFY_SMTP_HOST=smtp.example.cn"}, []string{"notify.smtp.port: a port from 1 to 65535", "notify.smtp.from:"}},
		{"SMTP in the clear off loopback", valid, []string{"KAIPING_NOTIFY_SMTP_HOST=smtp.example.cn", "KAIPING_NOTIFY_SMTP_PORT=587",
			"KAIPING_NOTIFY_SMTP_FROM=noreply@example.cn", "KAIPING_NOTIFY_SMTP_STARTTLS_OFF=true", "KAIPING_NOTIFY_SMTP_USERNAME=u"},
			[]string{"notify.smtp.starttls_off: only for a relay on loopback", "notify.smtp: username and password_file go together"}},
		{"webhook in the clear without a secret", valid, []string{"KAIPING_NOTIFY_WEBHOOK_URL=http://sms.example.cn/hook"},
			[]string{"notify.webhook.url: an https URL is needed", "notify.webhook.secret_file: required"}},
		{"half a bootstrap admin", valid + "  bootstrap_admin: {name: 管理员}\n", nil, []string{"auth.bootstrap_admin.certificate_file: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "kaiping.yaml", tt.yaml)
			_, err := LoadConfig(path, tt.env)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml"), nil); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// removeAllRetry removes dir, retrying while a stopped server may still be writing into it.
func removeAllRetry(dir string) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func TestEvaluationConfigBounds(t *testing.T) {
	c := DefaultConfig()
	if err := c.Evaluation.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, bad := range map[string]func(*EvaluationConfig){
		"a suspension limit of zero": func(e *EvaluationConfig) { e.SuspendDuringReview = 0 },
		"a lead over a day":          func(e *EvaluationConfig) { e.CheckInLead = Duration(25 * time.Hour) },
		"a grace under a minute":     func(e *EvaluationConfig) { e.SeatGrace = Duration(time.Second) },
		"a publication under 3 days": func(e *EvaluationConfig) { e.PublicationMinimum = Duration(72*time.Hour - time.Minute) },
	} {
		e := c.Evaluation
		bad(&e)
		if err := e.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c.Evaluation.SuspendBeforeReview = Duration(90 * time.Minute)
	if got := c.Evaluation.rules().SuspendBeforeReview; got != 90*time.Minute {
		t.Errorf("rules carry %s", got)
	}
	if got := c.Evaluation.rules().PublicationMinimum; got != 72*time.Hour {
		t.Errorf("the default publication minimum is %s, want 72h", got)
	}
	c.Evaluation.PublicationMinimum = Duration(5 * 24 * time.Hour)
	if err := c.Evaluation.validate(); err != nil {
		t.Errorf("a 5-day minimum: %v", err)
	}
	if got := c.Evaluation.rules().PublicationMinimum; got != 5*24*time.Hour {
		t.Errorf("rules carry a publication minimum of %s", got)
	}
}

package app

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/notice"
)

// NotifyConfig is how notices leave the platform besides the inbox, which is always on.
type NotifyConfig struct {
	SMTP    SMTPConfig    `yaml:"smtp"`
	Webhook WebhookConfig `yaml:"webhook"`
	// Interval is how often the outbox is read (default 5s); Backoff the wait after a first
	// failure, doubled each time up to MaxBackoff (defaults 30s and 30m); Attempts how many
	// tries a delivery gets before it is given up (default 10).
	Interval   Duration `yaml:"interval"`
	Backoff    Duration `yaml:"backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
	Attempts   int      `yaml:"attempts"`
}

// SMTPConfig is the mail server (notify.smtp); empty host: no e-mail.
type SMTPConfig struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	From string `yaml:"from"`
	// Username and the file holding its password, when the server wants AUTH.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// StartTLS is required except for a relay on loopback; it defaults to on (set
	// notify.smtp.starttls_off: true for a loopback relay).
	StartTLSOff bool `yaml:"starttls_off"`
}

// WebhookConfig is the SMS/voice gateway (notify.webhook); empty url: no gateway.
type WebhookConfig struct {
	URL string `yaml:"url"`
	// SecretFile holds the HMAC key (at least 32 bytes) the requests are signed with.
	SecretFile string `yaml:"secret_file"`
}

// validate adds notify's problems to bad.
func (c NotifyConfig) validate(bad func(string, ...any)) {
	if s := c.SMTP; s.Host != "" {
		if s.Port <= 0 || s.Port > 65535 {
			bad("notify.smtp.port: a port from 1 to 65535 is needed")
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			bad("notify.smtp.from: %v", err)
		}
		if s.StartTLSOff && !loopbackHost(s.Host) {
			bad("notify.smtp.starttls_off: only for a relay on loopback")
		}
		if (s.Username == "") != (s.PasswordFile == "") {
			bad("notify.smtp: username and password_file go together")
		}
	}
	if w := c.Webhook; w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
			bad("notify.webhook.url: an https URL is needed (http on loopback only)")
		}
		if w.SecretFile == "" {
			bad("notify.webhook.secret_file: required with notify.webhook.url")
		}
	}
	if c.Attempts < 0 {
		bad("notify.attempts: not negative")
	}
}

func loopbackHost(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

// notifyChannels builds the senders the configuration names.
func notifyChannels(c NotifyConfig, clock kaiping.Clock) (map[string]notice.Sender, error) {
	out := map[string]notice.Sender{}
	if s := c.SMTP; s.Host != "" {
		cfg := notice.SMTPConfig{Host: s.Host, Port: s.Port, From: s.From, Username: s.Username, StartTLS: !s.StartTLSOff}
		if s.PasswordFile != "" {
			b, err := os.ReadFile(s.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("notify.smtp.password_file: %w", err)
			}
			cfg.Password = strings.TrimSpace(string(b))
		}
		m, err := notice.NewSMTPSender(cfg, clock)
		if err != nil {
			return nil, err
		}
		out[notice.ChannelEmail] = m
	}
	if w := c.Webhook; w.URL != "" {
		secret, err := os.ReadFile(w.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("notify.webhook.secret_file: %w", err)
		}
		h, err := notice.NewWebhookSender(w.URL, []byte(strings.TrimSpace(string(secret))), nil, clock)
		if err != nil {
			return nil, fmt.Errorf("notify.webhook: %w", err)
		}
		out[notice.ChannelWebhook] = h
	}
	return out, nil
}

func (c NotifyConfig) worker() notice.WorkerConfig {
	return notice.WorkerConfig{Interval: time.Duration(c.Interval), Backoff: time.Duration(c.Backoff),
		MaxBackoff: time.Duration(c.MaxBackoff), Attempts: c.Attempts}
}

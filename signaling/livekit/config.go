package livekit

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config configures the LiveKit backend. Zero durations and limits take the defaults below.
type Config struct {
	// URL is the LiveKit server's WebSocket URL as participants reach it, put into every grant
	// (e.g. "wss://media.example.cn").
	URL string
	// APIURL is where this process reaches the server's Twirp API (RoomService); "" derives
	// it from URL (ws→http, wss→https). Set it when the API is reached on an internal address.
	APIURL string
	// APIKey and APISecret are one of the keys of the server's `keys:` section: grants are
	// signed with them and RoomService calls authenticated with them.
	APIKey    string
	APISecret string
	// WebhookKey is the key the server signs webhooks with (its `webhook.api_key`) and
	// WebhookSecret that key's secret; both default to APIKey and APISecret.
	WebhookKey    string
	WebhookSecret string

	// GrantTTL is how long a grant may be used to join. Default 5 minutes. LiveKit accepts a
	// token up to one minute past its expiry (clock-skew leeway), so the token's own expiry
	// is set one minute before Grant.Expires: the server stops taking it at Grant.Expires.
	GrantTTL time.Duration
	// MaxParticipants is the default bound of a room. Default 500.
	MaxParticipants int
	// RoomIdleTimeout is how long LiveKit keeps a room without participants before closing
	// it by itself (its empty and departure timeouts). Default 12 h: a room is meant to live
	// until CloseRoom, as on the embedded backend.
	RoomIdleTimeout time.Duration
	// EnforceInterval is how often rooms with subscription-restricted participants are
	// checked and corrected (see enforce.go). Default 2 s.
	EnforceInterval time.Duration
	// CallTimeout bounds each RoomService call. Default 10 s.
	CallTimeout time.Duration
}

// grantLeeway is the leeway LiveKit grants a token's expiry (protocol/auth tokenLeeway).
const grantLeeway = time.Minute

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.GrantTTL, 5*time.Minute)
	def(&c.RoomIdleTimeout, 12*time.Hour)
	def(&c.EnforceInterval, 2*time.Second)
	def(&c.CallTimeout, 10*time.Second)
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 500
	}
	if c.WebhookKey == "" {
		c.WebhookKey = c.APIKey
	}
	if c.WebhookSecret == "" {
		c.WebhookSecret = c.APISecret
	}
	if c.APIURL == "" {
		if u, err := url.Parse(c.URL); err == nil {
			switch u.Scheme {
			case "ws":
				u.Scheme = "http"
			case "wss":
				u.Scheme = "https"
			}
			c.APIURL = u.String()
		}
	}
	return c
}

// Validate reports the first configuration error.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("LiveKit URL %q must be a ws:// or wss:// URL", c.URL)
	}
	if c.APIURL != "" {
		a, err := url.Parse(c.APIURL)
		if err != nil || (a.Scheme != "http" && a.Scheme != "https") || a.Host == "" {
			return fmt.Errorf("LiveKit API URL %q must be an http:// or https:// URL", c.APIURL)
		}
	}
	if c.APIKey == "" || c.APISecret == "" {
		return errors.New("LiveKit API key and secret are required")
	}
	// LiveKit logs secrets shorter than 32 characters as insecure; we refuse them.
	if len(c.APISecret) < 32 {
		return fmt.Errorf("LiveKit API secret must be at least 32 characters, got %d", len(c.APISecret))
	}
	if c.GrantTTL != 0 && c.GrantTTL <= 2*grantLeeway {
		return fmt.Errorf("grant TTL must be longer than %s (LiveKit's expiry leeway is %s)", 2*grantLeeway, grantLeeway)
	}
	if c.RoomIdleTimeout < 0 || c.RoomIdleTimeout.Seconds() > float64(^uint32(0)) {
		return errors.New("room idle timeout out of range")
	}
	return nil
}

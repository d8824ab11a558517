package livekit

import (
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

func TestConfig(t *testing.T) {
	secret := strings.Repeat("s", 32)
	ok := Config{URL: "wss://media.example.cn", APIKey: "k", APISecret: secret}
	tests := []struct {
		name  string
		tune  func(*Config)
		fails string // part of the error; "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"internal API URL", func(c *Config) { c.APIURL = "http://10.0.0.5:7880" }, ""},
		{"no URL", func(c *Config) { c.URL = "" }, "ws:// or wss://"},
		{"http URL", func(c *Config) { c.URL = "http://media.example.cn" }, "ws:// or wss://"},
		{"ws API URL", func(c *Config) { c.APIURL = "ws://media.example.cn" }, "http:// or https://"},
		{"no key", func(c *Config) { c.APIKey = "" }, "key and secret"},
		{"short secret", func(c *Config) { c.APISecret = "short" }, "at least 32"},
		{"TTL within the leeway", func(c *Config) { c.GrantTTL = 2 * time.Minute }, "grant TTL"},
		{"negative idle timeout", func(c *Config) { c.RoomIdleTimeout = -time.Second }, "idle timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.tune(&cfg)
			c, err := New(cfg, nil, kaiping.SystemClock{}, testLog())
			if c != nil {
				defer c.Close()
			}
			if tt.fails == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.fails) {
				t.Fatalf("error %v, want one about %q", err, tt.fails)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	secret := strings.Repeat("s", 32)
	tests := []struct{ url, api, want string }{
		{"ws://127.0.0.1:7880", "", "http://127.0.0.1:7880"},
		{"wss://media.example.cn", "", "https://media.example.cn"},
		{"wss://media.example.cn", "http://10.0.0.5:7880", "http://10.0.0.5:7880"},
	}
	for _, tt := range tests {
		c := Config{URL: tt.url, APIURL: tt.api, APIKey: "k", APISecret: secret}.withDefaults()
		if c.APIURL != tt.want || c.WebhookKey != "k" || c.WebhookSecret != secret || c.GrantTTL != 5*time.Minute {
			t.Errorf("%s, %s: defaults %+v", tt.url, tt.api, c)
		}
	}
}

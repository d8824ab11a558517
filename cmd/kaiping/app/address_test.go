package app

import (
	"context"
	"net/http"
	"testing"

	"github.com/kaiping/kaiping/clients/apiclient"
)

// forwarding adds X-Forwarded-For to every request, as a load balancer (or a liar) would.
type forwarding struct{ xff string }

func (f forwarding) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if f.xff != "-" {
		r.Header.Set("X-Forwarded-For", f.xff)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestLedgerAddressBehindProxy logs in through a trusted proxy (the test itself, on
// loopback) with X-Forwarded-For headers a client could forge, and checks the address the
// ledger records: the rightmost untrusted one, never a blank or a forged one.
func TestLedgerAddressBehindProxy(t *testing.T) {
	ta := mustAppWith(t, func(c *Config) { c.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8"} })
	ctx := context.Background()
	tests := []struct {
		name, xff string
		address   string // "" = refused
	}{
		{"one client address", "203.0.113.9", "203.0.113.9"},
		{"forged entry on the left", "6.6.6.6, 203.0.113.9", "203.0.113.9"},
		{"inner proxy hop", "6.6.6.6, 203.0.113.9, 10.2.3.4", "203.0.113.9"},
		{"blank", "", ""},
		{"garbage", "203.0.113.9, not-an-address", ""},
		{"no header from the proxy", "-", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := apiclient.New(ta.base)
			c.HTTP = &http.Client{Transport: forwarding{tt.xff}}
			_, err := c.Login(ctx, ta.setup.Admin.CertPEM(), ta.setup.Admin.Key)
			if tt.address == "" {
				if code := apiCode(err); code != "request.address_unknown" {
					t.Fatalf("login with X-Forwarded-For %q: %v, want request.address_unknown", tt.xff, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var addr string
			if err := ta.DB.Pool.QueryRow(ctx, `SELECT address FROM ledger_entries WHERE action = 'auth.login' ORDER BY seq DESC LIMIT 1`).Scan(&addr); err != nil {
				t.Fatal(err)
			}
			if addr != tt.address {
				t.Fatalf("ledger address %q, want %q", addr, tt.address)
			}
		})
	}
}

package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMetricsAfterMixedTraffic sends requests of several methods over one kept-alive
// connection, so that fiber reuses its request buffer between them, then scrapes the
// metrics: every label must still read as it was counted.
func TestMetricsAfterMixedTraffic(t *testing.T) {
	ta := mustApp(t)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	traffic := []struct{ method, path string }{
		{"GET", "/healthz"},
		{"POST", "/api/v1/auth/challenge"},
		{"DELETE", "/api/v1/me"},
		{"OPTIONS", "/api/v1/principals"},
		{"PUT", "/api/v1/nothing/here"},
		{"GET", "/api/v1/me"},
		{"PATCH", "/healthz"},
		{"HEAD", "/healthz"},
		// Two methods of one length answered alike: once their labels alias the buffer,
		// both read the same and the scrape fails on the duplicate.
		{"GET", "/api/v1/auth/challenge"},
		{"PUT", "/api/v1/auth/challenge"},
	}
	for range 5 {
		for _, r := range traffic {
			req, _ := http.NewRequest(r.method, ta.base+r.path, strings.NewReader("{}"))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resp, err := client.Get(ta.metricsURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics after mixed traffic: %s\n%s", resp.Status, body)
	}
	for _, want := range []string{
		`kaiping_http_requests_total{method="GET",route="/healthz",status="200"} 5`,
		`kaiping_http_requests_total{method="POST",route="/api/v1/auth/challenge",status="200"} 5`,
		`method="DELETE"`, `method="PATCH"`, `method="OPTIONS"`, `method="PUT"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

// TestAPIAnswerHeaders: every API answer, error or not, forbids caching and sniffing.
func TestAPIAnswerHeaders(t *testing.T) {
	ta := mustApp(t)
	admin := ta.mustLogin(t, ta.setup.Admin)
	tests := []struct {
		method, path, token string
		status              int
	}{
		{"POST", "/api/v1/auth/challenge", "", 200},
		{"GET", "/api/v1/me", admin.Token, 200},
		{"GET", "/api/v1/me", "", 401},
		{"GET", "/api/v1/principals", admin.Token, 200},
		{"GET", "/api/v1/nothing", "", 404},
		{"POST", "/api/v1/auth/login", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path+fmt.Sprint(tt.status), func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ta.base+tt.path, strings.NewReader("{}"))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %s, want %d", resp.Status, tt.status)
			}
			if cc, nosniff := resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"); cc != "no-store" || nosniff != "nosniff" {
				t.Fatalf("Cache-Control %q, X-Content-Type-Options %q", cc, nosniff)
			}
		})
	}
}

// TestShutdownRightAfterStart: a test that fails at once shuts the app down before Serve's
// listeners are up; Shutdown must still return (the operations listener's job once waited
// forever for a server that started after fiber's shutdown).
func TestShutdownRightAfterStart(t *testing.T) {
	setup := mustSetup(t)
	for i := range 3 {
		a, err := New(context.Background(), setup.Config, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = a.Serve(ln) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		done := make(chan struct{})
		go func() { _ = a.Shutdown(ctx); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: Shutdown right after Serve did not return", i)
		}
		cancel()
		ln.Close()
	}
}

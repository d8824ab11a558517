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

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
)

// closedPort is a loopback port nothing listens on.
func closedPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestUnreachableDependencies(t *testing.T) {
	quiet := WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Run("postgres", func(t *testing.T) {
		setup := mustSetup(t)
		setup.Config.Database.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/kaiping?connect_timeout=2", closedPort(t))
		_, err := New(context.Background(), setup.Config, quiet)
		if kaiping.KindOf(err) != kaiping.KindUnavailable || !strings.Contains(err.Error(), "PostgreSQL at postgres://") {
			t.Fatalf("err = %v (kind %s), want unavailable naming PostgreSQL", err, kaiping.KindOf(err))
		}
	})
	t.Run("object storage", func(t *testing.T) {
		setup := mustSetup(t)
		setup.Config.Blob.Endpoint = fmt.Sprintf("127.0.0.1:%d", closedPort(t))
		_, err := New(context.Background(), setup.Config, quiet)
		if kaiping.KindOf(err) != kaiping.KindUnavailable || !strings.Contains(err.Error(), "object storage at 127.0.0.1") {
			t.Fatalf("err = %v (kind %s), want unavailable naming the object storage", err, kaiping.KindOf(err))
		}
	})
}

// TestReadyzWhenStorageGoesAway starts the app on a MinIO of its own, stops that MinIO, and
// expects /readyz to say which dependency failed while /healthz stays up.
func TestReadyzWhenStorageGoesAway(t *testing.T) {
	dir, err := devenv.MkdirTemp("kaiping-readyz-*")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = removeAllRetry(dir) }()
	m, err := devenv.StartMinIO(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	setup := mustSetup(t)
	setup.Config.Blob.Endpoint, setup.Config.Blob.AccessKey, setup.Config.Blob.SecretKey = m.Endpoint, m.AccessKey, m.SecretKey
	a, err := New(context.Background(), setup.Config, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = a.Serve(ln) }()
	defer a.Shutdown(context.Background())
	base := "http://" + ln.Addr().String()

	if status, _ := get(t, base+"/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz before = %d", status)
	}
	m.Stop()
	// The details are on the operations listener; the public answer says only that.
	status, body := get(t, "http://"+a.InternalAddr()+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"postgres":"ok"`) || strings.Contains(body, `"object_storage":"ok"`) {
		t.Errorf("internal /readyz after MinIO stopped = %d %s", status, body)
	}
	if status, body := get(t, base+"/readyz"); status != http.StatusServiceUnavailable || body != `{"status":"unavailable"}` {
		t.Errorf("public /readyz after MinIO stopped = %d %s", status, body)
	}
	if status, _ := get(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz = %d, want 200: the process itself is fine", status)
	}
}

func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

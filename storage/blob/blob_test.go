package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/blob"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedMinIO) }

// testRetention is how long test objects stay locked: short, since COMPLIANCE objects cannot
// be removed before it ends (the MinIO data folder is deleted with the test binary's temp dir).
const testRetention = 24 * time.Hour

// mustStore returns a Store on the shared MinIO server.
func mustStore(tb testing.TB) *blob.Store {
	tb.Helper()
	m := devenv.MinIOServer(tb)
	s, err := blob.New(blob.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		tb.Fatalf("blob.New: %v", err)
	}
	serverReady.Do(func() { serverReadyErr = waitServerReady(s) })
	if serverReadyErr != nil {
		tb.Fatalf("MinIO never served bucket requests: %v", serverReadyErr)
	}
	return s
}

var (
	serverReady    sync.Once
	serverReadyErr error
)

// waitServerReady waits until MinIO serves bucket-level requests. Its /minio/health/ready,
// which devenv waits for, answers 200 a moment before that: a bucket call made at once fails
// about one run in three with XMinioServerNotInitialized ("Server not initialized yet"), which
// minio-go does not retry while looking up the bucket's region.
func waitServerReady(s *blob.Store) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Stat(context.Background(), "kaiping-readiness-probe", "probe")
		if !kaiping.IsKind(err, kaiping.KindUnavailable) || time.Now().After(deadline) {
			if kaiping.IsKind(err, kaiping.KindNotFound) {
				return nil
			}
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mustBucket creates this test's own bucket, with Object Lock, through the code under test.
func mustBucket(tb testing.TB, s *blob.Store) string {
	tb.Helper()
	name := devenv.BucketName(tb)
	if err := s.EnsureBucket(context.Background(), name); err != nil {
		tb.Fatalf("EnsureBucket(%s): %v", name, err)
	}
	return name
}

// mustRaw returns a plain minio-go client with root credentials, to do what the adapter
// refuses to do and show that the server itself refuses it too.
func mustRaw(tb testing.TB) *minio.Client {
	tb.Helper()
	c, err := devenv.MinIOServer(tb).Client()
	if err != nil {
		tb.Fatalf("minio client: %v", err)
	}
	return c
}

// mustPut writes data at bucket/key and returns what Put reported.
func mustPut(tb testing.TB, s *blob.Store, bucket, key string, data []byte, opts blob.PutOptions) blob.ObjectInfo {
	tb.Helper()
	info, err := s.Put(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		tb.Fatalf("Put(%s/%s): %v", bucket, key, err)
	}
	return info
}

// mustRead reads a whole version through the adapter.
func mustRead(tb testing.TB, s *blob.Store, bucket, key, versionID string) []byte {
	tb.Helper()
	rc, _, err := s.GetVersion(context.Background(), bucket, key, versionID)
	if err != nil {
		tb.Fatalf("GetVersion(%s/%s@%s): %v", bucket, key, versionID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("read %s/%s@%s: %v", bucket, key, versionID, err)
	}
	return b
}

// mustStat stats a version through the adapter.
func mustStat(tb testing.TB, s *blob.Store, bucket, key, versionID string) blob.ObjectInfo {
	tb.Helper()
	info, err := s.StatVersion(context.Background(), bucket, key, versionID)
	if err != nil {
		tb.Fatalf("StatVersion(%s/%s@%s): %v", bucket, key, versionID, err)
	}
	return info
}

// randomBytes returns n bytes from a seeded generator, so failures reproduce.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// wantError fails unless err is a *kaiping.Error of kind and code.
func wantError(tb testing.TB, err error, kind kaiping.Kind, code string) {
	tb.Helper()
	var ke *kaiping.Error
	if !errors.As(err, &ke) {
		tb.Fatalf("error = %v (%T), want a *kaiping.Error %s/%s", err, err, kind, code)
	}
	if ke.Kind != kind || ke.Code != code {
		tb.Fatalf("error = %v, want kind %s code %s (got %s %s)", err, kind, code, ke.Kind, ke.Code)
	}
}

func TestUnreachableStoreIsUnavailable(t *testing.T) {
	// A port that was free a moment ago: nothing listens there, connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			// Read requests, answer nothing, until the client gives up and hangs up.
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()

	tests := []struct {
		name     string
		endpoint string
		call     func(context.Context, *blob.Store) error
		timeout  time.Duration // the caller's deadline; 0 for none
		within   time.Duration
	}{
		// A refused connection is a definite answer: Ping does not retry for seconds.
		{"ping refused", refused, func(ctx context.Context, s *blob.Store) error { return s.Ping(ctx) }, 0, time.Second},
		{"ping silent", silent.Addr().String(), func(ctx context.Context, s *blob.Store) error { return s.Ping(ctx) }, 0, 4 * time.Second},
		{"stat refused", refused, func(ctx context.Context, s *blob.Store) error {
			_, err := s.Stat(ctx, "bids", "k")
			return err
		}, 500 * time.Millisecond, 2 * time.Second},
		{"put refused", refused, func(ctx context.Context, s *blob.Store) error {
			_, err := s.Put(ctx, "bids", "k", strings.NewReader("x"), 1, blob.PutOptions{})
			return err
		}, 500 * time.Millisecond, 2 * time.Second},
		{"ensure silent", silent.Addr().String(), func(ctx context.Context, s *blob.Store) error {
			return s.EnsureBucket(ctx, "bids")
		}, 300 * time.Millisecond, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := blob.New(blob.Config{Endpoint: tt.endpoint, AccessKey: "k", SecretKey: "secret-key"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			err = tt.call(ctx, s)
			took := time.Since(start)
			wantError(t, err, kaiping.KindUnavailable, blob.CodeUnavailable)
			if took > tt.within {
				t.Errorf("took %s, want within %s", took, tt.within)
			}
			t.Logf("%v after %s", err, took.Round(time.Millisecond))
		})
	}
}

func TestPing(t *testing.T) {
	if err := mustStore(t).Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestNewRejectsBadEndpoint(t *testing.T) {
	for _, endpoint := range []string{"", "http://127.0.0.1:9000", "127.0.0.1:9000/path"} {
		t.Run(endpoint, func(t *testing.T) {
			_, err := blob.New(blob.Config{Endpoint: endpoint})
			wantError(t, err, kaiping.KindInvalid, "config.blob_endpoint")
		})
	}
}

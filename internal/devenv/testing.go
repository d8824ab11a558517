package devenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The servers one test binary shares; set by Main.
var (
	shared struct {
		pg    *Postgres
		minio *MinIO
	}
	counter atomic.Int64
)

// Need names a server a test binary needs.
type Need int

// The servers Main can start.
const (
	NeedPostgres Need = iota
	NeedMinIO
	// NeedSoftHSM points SoftHSM at a token folder of this test binary (SoftHSMToken).
	NeedSoftHSM
)

// Main starts the servers the package's tests need once for the whole test binary, runs the
// tests and stops the servers. Call it from TestMain:
//
//	func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres, devenv.NeedMinIO) }
//
// A server that cannot start fails the binary: tests against real servers never skip.
func Main(m *testing.M, needs ...Need) {
	os.Exit(run(m, needs))
}

func run(m *testing.M, needs []Need) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	root, err := MkdirTemp("kaiping-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(root)
	for _, n := range needs {
		switch n {
		case NeedPostgres:
			if shared.pg, err = StartPostgres(ctx, root+"/pg"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer shared.pg.Stop()
		case NeedMinIO:
			if shared.minio, err = StartMinIO(ctx, root+"/minio"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer shared.minio.Stop()
		case NeedSoftHSM:
			if err := UseSoftHSM(root + "/softhsm"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	return m.Run()
}

// OwnPostgres starts a PostgreSQL server for this test alone, stopped and removed when it
// ends: for a test that reads the server's files, which on the shared server hold every
// other test's data too.
func OwnPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	dir := ownDir(tb, "kaiping-pg-*")
	pg, err := StartPostgres(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pg.Stop) // before ownDir's removal: cleanups run last first
	return pg
}

// OwnMinIO starts a MinIO server for this test alone, stopped and removed when it ends.
func OwnMinIO(tb testing.TB) *MinIO {
	tb.Helper()
	dir := ownDir(tb, "kaiping-minio-*")
	m, err := StartMinIO(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Stop)
	return m
}

// ownDir is a folder removed when the test ends. Not tb.TempDir: that is private to us
// (0700), and as root PostgreSQL runs as another user that must reach its data inside.
func ownDir(tb testing.TB, pattern string) string {
	tb.Helper()
	dir, err := MkdirTemp(pattern)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// uniqueName returns a lowercase name unique within this test binary, derived from the test's
// name so a leftover database or bucket says where it came from.
func uniqueName(tb testing.TB, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(tb.Name()) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	suffix := fmt.Sprintf("-%d-%d", os.Getpid(), counter.Add(1))
	name := b.String()
	if room := max - len("t") - len(suffix); len(name) > room {
		name = name[:room]
	}
	return "t" + name + suffix
}

// PostgresServer returns the binary's shared PostgreSQL server; Main must have started it.
func PostgresServer(tb testing.TB) *Postgres {
	tb.Helper()
	if shared.pg == nil {
		tb.Fatal("devenv: PostgreSQL not started: call devenv.Main(m, devenv.NeedPostgres) from TestMain")
	}
	return shared.pg
}

// Database creates an empty database for this test and returns its URL; it is dropped when
// the test ends.
func Database(tb testing.TB) string {
	tb.Helper()
	pg := PostgresServer(tb)
	name := strings.ReplaceAll(uniqueName(tb, 60), "-", "_")
	ctx := context.Background()
	if err := pg.CreateDatabase(ctx, name); err != nil {
		tb.Fatalf("devenv: create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := pg.DropDatabase(context.Background(), name); err != nil {
			tb.Errorf("devenv: drop database %s: %v", name, err)
		}
	})
	return pg.URL(name)
}

// MinIOServer returns the binary's shared MinIO server; Main must have started it.
func MinIOServer(tb testing.TB) *MinIO {
	tb.Helper()
	if shared.minio == nil {
		tb.Fatal("devenv: MinIO not started: call devenv.Main(m, devenv.NeedMinIO) from TestMain")
	}
	return shared.minio
}

// Client returns a minio-go client for the shared MinIO server with root credentials.
func (m *MinIO) Client() (*minio.Client, error) {
	return minio.New(m.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		Secure: false,
	})
}

// BucketName returns a bucket name unique to this test. The bucket is not created: creating
// it (with Object Lock) is what storage/blob does and tests.
func BucketName(tb testing.TB) string {
	tb.Helper()
	MinIOServer(tb)
	return uniqueName(tb, 63)
}

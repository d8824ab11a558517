// Package apptest starts a real kaiping server for the tests of the packages that drive one
// from outside (the command line, the demonstration): its own database and buckets on the
// loopback PostgreSQL and MinIO of internal/devenv, never a mock.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/internal/devenv"
)

// Serve starts a kaiping server with opts on 127.0.0.1, with its own database and buckets,
// tune (if not nil) applied to its configuration, and stops it when the test ends. The
// setup's PublicURL is the server's address. The test binary's TestMain must run
// devenv.Main with PostgreSQL and MinIO.
func Serve(t testing.TB, tune func(*app.Config), opts ...app.Option) (*app.App, *app.DevSetup) {
	t.Helper()
	m := devenv.MinIOServer(t)
	setup, err := app.NewDevSetup(t.TempDir(), app.DevServers{
		DatabaseURL: devenv.Database(t), BlobEndpoint: m.Endpoint, BlobAccess: m.AccessKey, BlobSecret: m.SecretKey,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	setup.Config.Blob.BidsBucket, setup.Config.Blob.ArchiveBucket = devenv.BucketName(t), devenv.BucketName(t)
	// Listen first, so that the URLs the app hands out (media grants) name the real port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	setup.Config.PublicURL = "http://" + ln.Addr().String()
	if tune != nil {
		tune(&setup.Config)
	}
	quiet := app.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	a, err := app.New(context.Background(), setup.Config, append([]app.Option{quiet}, opts...)...)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	go func() { _ = a.Serve(ln) }()
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	return a, setup
}

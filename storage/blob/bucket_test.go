package blob_test

import (
	"context"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/blob"
)

func TestEnsureBucket(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	raw := mustRaw(t)
	tests := []struct {
		name     string
		prepare  func(t *testing.T, bucket string) // what exists before EnsureBucket
		wantKind kaiping.Kind
		wantCode string // empty: EnsureBucket succeeds and the bucket has Object Lock
	}{
		{name: "created with lock", prepare: func(*testing.T, string) {}},
		{name: "idempotent", prepare: func(t *testing.T, bucket string) {
			if err := s.EnsureBucket(ctx, bucket); err != nil {
				t.Fatalf("first EnsureBucket: %v", err)
			}
		}},
		{name: "made elsewhere with lock", prepare: func(t *testing.T, bucket string) {
			if err := raw.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "without lock", prepare: func(t *testing.T, bucket string) {
			if err := raw.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
		}, wantKind: kaiping.KindInvalid, wantCode: blob.CodeBucketNotLocked},
		{name: "versioned without lock", prepare: func(t *testing.T, bucket string) {
			if err := raw.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := raw.EnableVersioning(ctx, bucket); err != nil {
				t.Fatal(err)
			}
		}, wantKind: kaiping.KindInvalid, wantCode: blob.CodeBucketNotLocked},
	}
	// Subtest names stay short: devenv.BucketName derives the bucket name from the test name.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := devenv.BucketName(t)
			tt.prepare(t, bucket)
			err := s.EnsureBucket(ctx, bucket)
			if tt.wantCode != "" {
				wantError(t, err, tt.wantKind, tt.wantCode)
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("EnsureBucket: %v", err)
			}
			enabled, _, _, _, err := raw.GetObjectLockConfig(ctx, bucket)
			if err != nil || enabled != "Enabled" {
				t.Fatalf("object lock = %q, %v; want Enabled", enabled, err)
			}
		})
	}
}

func TestEnsureBucketInvalidName(t *testing.T) {
	err := mustStore(t).EnsureBucket(context.Background(), "Not_A_Bucket")
	wantError(t, err, kaiping.KindInvalid, blob.CodeInvalid)
}

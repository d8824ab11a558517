package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/blob"
)

func TestPutStatGet(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	now := time.Now()
	tests := []struct {
		name string
		data []byte
		opts blob.PutOptions
	}{
		{name: "empty", data: nil},
		{name: "small", data: []byte("开标一览表 summary envelope"), opts: blob.PutOptions{ContentType: "application/vnd.kaiping.sealed"}},
		{name: "locked", data: randomBytes(1<<20+7, 1), opts: blob.PutOptions{Retention: blob.Retention{RetainUntil: now.Add(testRetention)}}},
		// Larger than minio-go's 16 MiB multipart threshold: Put must still send one PUT, so the
		// server keeps a full-object SHA-256 rather than a checksum of part checksums.
		{name: "large", data: randomBytes(17<<20, 2), opts: blob.PutOptions{Retention: blob.Period{Days: 1}.From(now)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "bids/" + tt.name
			want := sha256Hex(tt.data)
			put := mustPut(t, s, bucket, key, tt.data, tt.opts)
			if put.SHA256 != want || put.Size != int64(len(tt.data)) || put.VersionID == "" {
				t.Errorf("Put = %+v, want SHA256 %s, size %d and a version ID", put, want, len(tt.data))
			}
			st, err := s.Stat(ctx, bucket, key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if st.SHA256 != want || st.Size != int64(len(tt.data)) || st.VersionID != put.VersionID || st.ETag != put.ETag {
				t.Errorf("Stat = %+v, want SHA256 %s, size %d, version %s, ETag %s", st, want, len(tt.data), put.VersionID, put.ETag)
			}
			if wantType := tt.opts.ContentType; wantType != "" && st.ContentType != wantType {
				t.Errorf("Stat content type = %q, want %q", st.ContentType, wantType)
			}
			if st.LastModified.IsZero() {
				t.Error("Stat: no LastModified")
			}
			if !st.Retention.RetainUntil.Equal(put.Retention.RetainUntil) || st.Retention.Mode != put.Retention.Mode {
				t.Errorf("Stat retention = %+v, Put said %+v", st.Retention, put.Retention)
			}
			if !tt.opts.Retention.IsZero() {
				if st.Retention.Mode != blob.Compliance || st.Retention.RetainUntil.Before(tt.opts.Retention.RetainUntil) ||
					st.Retention.RetainUntil.Sub(tt.opts.Retention.RetainUntil) >= time.Second {
					t.Errorf("Stat retention = %+v, want COMPLIANCE until %s rounded up to the second",
						st.Retention, tt.opts.Retention.RetainUntil)
				}
			}
			rc, gi, err := s.Get(ctx, bucket, key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tt.data) || gi.SHA256 != want {
				t.Errorf("Get: %d bytes, SHA256 %s; want %d bytes, %s", len(got), gi.SHA256, len(tt.data), want)
			}
		})
	}
}

func TestPutRefusals(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	now := time.Now()
	mustPut(t, s, bucket, "taken", []byte("first"), blob.PutOptions{})
	tests := []struct {
		name     string
		key      string
		body     io.Reader
		size     int64
		opts     blob.PutOptions
		wantKind kaiping.Kind
		wantCode string
	}{
		{"existing key", "taken", strings.NewReader("second"), 6, blob.PutOptions{}, kaiping.KindConflict, blob.CodeExists},
		{"governance", "g", strings.NewReader("x"), 1,
			blob.PutOptions{Retention: blob.Retention{Mode: blob.Governance, RetainUntil: now.Add(time.Hour)}},
			kaiping.KindInvalid, blob.CodeRetention},
		{"mode without date", "m", strings.NewReader("x"), 1,
			blob.PutOptions{Retention: blob.Retention{Mode: blob.Compliance}}, kaiping.KindInvalid, blob.CodeRetention},
		{"retain until past", "p", strings.NewReader("x"), 1,
			blob.PutOptions{Retention: blob.Retention{RetainUntil: now.Add(-time.Hour)}}, kaiping.KindInvalid, blob.CodeInvalid},
		{"unknown size", "u", strings.NewReader("x"), -1, blob.PutOptions{}, kaiping.KindInvalid, blob.CodeInvalid},
		{"short body", "s", strings.NewReader("abc"), 10, blob.PutOptions{}, kaiping.KindInvalid, blob.CodeInvalid},
		{"broken body", "b", io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errors.New("disk gone"))), 10,
			blob.PutOptions{}, kaiping.KindInternal, "internal"},
		{"no bucket", "k", strings.NewReader("x"), 1, blob.PutOptions{}, kaiping.KindNotFound, blob.CodeNoBucket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bucket
			if tt.wantCode == blob.CodeNoBucket {
				b = "no-such-bucket-kaiping"
			}
			_, err := s.Put(ctx, b, tt.key, tt.body, tt.size, tt.opts)
			wantError(t, err, tt.wantKind, tt.wantCode)
		})
	}
	if got := mustRead(t, s, bucket, "taken", ""); string(got) != "first" {
		t.Errorf("after refused overwrite, taken = %q, want %q", got, "first")
	}
	for _, key := range []string{"g", "m", "p", "u", "s", "b"} {
		if _, err := s.Stat(ctx, bucket, key); !kaiping.IsKind(err, kaiping.KindNotFound) {
			t.Errorf("Stat(%s) after refused Put: %v, want not found", key, err)
		}
	}
}

func TestStatMissing(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	info := mustPut(t, s, bucket, "present", []byte("x"), blob.PutOptions{})
	tests := []struct {
		name, bucket, key, versionID string
		wantCode                     string
	}{
		{"key", bucket, "absent", "", blob.CodeNotFound},
		{"version", bucket, "present", "00000000-0000-4000-8000-000000000000", blob.CodeNotFound},
		{"version of other key", bucket, "absent", info.VersionID, blob.CodeNotFound},
		{"bucket", "no-such-bucket-kaiping", "present", "", blob.CodeNoBucket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.StatVersion(ctx, tt.bucket, tt.key, tt.versionID)
			wantError(t, err, kaiping.KindNotFound, tt.wantCode)
			_, _, err = s.GetVersion(ctx, tt.bucket, tt.key, tt.versionID)
			if !kaiping.IsKind(err, kaiping.KindNotFound) {
				t.Errorf("GetVersion: %v, want not found", err)
			}
		})
	}
}

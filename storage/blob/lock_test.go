package blob_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/blob"
)

// TestLockedObject shows, against the real server, that an object written under COMPLIANCE
// retention cannot be deleted, overwritten or unlocked early: neither through this package nor
// with root credentials and a plain S3 client.
func TestLockedObject(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	raw := mustRaw(t)
	bucket := mustBucket(t, s)
	now := time.Now()

	tests := []struct {
		name string
		// try does what must be refused (or, for extend, allowed) to the locked version orig.
		try func(t *testing.T, key string, orig blob.ObjectInfo)
	}{
		{"delete by key", func(t *testing.T, key string, orig blob.ObjectInfo) {
			wantError(t, s.Delete(ctx, bucket, key, ""), kaiping.KindConflict, blob.CodeLocked)
		}},
		{"delete by version", func(t *testing.T, key string, orig blob.ObjectInfo) {
			wantError(t, s.Delete(ctx, bucket, key, orig.VersionID), kaiping.KindConflict, blob.CodeLocked)
		}},
		{"raw delete version", func(t *testing.T, key string, orig blob.ObjectInfo) {
			err := raw.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: orig.VersionID})
			if err == nil {
				t.Fatal("the server deleted a locked version")
			}
			t.Logf("server refused: %v", err)
			// GovernanceBypass means nothing to a COMPLIANCE lock.
			err = raw.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: orig.VersionID, GovernanceBypass: true})
			if err == nil {
				t.Fatal("the server deleted a locked version with governance bypass")
			}
		}},
		{"raw delete marker", func(t *testing.T, key string, orig blob.ObjectInfo) {
			// A DELETE without a version ID only adds a delete marker, which S3 allows on a
			// locked object: the key looks gone, the locked version is all there.
			if err := raw.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
				t.Fatalf("delete marker: %v", err)
			}
			if _, err := s.Stat(ctx, bucket, key); !kaiping.IsKind(err, kaiping.KindNotFound) {
				t.Errorf("Stat behind a delete marker: %v, want not found", err)
			}
		}},
		{"overwrite", func(t *testing.T, key string, orig blob.ObjectInfo) {
			_, err := s.Put(ctx, bucket, key, bytes.NewReader([]byte("forged")), 6, blob.PutOptions{})
			wantError(t, err, kaiping.KindConflict, blob.CodeExists)
			if st := mustStat(t, s, bucket, key, ""); st.VersionID != orig.VersionID {
				t.Errorf("current version = %s, want still %s", st.VersionID, orig.VersionID)
			}
		}},
		{"raw overwrite", func(t *testing.T, key string, orig blob.ObjectInfo) {
			// Without our condition a PUT succeeds, but only as a new version on top.
			forged := []byte("forged bid")
			up, err := raw.PutObject(ctx, bucket, key, bytes.NewReader(forged), int64(len(forged)), minio.PutObjectOptions{})
			if err != nil {
				t.Fatalf("raw put: %v", err)
			}
			if up.VersionID == orig.VersionID {
				t.Fatalf("raw put replaced version %s", orig.VersionID)
			}
			if got := mustRead(t, s, bucket, key, up.VersionID); !bytes.Equal(got, forged) {
				t.Errorf("new version = %q", got)
			}
		}},
		{"shorten retention", func(t *testing.T, key string, orig blob.ObjectInfo) {
			shorter := blob.Retention{RetainUntil: orig.Retention.RetainUntil.Add(-time.Hour)}
			wantError(t, s.SetRetention(ctx, bucket, key, orig.VersionID, shorter), kaiping.KindConflict, blob.CodeLocked)
			wantError(t, s.SetRetention(ctx, bucket, key, "", shorter), kaiping.KindConflict, blob.CodeLocked)
		}},
		{"remove retention", func(t *testing.T, key string, orig blob.ObjectInfo) {
			wantError(t, s.SetRetention(ctx, bucket, key, orig.VersionID, blob.Retention{}), kaiping.KindInvalid, blob.CodeRetention)
			// Root with a plain client: an empty retention, and a switch to GOVERNANCE (which
			// could then be bypassed), are both refused by the server.
			err := raw.PutObjectRetention(ctx, bucket, key, minio.PutObjectRetentionOptions{VersionID: orig.VersionID})
			if err == nil {
				t.Error("the server removed a COMPLIANCE retention")
			}
			t.Logf("empty retention refused: %v", err)
			gov := minio.Governance
			until := orig.Retention.RetainUntil
			err = raw.PutObjectRetention(ctx, bucket, key, minio.PutObjectRetentionOptions{
				VersionID: orig.VersionID, Mode: &gov, RetainUntilDate: &until, GovernanceBypass: true})
			if err == nil {
				t.Error("the server turned COMPLIANCE into GOVERNANCE")
			}
			t.Logf("switch to GOVERNANCE refused: %v", err)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "tender-1/bid-" + string(rune('a'+i))
			content := randomBytes(64<<10, uint64(i))
			orig := mustPut(t, s, bucket, key, content, blob.PutOptions{Retention: blob.Period{Days: 1}.From(now)})
			tt.try(t, key, orig)
			// Whatever was tried, the locked version is there, byte for byte, still locked
			// until the same date.
			after := mustStat(t, s, bucket, key, orig.VersionID)
			if after.SHA256 != orig.SHA256 || after.Size != orig.Size || after.ETag != orig.ETag {
				t.Errorf("locked version changed: %+v, was %+v", after, orig)
			}
			if after.Retention != orig.Retention {
				t.Errorf("retention = %+v, want %+v", after.Retention, orig.Retention)
			}
			if got := mustRead(t, s, bucket, key, orig.VersionID); !bytes.Equal(got, content) {
				t.Errorf("locked version content changed (%d bytes, SHA256 %s)", len(got), sha256Hex(got))
			}
		})
	}
}

func TestExtendRetention(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	orig := mustPut(t, s, bucket, "archive/recording.webm", []byte("vp8"), blob.PutOptions{Retention: blob.Period{Days: 1}.From(time.Now())})
	tests := []struct {
		name      string
		versionID string
		add       time.Duration
	}{
		{"by version", orig.VersionID, time.Hour},
		{"current", "", 24 * time.Hour},
		{"same date", orig.VersionID, 0},
	}
	until := orig.Retention.RetainUntil
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			until = until.Add(tt.add)
			if err := s.SetRetention(ctx, bucket, "archive/recording.webm", tt.versionID, blob.Retention{RetainUntil: until}); err != nil {
				t.Fatalf("SetRetention: %v", err)
			}
			got := mustStat(t, s, bucket, "archive/recording.webm", orig.VersionID).Retention
			if got.Mode != blob.Compliance || !got.RetainUntil.Equal(until) {
				t.Errorf("retention = %+v, want COMPLIANCE until %s", got, until)
			}
		})
	}
}

func TestDeleteUnlocked(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	first := mustPut(t, s, bucket, "draft", []byte("v1"), blob.PutOptions{})
	if err := s.Delete(ctx, bucket, "draft", first.VersionID); err != nil {
		t.Fatalf("Delete of an unlocked version: %v", err)
	}
	if _, err := s.StatVersion(ctx, bucket, "draft", first.VersionID); !kaiping.IsKind(err, kaiping.KindNotFound) {
		t.Errorf("Stat after Delete: %v, want not found", err)
	}
	wantError(t, s.Delete(ctx, bucket, "draft", ""), kaiping.KindNotFound, blob.CodeNotFound)
}

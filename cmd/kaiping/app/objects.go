package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/blob"
)

// bidObjects adapts the blob store's bids bucket to what opening's submission needs.
type bidObjects struct {
	store  *blob.Store
	bucket string
	// completed, if set, runs after storage completed a multipart upload and before the
	// answer goes back: tests stop the server there, as a crash would.
	completed func(ctx context.Context, key string) error
}

var _ opening.Objects = bidObjects{}

// InitiateMultipart opens an upload without retention: a refused envelope must be deletable;
// only accepted ones are locked (Lock).
func (o bidObjects) InitiateMultipart(ctx context.Context, key string) (string, error) {
	return o.store.InitiateMultipart(ctx, o.bucket, key, blob.PutOptions{ContentType: "application/vnd.kaiping.sealed"})
}

func (o bidObjects) PresignPart(ctx context.Context, key, uploadID string, part int, size int64, expiry time.Duration) (*url.URL, error) {
	return o.store.PresignPart(ctx, o.bucket, key, uploadID, part, size, expiry)
}

func (o bidObjects) ListParts(ctx context.Context, key, uploadID string) ([]opening.Part, error) {
	ps, err := o.store.ListParts(ctx, o.bucket, key, uploadID)
	out := make([]opening.Part, len(ps))
	for i, p := range ps {
		out[i] = opening.Part{Number: p.Number, ETag: p.ETag}
	}
	return out, err
}

func (o bidObjects) CompleteMultipart(ctx context.Context, key, uploadID string, parts []opening.Part) (string, error) {
	ps := make([]blob.Part, len(parts))
	for i, p := range parts {
		ps[i] = blob.Part{Number: p.Number, ETag: p.ETag}
	}
	info, err := o.store.CompleteMultipart(ctx, o.bucket, key, uploadID, ps)
	if err == nil && o.completed != nil {
		err = o.completed(ctx, key)
	}
	return info.VersionID, err
}

func (o bidObjects) Stored(ctx context.Context, prefix string) ([]opening.StoredVersion, error) {
	vs, err := o.store.Versions(ctx, o.bucket, prefix)
	out := make([]opening.StoredVersion, len(vs))
	for i, v := range vs {
		out[i] = opening.StoredVersion{Key: v.Key, Version: v.VersionID, Size: v.Size}
	}
	return out, err
}

func (o bidObjects) LockedUntil(ctx context.Context, key, versionID string) (time.Time, error) {
	info, err := o.store.StatVersion(ctx, o.bucket, key, versionID)
	if info.Retention.Mode != blob.Compliance {
		return time.Time{}, err
	}
	return info.Retention.RetainUntil, err
}

func (o bidObjects) AbortMultipart(ctx context.Context, key, uploadID string) error {
	return o.store.AbortMultipart(ctx, o.bucket, key, uploadID)
}

// ReadBack streams the version once, hashing all of it and handing every byte to inspect
// as well (the submission's ciphertext screen), on two cores: the SHA-256 beside inspect,
// or, in national mode, the SM3 (the slowest, about as slow as the other two together)
// beside both.
func (o bidObjects) ReadBack(ctx context.Context, key, versionID string, withSM3 bool, inspect io.Writer) (opening.StoredObject, error) {
	r, _, err := o.store.GetVersion(ctx, o.bucket, key, versionID)
	if err != nil {
		return opening.StoredObject{}, err
	}
	defer r.Close()
	sha, sm := sha256.New(), sm3.New()
	sums := iox.ParallelWriter(sha, inspect)
	if withSM3 {
		sums = iox.ParallelWriter(sm, io.MultiWriter(sha, inspect))
	}
	n, err := io.CopyBuffer(sums, r, make([]byte, 1<<20))
	if err != nil {
		return opening.StoredObject{}, err
	}
	out := opening.StoredObject{Size: n, SHA256: hex.EncodeToString(sha.Sum(nil))}
	if withSM3 {
		out.SM3 = hex.EncodeToString(sm.Sum(nil))
	}
	return out, nil
}

func (o bidObjects) Lock(ctx context.Context, key, versionID string, until time.Time) error {
	return o.store.SetRetention(ctx, o.bucket, key, versionID, blob.Retention{Mode: blob.Compliance, RetainUntil: until})
}

// AbortIncomplete aborts every incomplete multipart upload under prefix.
func (o bidObjects) AbortIncomplete(ctx context.Context, prefix string) error {
	ups, err := o.store.ListIncomplete(ctx, o.bucket, prefix)
	if err != nil {
		return err
	}
	for _, u := range ups {
		if err := o.store.AbortMultipart(ctx, o.bucket, u.Key, u.UploadID); err != nil {
			return err
		}
	}
	return nil
}

func (o bidObjects) Discard(ctx context.Context, key, versionID string) error {
	return o.store.Delete(ctx, o.bucket, key, versionID)
}

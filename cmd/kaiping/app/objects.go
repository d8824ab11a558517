package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"time"

	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/blob"
)

// bidObjects adapts the blob store's bids bucket to what opening's submission needs.
type bidObjects struct {
	store  *blob.Store
	bucket string
}

var _ opening.Objects = bidObjects{}

// InitiateMultipart opens an upload without retention: a refused envelope must be deletable;
// only accepted ones are locked (Lock).
func (o bidObjects) InitiateMultipart(ctx context.Context, key string) (string, error) {
	return o.store.InitiateMultipart(ctx, o.bucket, key, blob.PutOptions{ContentType: "application/vnd.kaiping.sealed"})
}

func (o bidObjects) PresignPart(ctx context.Context, key, uploadID string, part int, expiry time.Duration) (*url.URL, error) {
	return o.store.PresignPart(ctx, o.bucket, key, uploadID, part, expiry)
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
	return info.VersionID, err
}

func (o bidObjects) AbortMultipart(ctx context.Context, key, uploadID string) error {
	return o.store.AbortMultipart(ctx, o.bucket, key, uploadID)
}

// ReadBack streams the version once, hashing all of it and keeping the first headBytes.
func (o bidObjects) ReadBack(ctx context.Context, key, versionID string, headBytes int) (int64, string, []byte, error) {
	r, _, err := o.store.GetVersion(ctx, o.bucket, key, versionID)
	if err != nil {
		return 0, "", nil, err
	}
	defer r.Close()
	h := sha256.New()
	head := make([]byte, headBytes)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, "", nil, err
	}
	head = head[:n]
	h.Write(head)
	rest, err := io.Copy(h, r)
	if err != nil {
		return 0, "", nil, err
	}
	return int64(n) + rest, hex.EncodeToString(h.Sum(nil)), head, nil
}

func (o bidObjects) Lock(ctx context.Context, key, versionID string, until time.Time) error {
	return o.store.SetRetention(ctx, o.bucket, key, versionID, blob.Retention{Mode: blob.Compliance, RetainUntil: until})
}

func (o bidObjects) Discard(ctx context.Context, key, versionID string) error {
	return o.store.Delete(ctx, o.bucket, key, versionID)
}

package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/minio/minio-go/v7"
)

// Stat describes the current version of bucket/key: size, SHA-256, ETag, version ID and
// retention. A missing object is KindNotFound.
func (s *Store) Stat(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	return s.StatVersion(ctx, bucket, key, "")
}

// StatVersion is Stat for one version (the current one when versionID is empty). Callers that
// recorded a version ID (a bid row, a ledger entry) should use it: it names exactly the bytes
// received, whatever was written to the key later.
func (s *Store) StatVersion(ctx context.Context, bucket, key, versionID string) (ObjectInfo, error) {
	oi, err := s.core.StatObject(ctx, bucket, key, minio.StatObjectOptions{VersionID: versionID, Checksum: true})
	if err != nil {
		return ObjectInfo{}, translate("blob.Stat "+bucket+"/"+key, err)
	}
	return objectInfo(bucket, oi), nil
}

// Get opens the current version of bucket/key for reading. The caller closes the reader.
// When the server holds the object's SHA-256, reading to the end verifies it: a mismatch is
// an error from Read at EOF, never a silent short or altered read.
func (s *Store) Get(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error) {
	return s.GetVersion(ctx, bucket, key, "")
}

// GetVersion is Get for one version (the current one when versionID is empty).
func (s *Store) GetVersion(ctx context.Context, bucket, key, versionID string) (io.ReadCloser, ObjectInfo, error) {
	op := "blob.Get " + bucket + "/" + key
	obj, err := s.core.Client.GetObject(ctx, bucket, key, minio.GetObjectOptions{VersionID: versionID, Checksum: true})
	if err != nil {
		return nil, ObjectInfo{}, translate(op, err)
	}
	// GetObject is lazy; Stat sends the request, so a missing object fails here, not on Read.
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, ObjectInfo{}, translate(op, err)
	}
	return obj, objectInfo(bucket, oi), nil
}

// SHA256 reads a version back (the current one when versionID is empty) and returns the hex
// SHA-256 and size of what it read. It is for objects assembled from parts, whose stored
// checksum is not a content digest: the service checks an uploaded bid this way before it
// issues the receipt. It reads the whole object.
func (s *Store) SHA256(ctx context.Context, bucket, key, versionID string) (string, int64, error) {
	op := "blob.SHA256 " + bucket + "/" + key
	rc, _, err := s.GetVersion(ctx, bucket, key, versionID)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, translate(op, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Delete removes one version for good (the current one when versionID is empty; the version
// before it, if any, then becomes current). Object Lock decides: a version under retention is
// refused with KindConflict, code "blob.locked". A missing version is KindNotFound.
//
// Delete never writes a delete marker, which is what a plain S3 DELETE without a version ID
// does in a versioned bucket: the marker would succeed even on a locked object and hide it
// from Get and Stat, while the lock is meant to keep it available.
func (s *Store) Delete(ctx context.Context, bucket, key, versionID string) error {
	op := "blob.Delete " + bucket + "/" + key
	info, err := s.StatVersion(ctx, bucket, key, versionID)
	if err != nil {
		return err
	}
	if info.VersionID == "" && versionID == "" {
		// An unversioned bucket (not one of ours): no lock can apply, delete the object.
		return translate(op, s.core.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}))
	}
	err = s.core.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID})
	if err != nil {
		return translate(op, err)
	}
	return nil
}

// Versions lists every version of every object under prefix (delete markers left out),
// in key order; their Retention is not filled in (Stat a version for it). It is for
// reconciling what storage holds against what was recorded.
func (s *Store) Versions(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error) {
	op := "blob.Versions " + bucket + "/" + prefix
	var out []ObjectInfo
	for oi := range s.core.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if oi.Err != nil {
			return nil, translate(op, oi.Err)
		}
		if oi.IsDeleteMarker {
			continue
		}
		out = append(out, objectInfo(bucket, oi))
	}
	return out, nil
}

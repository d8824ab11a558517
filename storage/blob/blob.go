// Package blob is Kaiping's object-storage adapter: sealed bid files, recordings and archives
// live in an S3-compatible store, in buckets created with Object Lock, each object written once
// under a COMPLIANCE retention that nobody, the storage administrator included, can shorten.
//
// The adapter speaks plain S3 through minio-go, so it works with any S3 server; MinIO is only
// the reference server the tests run against. What it relies on, and why:
//
//   - Object Lock (which implies versioning): a locked version cannot be deleted or replaced
//     until its retain-until date, and in COMPLIANCE mode that date can only move later.
//   - Conditional writes (If-None-Match: *): Put and CompleteMultipart never replace a key that
//     already holds an object, so a bid file once received stays the current version. (A
//     server that ignored the condition would store a new version on top; the locked version
//     would still be intact under its version ID, which is why callers record version IDs.)
//   - Additional checksums (x-amz-checksum-sha256, sent as a trailer while streaming): the
//     server verifies and keeps the SHA-256 of what Put wrote, and Stat returns it.
//   - Presigned multipart uploads: a bidder's tool uploads a sealed bid straight to storage,
//     part by part, with one presigned URL per part, needing no storage credentials. The service
//     initiates the upload (fixing key, content type and retention, so the object is locked from
//     the moment it exists), completes it with the parts' ETags, then checks size and SHA-256.
package blob

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kaiping/kaiping"
)

// Config says where the object store is and how to sign requests to it.
type Config struct {
	// Endpoint is host:port, without a scheme (e.g. "127.0.0.1:9000", "oss.example.cn").
	Endpoint string
	// AccessKey and SecretKey are the S3 credentials (SigV4).
	AccessKey string
	SecretKey string
	// Region is the bucket region. Empty asks the server once per bucket (GetBucketLocation).
	Region string
	// Secure selects HTTPS.
	Secure bool
}

// Store is the object store. It is safe for concurrent use.
type Store struct {
	core *minio.Core
	// ping is a second client that tries each request once: minio-go retries a refused
	// connection for seconds, and /readyz should hear "down" at once.
	ping *minio.Client
}

// pingTimeout bounds Ping, so /readyz answers promptly when storage is down.
const pingTimeout = 3 * time.Second

// New returns a Store for cfg. It does not contact the server; Ping does.
func New(cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || strings.Contains(cfg.Endpoint, "://") {
		return nil, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "config.blob_endpoint",
			Message: "对象存储地址格式错误 (blob endpoint must be host:port without a scheme)",
			Op:      "blob.New"}
	}
	opts := minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
		// Trailing headers let the client send x-amz-checksum-sha256 after the body, so Put
		// can stream an object of any size and still have the server verify its SHA-256.
		TrailingHeaders: true,
	}
	core, err := minio.NewCore(cfg.Endpoint, &opts)
	if err != nil {
		return nil, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "config.blob_endpoint",
			Message: "对象存储配置错误 (invalid blob configuration)", Op: "blob.New", Err: err}
	}
	opts.MaxRetries = 1
	ping, err := minio.New(cfg.Endpoint, &opts)
	if err != nil {
		return nil, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "config.blob_endpoint",
			Message: "对象存储配置错误 (invalid blob configuration)", Op: "blob.New", Err: err}
	}
	return &Store{core: core, ping: ping}, nil
}

// Ping checks that the object store answers and accepts our credentials, within 3 seconds,
// trying once. It lists buckets, the cheapest signed call that needs no bucket name; the
// credentials therefore need s3:ListAllMyBuckets. An unreachable store is KindUnavailable,
// code "blob_unavailable".
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := s.ping.ListBuckets(ctx); err != nil {
		return translate("blob.Ping", err)
	}
	return nil
}

// ObjectInfo describes one stored object version.
type ObjectInfo struct {
	Bucket    string
	Key       string
	VersionID string // the version this describes; objects in locked buckets always have one
	Size      int64
	ETag      string // the server's entity tag, without quotes; not a content digest
	// SHA256 is the lowercase hex SHA-256 of the content, as verified and kept by the server.
	// It is empty for objects assembled from parts (CompleteMultipart): S3 keeps only a
	// checksum of part checksums for those, so use Store.SHA256 to read the object back.
	SHA256       string
	ContentType  string
	LastModified time.Time // zero in what Put returns; set by Stat, Get and CompleteMultipart
	Retention    Retention // the Object Lock retention of this version; zero if none
}

// emptySHA256 is the SHA-256 of no bytes: minio-go sends no checksum for an empty body, so
// the server keeps none, but the digest of an empty object is known all the same.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// objectInfo converts minio-go's description of an object version.
func objectInfo(bucket string, oi minio.ObjectInfo) ObjectInfo {
	info := ObjectInfo{
		Bucket:       bucket,
		Key:          oi.Key,
		VersionID:    oi.VersionID,
		Size:         oi.Size,
		ETag:         oi.ETag,
		SHA256:       fullObjectSHA256(oi.ChecksumSHA256, oi.ChecksumMode),
		ContentType:  oi.ContentType,
		LastModified: oi.LastModified,
	}
	if info.SHA256 == "" && info.Size == 0 {
		info.SHA256 = emptySHA256
	}
	if mode := oi.Metadata.Get("X-Amz-Object-Lock-Mode"); mode != "" {
		info.Retention.Mode = RetentionMode(mode)
		if t, err := time.Parse(time.RFC3339, oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date")); err == nil {
			info.Retention.RetainUntil = t.UTC()
		}
	}
	return info
}

// fullObjectSHA256 turns the server's base64 x-amz-checksum-sha256 into hex, but only when it
// is the digest of the whole content: a composite checksum (a checksum of part checksums,
// written "<base64>-N") is not, and must not be mistaken for one.
func fullObjectSHA256(b64, mode string) string {
	if b64 == "" || strings.EqualFold(mode, "COMPOSITE") {
		return ""
	}
	sum, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sum) != 32 {
		return ""
	}
	return hex.EncodeToString(sum)
}

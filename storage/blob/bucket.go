package blob

import (
	"context"
	"errors"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/kaiping/kaiping"
)

// EnsureBucket creates bucket with Object Lock enabled if it does not exist, and checks that
// an existing one has Object Lock. It is idempotent and safe to run from several replicas at
// once. A bucket without Object Lock is a misconfiguration (bids and recordings could then be
// deleted or replaced), reported as KindInvalid with code "blob.bucket_not_locked".
// EnsureBucket does not try to turn Object Lock on: not every S3 server can for an existing
// bucket, and an operator should decide what happens to what is already in it.
func (s *Store) EnsureBucket(ctx context.Context, bucket string) error {
	op := "blob.EnsureBucket " + bucket
	// Bucket names come from configuration; say so plainly rather than as a failed request.
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeInvalid,
			Message: "存储桶名称不合法 (invalid bucket name " + bucket + ")", Op: op, Err: err}
	}
	exists, err := s.core.BucketExists(ctx, bucket)
	if err != nil {
		return translate(op, err)
	}
	if !exists {
		err := s.core.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: true})
		// Another replica may have created it since BucketExists; that bucket is checked below
		// like any existing one.
		if err != nil && !isBucketOwned(err) {
			return translate(op, err)
		}
	}
	enabled, _, _, _, err := s.core.GetObjectLockConfig(ctx, bucket)
	if err != nil && !isNoLockConfig(err) {
		return translate(op, err)
	}
	if err != nil || enabled != "Enabled" {
		return &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeBucketNotLocked,
			Message: "存储桶 " + bucket + " 未启用对象锁定，不能存放投标文件和录像 " +
				"(bucket exists without Object Lock; create a new bucket with Object Lock enabled)",
			Op: op, Err: err}
	}
	return nil
}

// isBucketOwned reports the answer to creating a bucket we already own.
func isBucketOwned(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == "BucketAlreadyOwnedByYou"
}

// isNoLockConfig reports the answer for a bucket that has no Object Lock configuration.
func isNoLockConfig(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == "ObjectLockConfigurationNotFoundError"
}

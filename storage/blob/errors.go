package blob

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
)

// The stable codes this package gives its errors, beyond "internal".
const (
	CodeUnavailable     = "blob_unavailable"       // the store cannot be reached (as "database_unavailable")
	CodeLocked          = "blob.locked"            // Object Lock refused a delete, overwrite or shorter retention
	CodeExists          = "blob.exists"            // the key already holds an object; we never replace one
	CodeNotFound        = "blob.not_found"         // no such object or version
	CodeNoBucket        = "blob.no_bucket"         // no such bucket
	CodeNoUpload        = "blob.no_upload"         // no such multipart upload (completed, aborted or unknown)
	CodeInvalid         = "blob.invalid"           // the request was malformed (ours or as the store saw it)
	CodeRetention       = "blob.retention"         // a retention we will not write (not COMPLIANCE, or none)
	CodeBucketNotLocked = "blob.bucket_not_locked" // the bucket exists without Object Lock
)

// translate turns a minio-go error into a *kaiping.Error raised by op, in one place. Errors
// that already carry a kind pass through unchanged.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *kaiping.Error
	if errors.As(err, &ke) {
		return err
	}
	e := func(kind kaiping.Kind, code, message string) error {
		return &kaiping.Error{Kind: kind, Code: code, Message: message, Op: op, Err: err}
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code != "" {
		switch {
		case isLockRefusal(resp):
			return e(kaiping.KindConflict, CodeLocked, "对象处于合规保留期内，不能删除、覆盖或缩短保留期限")
		case resp.Code == "NoSuchKey" || resp.Code == "NoSuchVersion":
			return e(kaiping.KindNotFound, CodeNotFound, "文件不存在")
		case resp.Code == "NoSuchBucket":
			return e(kaiping.KindNotFound, CodeNoBucket, "存储桶不存在")
		case resp.Code == "NoSuchUpload":
			return e(kaiping.KindNotFound, CodeNoUpload, "分片上传不存在或已结束")
		case resp.Code == "PreconditionFailed":
			// Only our conditional writes (If-None-Match: *) send preconditions.
			return e(kaiping.KindConflict, CodeExists, "文件已存在，不能覆盖")
		case resp.Code == "InvalidPart" || resp.Code == "InvalidPartOrder" || resp.Code == "EntityTooSmall":
			return e(kaiping.KindInvalid, CodeInvalid, "分片不完整或不符合要求")
		case resp.Code == "InvalidArgument" || resp.Code == "InvalidRequest" ||
			resp.Code == "InvalidBucketName" || resp.Code == "XMinioInvalidObjectName" ||
			resp.Code == "BadDigest" || resp.Code == "InvalidDigest":
			return e(kaiping.KindInvalid, CodeInvalid, "对象存储拒绝了请求参数")
		case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway ||
			resp.StatusCode == http.StatusGatewayTimeout || resp.Code == "SlowDown" ||
			resp.Code == "XMinioServerNotInitialized":
			return unavailable(op, err)
		}
		// AccessDenied not caused by a lock, bad credentials and the rest are our own
		// misconfiguration or a server fault: internal, logged, not shown.
		return kaiping.Internal(op, err)
	}
	if errors.Is(err, context.Canceled) {
		// The caller gave up; that says nothing about the store.
		return kaiping.Internal(op, err)
	}
	if isUnreachable(err) {
		return unavailable(op, err)
	}
	return kaiping.Internal(op, err)
}

// isLockRefusal tells a refusal by Object Lock from other refusals. S3 has no error code of its
// own for it: AWS answers AccessDenied ("Access Denied because object protected by object
// lock"), MinIO InvalidRequest ("Object is WORM protected and cannot be overwritten"), so the
// message decides.
func isLockRefusal(resp minio.ErrorResponse) bool {
	if resp.Code != "AccessDenied" && resp.Code != "InvalidRequest" {
		return false
	}
	msg := strings.ToLower(resp.Message)
	for _, hint := range []string{"worm", "object lock", "objectlock", "object-lock", "locked"} {
		if strings.Contains(msg, hint) {
			return true
		}
	}
	return false
}

// isUnreachable reports a failure to talk to the server at all: refused or reset connections,
// DNS failures, timeouts (minio-go retries those before giving up).
func isUnreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var urlErr *url.Error
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.As(err, &opErr)
}

func unavailable(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindUnavailable, Code: CodeUnavailable,
		Message: "对象存储暂时无法访问", Op: op, Err: err}
}

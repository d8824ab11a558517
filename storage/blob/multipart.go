package blob

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
)

// S3's multipart limits.
const (
	// MinPartSize is the least size of every part but the last (5 MiB).
	MinPartSize = 5 << 20
	// MaxParts is the most parts one upload may have; part numbers run from 1 to MaxParts.
	MaxParts = 10000
	// MaxPartSize is the largest part (5 GiB).
	MaxPartSize = 5 << 30
	// maxPresign is the longest a SigV4 presigned URL can live.
	maxPresign = 7 * 24 * time.Hour
)

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int    // 1 to MaxParts
	ETag   string // as the server answered the part's PUT (quotes are fine)
	Size   int64  // reported by ListParts; CompleteMultipart ignores it
}

// IncompleteUpload is a multipart upload that was initiated and neither completed nor aborted.
type IncompleteUpload struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// InitiateMultipart starts a multipart upload to bucket/key and returns its upload ID. The
// content type and retention in opts apply to the object CompleteMultipart will make, so a
// completed bid is locked from the moment it exists. An existing object at key is refused
// here already (KindConflict, "blob.exists"), to spare the bidder an upload that completion
// would refuse; completion checks again, atomically.
func (s *Store) InitiateMultipart(ctx context.Context, bucket, key string, opts PutOptions) (string, error) {
	op := "blob.InitiateMultipart " + bucket + "/" + key
	mopts, _, err := opts.minioOptions(op)
	if err != nil {
		return "", err
	}
	switch _, err := s.StatVersion(ctx, bucket, key, ""); {
	case err == nil:
		return "", &kaiping.Error{Kind: kaiping.KindConflict, Code: CodeExists, Message: "文件已存在，不能覆盖", Op: op}
	case !kaiping.IsKind(err, kaiping.KindNotFound) || kaiping.CodeOf(err) == CodeNoBucket:
		return "", err
	}
	uploadID, err := s.core.NewMultipartUpload(ctx, bucket, key, mopts)
	if err != nil {
		return "", translate(op, err)
	}
	return uploadID, nil
}

// PresignPart returns a URL that uploads part partNumber of the upload with an HTTP PUT of
// exactly size bytes, without credentials, until expiry passes (at most 7 days). The URL is
// good for that part of that upload only: another part number or key fails the signature.
// Content-Length is one of the signed headers, so a PUT of any other length fails the
// signature too (403): a bidder cannot fill the bucket through a URL meant for one part.
// The server's ETag response header is what CompleteMultipart needs for the part.
//
// Against MinIO a part PUT needs nothing beyond the body, Object Lock bucket or not; the
// retention was fixed at initiation. Clients should send Content-MD5 all the same: a standard
// header, accepted without being signed, with which the server refuses a part damaged on the
// way (400 BadDigest), and which other S3 servers require on every part of an upload into
// Object Lock when the payload is unsigned, as a presigned URL's is (IBM COS documents this;
// AWS requires it on lock-bearing PUTs). MinIO also checks an unsigned x-amz-checksum-sha256.
func (s *Store) PresignPart(ctx context.Context, bucket, key, uploadID string, partNumber int, size int64, expiry time.Duration) (*url.URL, error) {
	op := "blob.PresignPart " + bucket + "/" + key
	if partNumber < 1 || partNumber > MaxParts {
		return nil, kaiping.Errorf(kaiping.KindInvalid, CodeInvalid, "分片序号须在 1 到 %d 之间", MaxParts)
	}
	if size < 1 || size > MaxPartSize {
		return nil, kaiping.Errorf(kaiping.KindInvalid, CodeInvalid, "分片大小须在 1 字节到 %d 字节之间", int64(MaxPartSize))
	}
	if expiry < time.Second || expiry > maxPresign {
		return nil, kaiping.E(kaiping.KindInvalid, CodeInvalid, "上传链接有效期须在 1 秒到 7 天之间")
	}
	if uploadID == "" {
		return nil, kaiping.E(kaiping.KindInvalid, CodeInvalid, "缺少分片上传编号")
	}
	params := url.Values{
		"partNumber": {strconv.Itoa(partNumber)},
		"uploadId":   {uploadID},
	}
	// minio-go v7.4.1's PresignHeader adds these headers to the signed ones (SigV4 only).
	headers := http.Header{"Content-Length": {strconv.FormatInt(size, 10)}}
	u, err := s.core.PresignHeader(ctx, http.MethodPut, bucket, key, expiry, params, headers)
	if err != nil {
		return nil, translate(op, err)
	}
	return u, nil
}

// CompleteMultipart assembles the parts into the object at bucket/key and returns it. It
// refuses to replace an existing object (KindConflict, "blob.exists"); the upload then stays
// open for AbortMultipart. The returned SHA256 is empty (see ObjectInfo.SHA256): check the
// content with Store.SHA256.
//
// It is idempotent: a caller that died after storage completed the upload, and retries,
// finds the upload gone (NoSuchUpload) and gets the object that completion made, recognised
// by its ETag, which S3 derives from exactly these parts' ETags. An upload gone with no such
// object at key is still KindNotFound "blob.no_upload".
func (s *Store) CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []Part) (ObjectInfo, error) {
	op := "blob.CompleteMultipart " + bucket + "/" + key
	if len(parts) == 0 {
		return ObjectInfo{}, kaiping.E(kaiping.KindInvalid, CodeInvalid, "没有已上传的分片")
	}
	complete := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		complete[i] = minio.CompletePart{PartNumber: p.Number, ETag: strings.Trim(p.ETag, `"`)}
	}
	// S3 wants the parts in ascending order; callers collect them as uploads finish.
	slices.SortFunc(complete, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	// Plain S3 checks If-None-Match at completion (not at initiation), atomically.
	var opts minio.PutObjectOptions
	opts.SetMatchETagExcept("*")
	up, err := s.core.CompleteMultipartUpload(ctx, bucket, key, uploadID, complete, opts)
	if err != nil {
		err = translate(op, err)
		if code := kaiping.CodeOf(err); code == CodeNoUpload || code == CodeExists {
			if info, serr := s.StatVersion(ctx, bucket, key, ""); serr == nil && info.ETag == multipartETag(complete) {
				return info, nil
			}
		}
		return ObjectInfo{}, err
	}
	// The completion answer carries no size or retention; ask for the version just made.
	info, err := s.StatVersion(ctx, bucket, key, up.VersionID)
	if err != nil {
		return ObjectInfo{}, err
	}
	return info, nil
}

// multipartETag is the ETag S3 gives the object assembled from parts: the hex MD5 of the
// parts' binary MD5s (their ETags), then "-" and the number of parts.
func multipartETag(parts []minio.CompletePart) string {
	h := md5.New()
	for _, p := range parts {
		sum, err := hex.DecodeString(p.ETag)
		if err != nil {
			return "" // not an MD5 (an encrypted part): no object matches
		}
		h.Write(sum)
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

// AbortMultipart abandons an upload and frees its parts. Aborting an upload that is already
// gone (aborted, completed or unknown) succeeds: what the caller wants is true either way, and
// S3 servers disagree here (AWS answers NoSuchUpload, MinIO success).
func (s *Store) AbortMultipart(ctx context.Context, bucket, key, uploadID string) error {
	err := s.core.AbortMultipartUpload(ctx, bucket, key, uploadID)
	if err != nil && kaiping.CodeOf(translate("", err)) != CodeNoUpload {
		return translate("blob.AbortMultipart "+bucket+"/"+key, err)
	}
	return nil
}

// ListIncomplete lists the uploads under prefix that were initiated and neither completed nor
// aborted, oldest first, for resuming or for sweeping abandoned ones.
//
// It asks the server for every incomplete upload in the bucket and filters by prefix itself:
// MinIO takes a non-empty prefix in ListMultipartUploads as an exact key, so a real prefix
// would find nothing there.
func (s *Store) ListIncomplete(ctx context.Context, bucket, prefix string) ([]IncompleteUpload, error) {
	op := "blob.ListIncomplete " + bucket + "/" + prefix
	var uploads []IncompleteUpload
	keyMarker, uploadIDMarker := "", ""
	for {
		res, err := s.core.ListMultipartUploads(ctx, bucket, "", keyMarker, uploadIDMarker, "", 1000)
		if err != nil {
			return nil, translate(op, err)
		}
		for _, u := range res.Uploads {
			if strings.HasPrefix(u.Key, prefix) {
				uploads = append(uploads, IncompleteUpload{Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated})
			}
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == uploadIDMarker) {
			break
		}
		keyMarker, uploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	slices.SortStableFunc(uploads, func(a, b IncompleteUpload) int { return a.Initiated.Compare(b.Initiated) })
	return uploads, nil
}

// ListParts lists the parts uploaded so far, in part-number order, so an interrupted upload
// can resume with the parts still missing. An unknown upload is KindNotFound.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string) ([]Part, error) {
	op := "blob.ListParts " + bucket + "/" + key
	var parts []Part
	marker := 0
	for {
		res, err := s.core.ListObjectParts(ctx, bucket, key, uploadID, marker, 1000)
		if err != nil {
			return nil, translate(op, err)
		}
		for _, p := range res.ObjectParts {
			parts = append(parts, Part{Number: p.PartNumber, ETag: p.ETag, Size: p.Size})
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			break
		}
		marker = res.NextPartNumberMarker
	}
	return parts, nil
}

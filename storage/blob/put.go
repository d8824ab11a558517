package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
)

// PutOptions tune how an object is written.
type PutOptions struct {
	// ContentType is stored with the object; empty means application/octet-stream.
	ContentType string
	// Retention locks the new version until Retention.RetainUntil (COMPLIANCE only). The zero
	// Retention writes no retention of its own. Archives use DefaultArchiveRetention.From(now).
	Retention Retention
}

// minioOptions are the minio-go options every new object is written with.
func (o PutOptions) minioOptions(op string) (minio.PutObjectOptions, Retention, error) {
	r, err := o.Retention.normalize(op)
	if err != nil {
		return minio.PutObjectOptions{}, r, err
	}
	opts := minio.PutObjectOptions{ContentType: o.ContentType}
	if !r.IsZero() {
		opts.Mode = minio.RetentionMode(r.Mode)
		opts.RetainUntilDate = r.RetainUntil
	}
	return opts, r, nil
}

// Put writes the size bytes read from r as a new object at bucket/key, in a single PUT, and
// returns what was stored. It refuses to replace an existing object (KindConflict, code
// "blob.exists").
//
// The SHA-256 of the content is computed while streaming and sent as the
// x-amz-checksum-sha256 trailer; the server verifies it before keeping the object, stores it,
// and Stat returns it. Put also hashes the bytes itself and checks the server's answer.
//
// Put does not retry: r cannot be rewound. A failure to reach the store is KindUnavailable,
// and the caller may try again with a fresh reader. S3 limits a single PUT to 5 GiB; larger
// objects go through the multipart calls.
func (s *Store) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	op := "blob.Put " + bucket + "/" + key
	if size < 0 {
		return ObjectInfo{}, &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeInvalid,
			Message: "文件大小未知", Op: op}
	}
	mopts, retention, err := opts.minioOptions(op)
	if err != nil {
		return ObjectInfo{}, err
	}
	// Never replace an existing object: in a versioned bucket a plain PUT would quietly make a
	// new current version and leave the one we received in the shadows. S3 checks
	// If-None-Match atomically with the write, so there is no window between check and put.
	mopts.SetMatchETagExcept("*")
	mopts.Checksum = minio.ChecksumSHA256
	// One request, so the checksum the server keeps is the SHA-256 of the whole object, not a
	// checksum of part checksums.
	mopts.DisableMultipart = true

	body := &sourceReader{r: r, h: sha256.New(), want: size}
	up, err := s.core.Client.PutObject(ctx, bucket, key, body, size, mopts)
	if err != nil {
		// minio-go reports a failing source as a failed request; tell the two apart, since
		// a short or broken source is our caller's fault, not the store's.
		switch {
		case body.short:
			return ObjectInfo{}, &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeInvalid,
				Message: "文件内容比声明的大小短", Op: op, Err: err}
		case body.err != nil:
			return ObjectInfo{}, kaiping.Internal(op, body.err)
		}
		return ObjectInfo{}, translate(op, err)
	}
	sum := hex.EncodeToString(body.h.Sum(nil))
	if stored := fullObjectSHA256(up.ChecksumSHA256, up.ChecksumMode); stored != "" && stored != sum {
		// The server verified the trailer we sent, so this means the bytes changed between our
		// hash and minio-go's: a bug, not a user error.
		return ObjectInfo{}, kaiping.Internal(op, fmt.Errorf("stored SHA-256 %s, streamed %s", stored, sum))
	}
	return ObjectInfo{
		Bucket:      bucket,
		Key:         key,
		VersionID:   up.VersionID,
		Size:        up.Size,
		ETag:        up.ETag,
		SHA256:      sum,
		ContentType: contentType(opts.ContentType),
		Retention:   retention,
	}, nil
}

// sourceReader hashes what Put reads and remembers how reading the caller's source failed.
type sourceReader struct {
	r     io.Reader
	h     hash.Hash
	want  int64 // the size the caller declared
	n     int64
	short bool  // the source ended before want bytes
	err   error // the source failed (not EOF)
}

func (sr *sourceReader) Read(p []byte) (int, error) {
	n, err := sr.r.Read(p)
	sr.h.Write(p[:n])
	sr.n += int64(n)
	switch {
	case err == io.EOF && sr.n < sr.want:
		sr.short = true
		err = io.ErrUnexpectedEOF
	case err != nil && err != io.EOF:
		sr.err = err
	}
	return n, err
}

// contentType is the type S3 stores when none is given.
func contentType(t string) string {
	if t == "" {
		return "application/octet-stream"
	}
	return t
}

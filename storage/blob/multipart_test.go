package blob_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/blob"
)

// putPart uploads one part the way a bidder's tool does: a plain HTTP PUT to the presigned
// URL, with no credentials, optionally with Content-MD5. It returns the status and the ETag.
func putPart(tb testing.TB, u *url.URL, data []byte, contentMD5 string) (int, string, string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPut, u.String(), bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	if contentMD5 != "" {
		req.Header.Set("Content-MD5", contentMD5)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("PUT part: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), string(body)
}

// mustPutPart presigns and uploads part n, and returns it for CompleteMultipart.
func mustPutPart(tb testing.TB, s *blob.Store, bucket, key, uploadID string, n int, data []byte, contentMD5 string) blob.Part {
	tb.Helper()
	u, err := s.PresignPart(context.Background(), bucket, key, uploadID, n, int64(len(data)), 15*time.Minute)
	if err != nil {
		tb.Fatalf("PresignPart(%d): %v", n, err)
	}
	status, etag, body := putPart(tb, u, data, contentMD5)
	if status != http.StatusOK || etag == "" {
		tb.Fatalf("PUT part %d: %d, ETag %q: %s", n, status, etag, body)
	}
	return blob.Part{Number: n, ETag: etag}
}

// mustInitiate starts a multipart upload locked for a day.
func mustInitiate(tb testing.TB, s *blob.Store, bucket, key string) string {
	tb.Helper()
	id, err := s.InitiateMultipart(context.Background(), bucket, key, blob.PutOptions{
		ContentType: "application/vnd.kaiping.sealed",
		Retention:   blob.Period{Days: 1}.From(time.Now()),
	})
	if err != nil {
		tb.Fatalf("InitiateMultipart(%s): %v", key, err)
	}
	return id
}

func md5Base64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestPresignedMultipart uploads a sealed bid in 3 parts through presigned URLs, as a client
// without credentials would, into an Object Lock bucket, and completes it.
func TestPresignedMultipart(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	tests := []struct {
		name string
		md5  bool // send Content-MD5 with every part
	}{
		{"with content-md5", true},
		{"bare parts", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "tender-7/bids/" + tt.name
			sizes := []int{blob.MinPartSize, blob.MinPartSize, 1<<20 + 13}
			var whole []byte
			chunks := make([][]byte, len(sizes))
			for n, size := range sizes {
				chunks[n] = randomBytes(size, uint64(10*i+n))
				whole = append(whole, chunks[n]...)
			}
			id := mustInitiate(t, s, bucket, key)

			// Parts arrive in any order; complete them out of order too.
			var parts []blob.Part
			for _, n := range []int{3, 1, 2} {
				var sum string
				if tt.md5 {
					sum = md5Base64(chunks[n-1])
				}
				parts = append(parts, mustPutPart(t, s, bucket, key, id, n, chunks[n-1], sum))
			}

			listed, err := s.ListParts(ctx, bucket, key, id)
			if err != nil {
				t.Fatalf("ListParts: %v", err)
			}
			if len(listed) != 3 {
				t.Fatalf("ListParts = %+v, want 3 parts", listed)
			}
			for n, p := range listed {
				if p.Number != n+1 || p.Size != int64(sizes[n]) {
					t.Errorf("ListParts[%d] = %+v, want part %d of %d bytes", n, p, n+1, sizes[n])
				}
			}
			incomplete, err := s.ListIncomplete(ctx, bucket, key)
			if err != nil || len(incomplete) != 1 || incomplete[0].UploadID != id || incomplete[0].Key != key ||
				incomplete[0].Initiated.IsZero() {
				t.Fatalf("ListIncomplete before completion = %+v, %v; want upload %s", incomplete, err, id)
			}

			info, err := s.CompleteMultipart(ctx, bucket, key, id, parts)
			if err != nil {
				t.Fatalf("CompleteMultipart: %v", err)
			}
			if info.Size != int64(len(whole)) || info.VersionID == "" || info.ContentType != "application/vnd.kaiping.sealed" {
				t.Errorf("CompleteMultipart = %+v, want %d bytes with a version", info, len(whole))
			}
			// The retention given at initiation locks the assembled object.
			if info.Retention.Mode != blob.Compliance || time.Until(info.Retention.RetainUntil) < 23*time.Hour {
				t.Errorf("retention after completion = %+v, want COMPLIANCE for a day", info.Retention)
			}
			wantError(t, s.Delete(ctx, bucket, key, info.VersionID), kaiping.KindConflict, blob.CodeLocked)
			if info.SHA256 != "" {
				t.Errorf("SHA256 = %s for an object made of parts, want empty (no full-object digest)", info.SHA256)
			}
			sum, n, err := s.SHA256(ctx, bucket, key, info.VersionID)
			if err != nil || sum != sha256Hex(whole) || n != int64(len(whole)) {
				t.Errorf("SHA256 = %s, %d, %v; want %s, %d", sum, n, err, sha256Hex(whole), len(whole))
			}
			st := mustStat(t, s, bucket, key, "")
			if st.Size != info.Size || st.VersionID != info.VersionID || st.ETag != info.ETag {
				t.Errorf("Stat = %+v, want %+v", st, info)
			}
			if incomplete, err := s.ListIncomplete(ctx, bucket, key); err != nil || len(incomplete) != 0 {
				t.Errorf("ListIncomplete after completion = %+v, %v; want none", incomplete, err)
			}
		})
	}
}

func TestPresignedPartRefusals(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	key := "tender-8/bid"
	id := mustInitiate(t, s, bucket, key)
	t.Cleanup(func() { _ = s.AbortMultipart(ctx, bucket, key, id) })
	data := randomBytes(1<<16, 99)
	u, err := s.PresignPart(ctx, bucket, key, id, 1, int64(len(data)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		url        func() *url.URL
		body       []byte // nil: data, the length signed
		contentMD5 string
		wantStatus int
	}{
		{"damaged part", func() *url.URL { return u }, nil, md5Base64([]byte("other bytes")), http.StatusBadRequest},
		// Content-Length is signed: a part of another length is refused by the server.
		{"longer than signed", func() *url.URL { return u }, append(bytes.Clone(data), 0), "", http.StatusForbidden},
		{"shorter than signed", func() *url.URL { return u }, data[:len(data)-1], "", http.StatusForbidden},
		{"far longer than signed", func() *url.URL { return u }, randomBytes(1<<20, 98), "", http.StatusForbidden},
		{"other part number", func() *url.URL {
			v := *u
			q := v.Query()
			q.Set("partNumber", "2")
			v.RawQuery = q.Encode()
			return &v
		}, nil, "", http.StatusForbidden},
		{"other key", func() *url.URL {
			v := *u
			v.Path += "-forged"
			return &v
		}, nil, "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.body
			if b == nil {
				b = data
			}
			status, _, body := putPart(t, tt.url(), b, tt.contentMD5)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
		})
	}
	if parts, err := s.ListParts(ctx, bucket, key, id); err != nil || len(parts) != 0 {
		t.Errorf("ListParts after refused parts = %+v, %v; want none", parts, err)
	}

	invalid := []struct {
		name   string
		part   int
		size   int64
		expiry time.Duration
		upload string
	}{
		{"part 0", 0, 1, time.Minute, id},
		{"part 10001", 10001, 1, time.Minute, id},
		{"size 0", 1, 0, time.Minute, id},
		{"size over 5 GiB", 1, blob.MaxPartSize + 1, time.Minute, id},
		{"expiry 8 days", 1, 1, 8 * 24 * time.Hour, id},
		{"no upload", 1, 1, time.Minute, ""},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PresignPart(ctx, bucket, key, tt.upload, tt.part, tt.size, tt.expiry)
			wantError(t, err, kaiping.KindInvalid, blob.CodeInvalid)
		})
	}
}

// TestCompleteNeverReplaces shows the two guards against replacing a bid: initiation refuses
// a key that holds an object, and completion refuses it atomically when two uploads race.
func TestCompleteNeverReplaces(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	key := "tender-9/bid"
	first, second := mustInitiate(t, s, bucket, key), mustInitiate(t, s, bucket, key)
	a, b := []byte("first upload"), []byte("second upload")
	pa := mustPutPart(t, s, bucket, key, first, 1, a, md5Base64(a))
	pb := mustPutPart(t, s, bucket, key, second, 1, b, md5Base64(b))
	won, err := s.CompleteMultipart(ctx, bucket, key, first, []blob.Part{pa})
	if err != nil {
		t.Fatalf("first completion: %v", err)
	}
	_, err = s.CompleteMultipart(ctx, bucket, key, second, []blob.Part{pb})
	wantError(t, err, kaiping.KindConflict, blob.CodeExists)
	_, err = s.InitiateMultipart(ctx, bucket, key, blob.PutOptions{})
	wantError(t, err, kaiping.KindConflict, blob.CodeExists)
	if got := mustRead(t, s, bucket, key, ""); !bytes.Equal(got, a) {
		t.Errorf("object = %q, want %q", got, a)
	}
	if st := mustStat(t, s, bucket, key, ""); st.VersionID != won.VersionID {
		t.Errorf("current version %s, want %s", st.VersionID, won.VersionID)
	}
	// The refused upload is still open; abort cleans it up.
	if err := s.AbortMultipart(ctx, bucket, key, second); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
}

func TestAbortMultipart(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	keys := []string{"tender-1/bid-a", "tender-1/bid-b", "tender-2/bid-a"}
	ids := make([]string, len(keys))
	for i, key := range keys {
		ids[i] = mustInitiate(t, s, bucket, key)
		mustPutPart(t, s, bucket, key, ids[i], 1, randomBytes(1<<10, uint64(i)), "")
	}
	tests := []struct {
		prefix string
		want   []string // keys, oldest first
	}{
		{"", keys},
		{"tender-1/", keys[:2]},
		{"tender-2/", keys[2:]},
		{"tender-1/bid-b", keys[1:2]},
		{"tender-3/", nil},
	}
	for _, tt := range tests {
		t.Run("list "+tt.prefix, func(t *testing.T) {
			got, err := s.ListIncomplete(ctx, bucket, tt.prefix)
			if err != nil {
				t.Fatalf("ListIncomplete: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ListIncomplete(%q) = %+v, want keys %v", tt.prefix, got, tt.want)
			}
			for i := range got {
				if got[i].Key != tt.want[i] {
					t.Errorf("ListIncomplete(%q)[%d] = %s, want %s", tt.prefix, i, got[i].Key, tt.want[i])
				}
			}
		})
	}
	for i, key := range keys {
		if err := s.AbortMultipart(ctx, bucket, key, ids[i]); err != nil {
			t.Fatalf("AbortMultipart(%s): %v", key, err)
		}
	}
	if got, err := s.ListIncomplete(ctx, bucket, ""); err != nil || len(got) != 0 {
		t.Errorf("ListIncomplete after abort = %+v, %v; want none", got, err)
	}
	after := []struct {
		name string
		err  error
	}{
		{"list parts", func() error { _, err := s.ListParts(ctx, bucket, keys[0], ids[0]); return err }()},
		{"complete", func() error {
			_, err := s.CompleteMultipart(ctx, bucket, keys[0], ids[0], []blob.Part{{Number: 1, ETag: "x"}})
			return err
		}()},
	}
	for _, tt := range after {
		t.Run(tt.name, func(t *testing.T) { wantError(t, tt.err, kaiping.KindNotFound, blob.CodeNoUpload) })
	}
	if err := s.AbortMultipart(ctx, bucket, keys[0], ids[0]); err != nil {
		t.Errorf("second AbortMultipart: %v, want nil (already gone)", err)
	}
	// A part PUT to an aborted upload is refused by the server.
	u, err := s.PresignPart(ctx, bucket, keys[0], ids[0], 2, int64(len("late")), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := putPart(t, u, []byte("late"), ""); status != http.StatusNotFound {
		t.Errorf("part PUT after abort: %d, want 404: %s", status, body)
	}
	for _, key := range keys {
		if _, err := s.Stat(ctx, bucket, key); !kaiping.IsKind(err, kaiping.KindNotFound) {
			t.Errorf("Stat(%s) after abort: %v, want not found", key, err)
		}
	}
}

// TestCompleteMultipartTwice: a caller that died after storage completed its upload
// retries the completion and gets the object that completion made; a retry naming other
// parts does not (the key holds another object than those parts make), nor does one after
// an abort.
func TestCompleteMultipartTwice(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	key := "tender-4/bid"
	id := mustInitiate(t, s, bucket, key)
	chunks := [][]byte{randomBytes(blob.MinPartSize, 41), randomBytes(1<<10, 42)}
	parts := []blob.Part{
		mustPutPart(t, s, bucket, key, id, 1, chunks[0], ""),
		mustPutPart(t, s, bucket, key, id, 2, chunks[1], ""),
	}
	first, err := s.CompleteMultipart(ctx, bucket, key, id, parts)
	if err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	again, err := s.CompleteMultipart(ctx, bucket, key, id, parts)
	if err != nil || again.VersionID != first.VersionID || again.Size != first.Size {
		t.Errorf("second CompleteMultipart = %+v, %v; want version %s", again, err, first.VersionID)
	}
	other := []blob.Part{parts[0], {Number: 2, ETag: fmt.Sprintf("%x", md5.Sum([]byte("other")))}}
	_, err = s.CompleteMultipart(ctx, bucket, key, id, other)
	wantError(t, err, kaiping.KindConflict, blob.CodeExists)

	aborted := "tender-4/aborted"
	abortedID := mustInitiate(t, s, bucket, aborted)
	p := mustPutPart(t, s, bucket, aborted, abortedID, 1, chunks[1], "")
	if err := s.AbortMultipart(ctx, bucket, aborted, abortedID); err != nil {
		t.Fatal(err)
	}
	_, err = s.CompleteMultipart(ctx, bucket, aborted, abortedID, []blob.Part{p})
	wantError(t, err, kaiping.KindNotFound, blob.CodeNoUpload)
}

// TestVersions lists every version under a prefix, delete markers left out.
func TestVersions(t *testing.T) {
	ctx := context.Background()
	s := mustStore(t)
	bucket := mustBucket(t, s)
	for _, key := range []string{"tenders/a/1", "tenders/b/2", "other/3"} {
		if _, err := s.Put(ctx, bucket, key, bytes.NewReader([]byte(key)), int64(len(key)), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.Versions(ctx, bucket, "tenders/")
	if err != nil || len(vs) != 2 || vs[0].Key != "tenders/a/1" || vs[1].Key != "tenders/b/2" || vs[0].VersionID == "" || vs[0].Size != 11 {
		t.Errorf("Versions = %+v, %v; want the two objects under tenders/ with their versions", vs, err)
	}
}

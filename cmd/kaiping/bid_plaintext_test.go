package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestBidSubmitRefusesPlaintextLocally: `kaiping bid submit` of a plain file, and of a file
// with a genuine sealed header followed by a plaintext body, is refused on the bidder's
// machine with a Chinese message before any byte is sent: the server opened no upload, and
// the bids bucket holds no object, no version and no incomplete multipart upload.
func TestBidSubmitRefusesPlaintextLocally(t *testing.T) {
	w := mustBidWorld(t)
	ctx := context.Background()
	if _, err := w.bid(t, "register"); err != nil {
		t.Fatal(err)
	}
	secret := `{"price":"8765432.10"}`
	plain := filepath.Join(w.dir, "开标一览表.json")
	if err := os.WriteFile(plain, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	sealed := filepath.Join(w.dir, "summary.kpseal")
	if _, err := w.bid(t, "seal", "--in", plain, "--out", sealed); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(sealed)
	if err != nil {
		t.Fatal(err)
	}
	_, size, err := seal.ParseHeader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	crafted := filepath.Join(w.dir, "crafted.kpseal")
	body := bytes.Repeat([]byte(secret), len(file))[:len(file)-int(size)]
	if err := os.WriteFile(crafted, append(file[:size:size], body...), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct{ name, path, says string }{
		{"a plain file", plain, "不是按要求加密的投标文件"},
		{"a sealed header over a plaintext body", crafted, "不是完整的密文"},
	} {
		out, err := w.bid(t, "submit", "--file", tt.path, "--quiet")
		if err == nil || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "未上传") {
			t.Errorf("%s: %q, %v; want a local refusal saying %q", tt.name, out, err, tt.says)
		}
		if _, serr := os.Stat(tt.path + ".upload.json"); !os.IsNotExist(serr) {
			t.Errorf("%s: the tool recorded an upload to resume", tt.name)
		}
	}

	var uploads int
	if err := w.app.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM bid_uploads`).Scan(&uploads); err != nil || uploads != 0 {
		t.Errorf("%d uploads opened on the server, %v; want none", uploads, err)
	}
	mc, err := devenv.MinIOServer(t).Client()
	if err != nil {
		t.Fatal(err)
	}
	bucket := w.setup.Config.Blob.BidsBucket
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		t.Errorf("in the bids bucket: %s version %s (err %v)", o.Key, o.VersionID, o.Err)
	}
	for u := range mc.ListIncompleteUploads(ctx, bucket, "", true) {
		t.Errorf("an incomplete upload: %s %s (err %v)", u.Key, u.UploadID, u.Err)
	}

	// The genuine file still goes through.
	if out, err := w.bid(t, "submit", "--file", sealed, "--quiet"); err != nil || !strings.Contains(out, "bid.submit") {
		t.Fatalf("the genuine file: %q %v", out, err)
	}
}

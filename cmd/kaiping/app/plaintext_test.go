package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/leakscan"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/blob"
)

// rawSubmit submits file as kind the way a tool that skips the bidder library's check
// would: it declares the file's size and SHA-256, PUTs each part on its presigned URL with
// plain HTTP and completes. It returns the ticket (for the object key) and the answer.
func rawSubmit(_ testing.TB, c *apiclient.Client, tender kaiping.ID, kind string, file []byte) (opening.UploadTicket, opening.Receipt, error) {
	return rawSubmitAs(c, tender, declared(file, kind), file)
}

// declared is what a tool declares for file: its size and SHA-256.
func declared(file []byte, kind string) opening.StartUploadRequest {
	return opening.StartUploadRequest{Kind: kind, Size: int64(len(file)), SHA256: sha256Hex(file)}
}

// rawSubmitAs is rawSubmit with the declaration given: start, PUT the parts, complete.
func rawSubmitAs(c *apiclient.Client, tender kaiping.ID, req opening.StartUploadRequest, file []byte) (opening.UploadTicket, opening.Receipt, error) {
	ctx := context.Background()
	var tk opening.UploadTicket
	if err := c.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(tender)+"/sections/BD1/uploads", req, &tk); err != nil {
		return tk, opening.Receipt{}, err
	}
	var parts []opening.Part
	for n := 1; n <= tk.Upload.Parts(); n++ {
		off := int64(n-1) * tk.Upload.PartSize
		body := file[off:min(off+tk.Upload.PartSize, int64(len(file)))]
		put, err := http.NewRequestWithContext(ctx, http.MethodPut, tk.PartURLs[n], bytes.NewReader(body))
		if err != nil {
			return tk, opening.Receipt{}, err
		}
		resp, err := http.DefaultClient.Do(put)
		if err != nil {
			return tk, opening.Receipt{}, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return tk, opening.Receipt{}, fmt.Errorf("part %d PUT: %s", n, resp.Status)
		}
		parts = append(parts, opening.Part{Number: n, ETag: strings.Trim(resp.Header.Get("ETag"), `"`)})
	}
	var rc opening.Receipt
	err := c.Do(ctx, http.MethodPost, "/api/v1/uploads/"+string(tk.Upload.ID)+"/complete", opening.CompleteRequest{Parts: parts}, &rc)
	return tk, rc, err
}

// plaintextBody returns a copy of the sealed file with its genuine header and, in place of
// its payload, plaintext of exactly the payload's length: size and SHA-256 declared for it
// match what is stored, the header names the right tender, bidder and certificate, and
// only the body is not ciphertext.
func plaintextBody(tb testing.TB, sealed, text []byte) []byte {
	tb.Helper()
	_, size, err := seal.ParseHeader(bytes.NewReader(sealed))
	if err != nil {
		tb.Fatal(err)
	}
	body := bytes.Repeat(text, len(sealed)/len(text)+1)[:len(sealed)-int(size)]
	return append(bytes.Clone(sealed[:size]), body...)
}

// TestServerRefusesPlaintextBody: a file with a genuine sealed header followed by a
// plaintext body of the right size, sent bypassing the bidder's tool (raw HTTP on the
// presigned parts), is refused at completion with bid.not_ciphertext before it is locked:
// the stored version is deleted, no multipart upload is left, the upload is ended with the
// reason and ledgered, and the plaintext is nowhere the platform keeps anything (log lines,
// rows, objects, MinIO's files but its trash). A genuine sealed envelope of the same bidder
// still passes.
//
// MinIO deletes a version by moving its files to its trash (.minio.sys/tmp/.trash), which
// it empties every MINIO_API_DELETE_CLEANUP_INTERVAL (5 minutes by default; the first run
// comes 5 minutes after start whatever the setting), too late for a test to wait for.
func TestServerRefusesPlaintextBody(t *testing.T) {
	w := mustCanaryWorld(t)
	ctx := context.Background()
	b := w.bidders[0]
	canary := newCanary(t)
	text := []byte("技术标：施工组织设计、质量保证措施与工期安排。" + canary + "\n")
	genuine := mustSeal(t, seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: b.id, Kind: seal.Summary},
		bytes.Repeat([]byte(`{"price":"12345678.90"}`), 10000), b.cert) // four chunks
	crafted := plaintextBody(t, genuine, text)

	tk, _, err := rawSubmit(t, b.c, w.tender.ID, "summary", crafted)
	if apiCode(err) != "bid.not_ciphertext" {
		t.Fatalf("a sealed header over a plaintext body: %v, want bid.not_ciphertext", err)
	}
	if msg := err.Error(); strings.Contains(msg, canary) || !strings.Contains(msg, "不是密文") {
		t.Errorf("the refusal's message: %q", msg)
	}
	var state, reason string
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT state, end_reason FROM bid_uploads WHERE id = $1`, tk.Upload.ID).Scan(&state, &reason); err != nil ||
		state != "aborted" || reason != "bid.not_ciphertext" {
		t.Errorf("the upload after the refusal: %s (%s), %v; want aborted (bid.not_ciphertext)", state, reason, err)
	}
	var ledgered int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'bid.upload_abort'
		AND subject = $1 AND convert_from(detail, 'UTF8') LIKE '%bid.not_ciphertext%'`, string(tk.Upload.ID)).Scan(&ledgered); err != nil || ledgered != 1 {
		t.Errorf("%d ledger entries for the refusal, %v; want 1", ledgered, err)
	}
	mc, err := w.minio.Client()
	if err != nil {
		t.Fatal(err)
	}
	bucket := w.ta.setup.Config.Blob.BidsBucket
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: tk.Upload.ObjectKey, WithVersions: true}) {
		t.Errorf("stored after the refusal: %s version %s (delete marker %v, err %v)", o.Key, o.VersionID, o.IsDeleteMarker, o.Err)
	}
	for u := range mc.ListIncompleteUploads(ctx, bucket, "", true) {
		t.Errorf("an incomplete upload after the refusal: %s %s (err %v)", u.Key, u.UploadID, u.Err)
	}

	// The bidder's genuine envelope passes, through the same raw path.
	if _, rc, err := rawSubmit(t, b.c, w.tender.ID, "summary", genuine); err != nil || len(rc.Envelopes) != 1 {
		t.Fatalf("the genuine envelope: %+v, %v", rc, err)
	}
	// MinIO deletes a version by moving its files to its trash, which it empties on its
	// own schedule; anywhere else is a leak.
	trash := string(filepath.Separator) + filepath.Join(".minio.sys", "tmp", ".trash") + string(filepath.Separator)
	inTrash := 0
	for _, f := range w.scan(t, leakscan.Encoded("plaintext body", []byte(canary))) {
		if f.where == inMinIOFile && strings.Contains(f.Place, trash) {
			inTrash++
			continue
		}
		t.Errorf("the refused plaintext is kept: %s", f)
	}
	t.Logf("the refused plaintext is in MinIO's trash only (%d hits), until MinIO empties it", inTrash)
}

// TestServerRefusesPlaintextBodies: each kind of plaintext a careless tool might put behind
// a genuine header, of one chunk or several, is refused with bid.not_ciphertext.
func TestServerRefusesPlaintextBodies(t *testing.T) {
	w := mustSubmissionWorld(t)
	genuine := func(n int) []byte {
		return mustSeal(t, w.binding(seal.Summary), bytes.Repeat([]byte{'x'}, n), w.bidderCert)
	}
	for _, tt := range []struct {
		name string
		file []byte
	}{
		{"a summary in the clear", plaintextBody(t, genuine(100), []byte(`{"price":"12345678.90","duration":365,"quality":"合格"}`))},
		{"zeros", plaintextBody(t, genuine(300_000), make([]byte, 1))},
		{"Chinese text, several chunks", plaintextBody(t, genuine(300_000), []byte("投标报价：壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整。\n"))},
	} {
		if _, _, err := rawSubmit(t, w.bidder, w.tender.ID, "summary", tt.file); apiCode(err) != "bid.not_ciphertext" {
			t.Errorf("%s: %v, want bid.not_ciphertext", tt.name, err)
		}
	}
	var envelopes int
	if err := w.ta.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM bid_envelopes`).Scan(&envelopes); err != nil || envelopes != 0 {
		t.Errorf("%d envelopes accepted, %v", envelopes, err)
	}
}

// BenchmarkReadBack is the completion's one read of a stored 100 MiB envelope from MinIO,
// with the ciphertext screen beside the hashes and, as the anchor in the same run, without
// it (inspect discards): the screen's cost at completion. National mode adds SM3.
func BenchmarkReadBack(b *testing.B) {
	ta := mustApp(b)
	ctx := context.Background()
	cert, err := ta.setup.CA.Issue(devpki.ECDSA, "甲公司", "甲公司", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	plain := make([]byte, 100<<20)
	for i := range plain {
		plain[i] = byte(i + i/251)
	}
	file := mustSeal(b, seal.Binding{Tender: kaiping.NewID(), Section: kaiping.NewID(), Bidder: kaiping.NewID(), Kind: seal.Technical}, plain, cert)
	objects := bidObjects{store: ta.Blob, bucket: ta.setup.Config.Blob.BidsBucket}
	info, err := ta.Blob.Put(ctx, objects.bucket, "bench/readback.kpseal", bytes.NewReader(file), int64(len(file)), blob.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, sm3 := range []bool{false, true} {
		for _, screen := range []bool{false, true} {
			b.Run(fmt.Sprintf("sm3=%v/screen=%v", sm3, screen), func(b *testing.B) {
				b.SetBytes(int64(len(file)))
				for b.Loop() {
					var inspect io.Writer = io.Discard
					s := seal.NewScreen()
					if screen {
						inspect = s
					}
					if _, err := objects.ReadBack(ctx, "bench/readback.kpseal", info.VersionID, sm3, inspect); err != nil {
						b.Fatal(err)
					}
					if err := s.Payload(); screen && err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

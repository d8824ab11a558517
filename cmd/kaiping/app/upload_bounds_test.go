package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestPartURLBindsLength: the URL of a part accepts that part's length only, so a bidder
// cannot store more through it than it declared; the real MinIO refuses the rest.
func TestPartURLBindsLength(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	file := mustSeal(t, w.binding(seal.Summary), []byte(`{"price":"1.00","duration":1}`), w.bidderCert)
	sum := sha256.Sum256(file)
	var tk opening.UploadTicket
	if err := w.bidder.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads",
		opening.StartUploadRequest{Kind: "summary", Size: int64(len(file)), SHA256: hex.EncodeToString(sum[:])}, &tk); err != nil {
		t.Fatal(err)
	}
	url := tk.PartURLs[1]
	tests := []struct {
		name   string
		body   []byte
		status int
	}{
		{"a megabyte more", append(bytes.Clone(file), make([]byte, 1<<20)...), http.StatusForbidden},
		{"one byte more", append(bytes.Clone(file), 0), http.StatusForbidden},
		{"one byte less", file[:len(file)-1], http.StatusForbidden},
		{"the declared length", file, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("PUT of %d bytes on a URL for %d: %s, want %d", len(tt.body), len(file), resp.Status, tt.status)
			}
		})
	}
}

// TestOpenUploadCap: a bidder may hold DefaultSubmitConfig.MaxOpenUploads open uploads in a
// section; the next start is refused until one is abandoned or completed.
func TestOpenUploadCap(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	max := opening.DefaultSubmitConfig.MaxOpenUploads
	start := func(c interface {
		Do(context.Context, string, string, any, any) error
	}) (opening.UploadTicket, error) {
		var tk opening.UploadTicket
		err := c.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads",
			opening.StartUploadRequest{Kind: "summary", Size: 10, SHA256: hex.EncodeToString(make([]byte, 32))}, &tk)
		return tk, err
	}
	var first opening.UploadTicket
	for i := range max {
		tk, err := start(w.bidder)
		if err != nil {
			t.Fatalf("upload %d of %d: %v", i+1, max, err)
		}
		if i == 0 {
			first = tk
		}
	}
	tests := []struct {
		name string
		do   func() error
		code string
	}{
		{"one more", func() error { _, err := start(w.bidder); return err }, "upload.too_many_open"},
		{"another bidder is not counted with it", func() error { _, err := start(w.otherBidder); return err }, ""},
		{"another bidder cannot abandon it", func() error {
			return w.otherBidder.Do(ctx, http.MethodDelete, "/api/v1/uploads/"+string(first.Upload.ID), nil, nil)
		}, "upload.not_found"},
		{"abandon one", func() error {
			return w.bidder.Do(ctx, http.MethodDelete, "/api/v1/uploads/"+string(first.Upload.ID), nil, nil)
		}, ""},
		{"abandon it again", func() error {
			return w.bidder.Do(ctx, http.MethodDelete, "/api/v1/uploads/"+string(first.Upload.ID), nil, nil)
		}, "upload.closed"},
		{"then one more", func() error { _, err := start(w.bidder); return err }, ""},
		{"and no more", func() error { _, err := start(w.bidder); return err }, "upload.too_many_open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); apiCode(err) != tt.code && !(tt.code == "" && err == nil) {
				t.Fatalf("%v, want %q", err, tt.code)
			}
		})
	}
}

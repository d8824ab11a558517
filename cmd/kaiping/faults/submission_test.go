package faults

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
)

// TestSubmissionFaults: one tender, one bidder per fault. Two bidders submit before any
// fault; then each other bidder's submission meets its fault at a known step (kaiping killed
// with SIGKILL, or PostgreSQL cut, reset or slowed, or storage slowed) and the bidder's
// tool carries on as it does after a crash (resume with the upload ID) before the
// deadline. When the set is sealed it holds exactly the receipted envelopes, the hall has
// every bidder, and the ledger verifies.
func TestSubmissionFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault func(w *world, b *bidderT)
	}{
		{"kaiping killed after the upload started", func(w *world, b *bidderT) {
			tk := w.startUpload(b)
			w.kill()
			w.restart()
			w.resume(b, tk.Upload.ID)
		}},
		{"kaiping killed after the parts were stored", func(w *world, b *bidderT) {
			tk := w.startUpload(b)
			w.putParts(b, tk)
			w.kill()
			w.restart()
			w.resume(b, tk.Upload.ID)
		}},
		{"kaiping killed before storage completed the upload", func(w *world, b *bidderT) {
			w.killAtStorage(b, "POST /"+w.bids+"/", "uploadId=")
		}},
		{"kaiping killed after storage completed the upload, reading it back", func(w *world, b *bidderT) {
			w.killAtStorage(b, "GET /"+w.bids+"/", "versionId=")
		}},
		{"kaiping killed after reading it back, locking it", func(w *world, b *bidderT) {
			w.killAtStorage(b, "PUT /"+w.bids+"/", "retention")
		}},
		{"kaiping killed after the commit, before the receipt reached the bidder", func(w *world, b *bidderT) {
			// The bidder reaches kaiping through a proxy that holds kaiping's answer.
			front := w.tp.Proxy(w.t, "kaiping", strings.TrimPrefix(w.base, "http://"))
			b.c = w.loginAt("http://"+front.Addr(), b.cert)
			hold := front.HoldReply(`"action":"bid.submit"`)
			upload, done := w.submitting(b)
			w.waitHeld(hold, done)
			w.kill()
			hold.Drop()
			if err := <-done; err == nil {
				w.t.Fatal("the bidder got its receipt although kaiping was killed first")
			}
			w.restart()
			b.c = w.login(b.cert)
			w.resume(b, kaiping.ID(upload()))
		}},
		{"PostgreSQL cut while the upload completes", func(w *world, b *bidderT) {
			w.dbFaultAtCompletion(b, w.pgProxy.Cut)
		}},
		{"PostgreSQL connections reset while the upload completes", func(w *world, b *bidderT) {
			w.dbFaultAtCompletion(b, w.pgProxy.Reset)
		}},
		{"PostgreSQL and storage slowed", func(w *world, b *bidderT) {
			w.pgProxy.Slow(5 * time.Millisecond)
			w.s3Proxy.Slow(100 * time.Millisecond)
			defer w.pgProxy.Restore()
			defer w.s3Proxy.Restore()
			w.submit(b)
		}},
	}
	w := newWorld(t, worldOptions{bidders: 2 + len(cases)})
	w.submit(w.bidders[0])
	w.submit(w.bidders[1])
	for i, c := range cases {
		b := w.bidders[2+i]
		t.Run(c.name, func(t *testing.T) {
			sw := w.in(t)
			c.fault(sw, b)
			if len(b.receipts) == 0 {
				t.Fatalf("%s holds no receipt", b.name)
			}
			if err := bidder.VerifyReceipt(b.receipts[len(b.receipts)-1], w.verifier()); err != nil {
				t.Errorf("the receipt does not verify: %v", err)
			}
		})
	}
	w.relogin()
	set := w.sealSet()
	w.checkBidSet(set)
	var board opening.BoardView
	w.do(w.host, http.MethodGet, w.hallPath("/board"), nil, &board)
	receipted := 0
	for _, b := range w.bidders {
		if len(b.receipts) > 0 {
			receipted++
		}
	}
	if board.State != opening.HallSealed || board.Bidders != receipted {
		t.Errorf("hall after sealing: %s with %d bidders, want sealed with the %d receipted", board.State, board.Bidders, receipted)
	}
	w.verifyLedger()
}

// startUpload opens an upload of b's summary, as the tool does before sending any part.
func (w *world) startUpload(b *bidderT) opening.UploadTicket {
	w.t.Helper()
	d := w.digest(b)
	var tk opening.UploadTicket
	w.do(b.c, http.MethodPost, w.sectionPath("/uploads"), opening.StartUploadRequest{Kind: "summary", Size: d.Size, SHA256: d.SHA256}, &tk)
	return tk
}

// putParts sends every part of the ticket straight to storage, without completing.
func (w *world) putParts(b *bidderT, tk opening.UploadTicket) {
	w.t.Helper()
	for n, u := range tk.PartURLs {
		off := int64(n-1) * tk.Upload.PartSize
		length := min(tk.Upload.PartSize, tk.Upload.DeclaredSize-off)
		req, err := http.NewRequest(http.MethodPut, u, io.NewSectionReader(bytes.NewReader(b.file), off, length))
		if err != nil {
			w.t.Fatal(err)
		}
		req.ContentLength = length
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			w.t.Fatalf("part %d: %s", n, resp.Status)
		}
	}
}

// submitting runs b's submission in the background, keeping the upload ID the tool records;
// the channel gets its error (nil with a receipt kept).
func (w *world) submitting(b *bidderT) (upload func() string, done <-chan error) {
	started := make(chan string, 1)
	errc := make(chan error, 1)
	s := bidder.NewSubmitter(b.c)
	s.OnStarted = func(tk opening.UploadTicket) { started <- string(tk.Upload.ID) }
	file := b.file
	d := w.digest(b)
	go func() {
		rc, err := s.Submit(context.Background(), string(w.tender.ID), "BD1", "summary", bytes.NewReader(file), d)
		if err == nil {
			b.receipts = append(b.receipts, rc)
		}
		errc <- err
	}()
	var id string
	return func() string {
		if id == "" {
			select {
			case id = <-started:
			case <-time.After(settle):
				w.t.Fatal("the upload did not start")
			}
		}
		return id
	}, errc
}

// waitHeld waits until hold holds its request, failing if the submission ended first.
func (w *world) waitHeld(hold *devenv.Hold, done <-chan error) {
	w.t.Helper()
	select {
	case <-hold.Reached():
	case err := <-done:
		w.t.Fatalf("the submission ended before reaching the step: %v", err)
	case <-time.After(settle):
		w.t.Fatal("the submission did not reach the step in time")
	}
}

// killAtStorage submits b's summary with the first request to storage matching match held
// at the proxy, kills kaiping there (the request never reaches storage), restarts it and
// lets the bidder's tool resume.
func (w *world) killAtStorage(b *bidderT, match ...string) {
	w.t.Helper()
	hold := w.s3Proxy.Hold(match...)
	upload, done := w.submitting(b)
	w.waitHeld(hold, done)
	w.kill()
	hold.Drop()
	w.s3Proxy.Restore()
	if err := <-done; err == nil {
		w.t.Fatal("the submission succeeded although kaiping was killed")
	}
	w.restart()
	w.resume(b, kaiping.ID(upload()))
}

// dbFaultAtCompletion holds the completion when kaiping reads the completed object back,
// applies fault to PostgreSQL's connections, lets the completion go on (it fails), restores
// PostgreSQL and lets the bidder's tool resume.
func (w *world) dbFaultAtCompletion(b *bidderT, fault func()) {
	w.t.Helper()
	hold := w.s3Proxy.Hold("GET /"+w.bids+"/", "versionId=")
	upload, done := w.submitting(b)
	w.waitHeld(hold, done)
	fault()
	hold.Release()
	err := <-done
	w.pgProxy.Restore()
	w.s3Proxy.Restore()
	if err == nil {
		// The transaction may have gone through before the connections failed.
		return
	}
	w.t.Logf("completion with PostgreSQL failing: %v", err)
	w.resume(b, kaiping.ID(upload()))
}

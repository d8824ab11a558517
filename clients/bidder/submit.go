package bidder

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/opening"
)

// Submitter uploads sealed envelopes: parts go straight to object storage on the presigned
// URLs the server hands out, in parallel and each retried; then the server completes.
type Submitter struct {
	API        *apiclient.Client
	HTTP       *http.Client
	Parallel   int // parts in flight
	Retries    int // attempts per part
	OnPartDone func(done, total int)
	// OnStarted is called once the server has opened the upload, before any part is sent:
	// the tool records the upload ID there so that it can resume after a crash.
	OnStarted func(opening.UploadTicket)
}

// NewSubmitter returns a submitter using api's session.
func NewSubmitter(api *apiclient.Client) *Submitter {
	return &Submitter{API: api, HTTP: &http.Client{Timeout: 10 * time.Minute}, Parallel: 4, Retries: 4}
}

// Submit uploads the sealed envelope in file, which Check passed as d, as kind for a tender
// section and returns the receipt. A d that Check did not make is refused before the
// server is asked for anything.
func (s *Submitter) Submit(ctx context.Context, tender, section, kind string, file io.ReaderAt, d FileDigest) (opening.Receipt, error) {
	if !d.checked {
		return opening.Receipt{}, checkedFor(d, opening.Upload{})
	}
	var tk opening.UploadTicket
	err := s.API.Do(ctx, http.MethodPost, "/api/v1/tenders/"+tender+"/sections/"+section+"/uploads",
		opening.StartUploadRequest{Kind: kind, Size: d.Size, SHA256: d.SHA256, SM3: d.SM3}, &tk)
	if err != nil {
		return opening.Receipt{}, err
	}
	if s.OnStarted != nil {
		s.OnStarted(tk)
	}
	return s.Finish(ctx, tk, file, d)
}

// Resume continues the upload id after a crash: only the parts not yet stored are sent.
// file must be the one the upload declared, passed by Check as d.
func (s *Submitter) Resume(ctx context.Context, id string, file io.ReaderAt, d FileDigest) (opening.Receipt, error) {
	if !d.checked {
		return opening.Receipt{}, checkedFor(d, opening.Upload{})
	}
	var tk opening.UploadTicket
	if err := s.API.Do(ctx, http.MethodGet, "/api/v1/uploads/"+id, nil, &tk); err != nil {
		return opening.Receipt{}, err
	}
	return s.Finish(ctx, tk, file, d)
}

// Finish sends the missing parts of a ticket and completes the upload. file must be the
// one the ticket's upload declared, passed by Check as d.
func (s *Submitter) Finish(ctx context.Context, tk opening.UploadTicket, file io.ReaderAt, d FileDigest) (opening.Receipt, error) {
	if err := checkedFor(d, tk.Upload); err != nil {
		return opening.Receipt{}, err
	}
	u := tk.Upload
	parts := append([]opening.Part(nil), tk.Done...)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, max(1, s.Parallel))
	var wg sync.WaitGroup
	total := u.Parts()
	for n, url := range tk.PartURLs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			off := int64(n-1) * u.PartSize
			length := min(u.PartSize, u.DeclaredSize-off)
			etag, err := s.putPart(ctx, url, d.section(file, off, length), length)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("part %d: %w", n, err)
				}
				return
			}
			parts = append(parts, opening.Part{Number: n, ETag: etag})
			if s.OnPartDone != nil {
				s.OnPartDone(len(parts), total)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return opening.Receipt{}, fmt.Errorf("upload %s (resume with its ID): %w", u.ID, firstErr)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	var rc opening.Receipt
	err := s.API.Do(ctx, http.MethodPost, "/api/v1/uploads/"+string(u.ID)+"/complete", opening.CompleteRequest{Parts: parts}, &rc)
	return rc, err
}

func (s *Submitter) putPart(ctx context.Context, url string, body io.ReadSeeker, length int64) (string, error) {
	var last error
	for attempt := 0; attempt < max(1, s.Retries); attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 200 * time.Millisecond):
			}
		}
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, body)
		if err != nil {
			return "", err
		}
		req.ContentLength = length
		resp, err := s.HTTP.Do(req)
		if kaiping.CodeOf(err) == "bid.file_changed" {
			return "", err // the file, not the network: a retry reads the same
		}
		if err != nil {
			last = err
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return strings.Trim(resp.Header.Get("ETag"), `"`), nil
		}
		last = fmt.Errorf("storage answered %s", resp.Status)
		if resp.StatusCode/100 == 4 {
			break // a refused URL does not get better by retrying
		}
	}
	return "", last
}

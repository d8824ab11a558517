package bidder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
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

// FileDigest is what the tool declares about a sealed file before uploading it: the server
// checks the stored object against it.
type FileDigest struct {
	Size   int64
	SHA256 string // hex
	SM3    string // hex; national-crypto mode (suite sm4gcm) only, where the server requires it
}

// Digest reads a sealed file once and returns its size and SHA-256 and, for a file sealed
// with SM4-GCM (national mode), its SM3, hashed alongside on another core. The SM3 is left
// out otherwise: it costs as much again and the server does not want it.
func Digest(r io.Reader, suite seal.Suite) (FileDigest, error) {
	h := sha256.New()
	var d FileDigest
	var err error
	if suite != seal.SM4GCM {
		d.Size, err = io.Copy(h, r)
		d.SHA256 = hex.EncodeToString(h.Sum(nil))
		return d, err
	}
	s := sm3.New()
	d.Size, err = io.CopyBuffer(iox.ParallelWriter(h, s), r, make([]byte, 1<<20))
	d.SHA256, d.SM3 = hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(s.Sum(nil))
	return d, err
}

// Submit uploads the sealed envelope in file (described by d) as kind for a tender section
// and returns the receipt.
func (s *Submitter) Submit(ctx context.Context, tender, section, kind string, file io.ReaderAt, d FileDigest) (opening.Receipt, error) {
	var tk opening.UploadTicket
	err := s.API.Do(ctx, http.MethodPost, "/api/v1/tenders/"+tender+"/sections/"+section+"/uploads",
		opening.StartUploadRequest{Kind: kind, Size: d.Size, SHA256: d.SHA256, SM3: d.SM3}, &tk)
	if err != nil {
		return opening.Receipt{}, err
	}
	if s.OnStarted != nil {
		s.OnStarted(tk)
	}
	return s.Finish(ctx, tk, file)
}

// Resume continues the upload id after a crash: only the parts not yet stored are sent.
func (s *Submitter) Resume(ctx context.Context, id string, file io.ReaderAt) (opening.Receipt, error) {
	var tk opening.UploadTicket
	if err := s.API.Do(ctx, http.MethodGet, "/api/v1/uploads/"+id, nil, &tk); err != nil {
		return opening.Receipt{}, err
	}
	return s.Finish(ctx, tk, file)
}

// Finish sends the missing parts of a ticket and completes the upload.
func (s *Submitter) Finish(ctx context.Context, tk opening.UploadTicket, file io.ReaderAt) (opening.Receipt, error) {
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
			etag, err := s.putPart(ctx, url, io.NewSectionReader(file, off, length), length)
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

func (s *Submitter) putPart(ctx context.Context, url string, body *io.SectionReader, length int64) (string, error) {
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

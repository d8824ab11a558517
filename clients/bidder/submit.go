package bidder

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/kaiping/kaiping"
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
// checks the stored object against it. Only Check makes one that Submit, Resume and Finish
// accept: no byte of a file leaves this machine before Check has opened all of it.
type FileDigest struct {
	Size   int64
	SHA256 string // hex
	SM3    string // hex; national-crypto mode (suite sm4gcm) only, where the server requires it
	// checked is set by Check alone, once every chunk opened with the bidder's own key.
	checked bool
}

// Check reads a sealed file once, on this machine, before any byte of it is sent, and
// refuses it unless it is an envelope the bidder can open at the opening: its header must
// parse, the file key must unwrap with the bidder's own key (id: the certificate's key in a
// key file or on a token) and every chunk must open with that file key. A plain file is
// bid.not_sealed, one sealed to another key bid.not_openable, and one whose payload does
// not open in full (a sealed header over plaintext, a damaged or cut file) is
// bid.not_ciphertext, each with a message saying nothing was uploaded and none quoting the
// file. It returns the file's size and SHA-256 and, for a file sealed with SM4-GCM
// (national mode), its SM3, hashed in the same read.
//
// Opening every chunk costs what the opening itself will cost the server (AES-GCM or
// SM4-GCM on every core), alongside the hashes the tool computes anyway.
func Check(r io.Reader, id seal.Identity) (FileDigest, error) {
	src := &digestReader{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	h, _, err := seal.ParseHeader(br)
	if err != nil {
		if isIO(err) {
			return FileDigest{}, err
		}
		return FileDigest{}, kaiping.E(kaiping.KindInvalid, "bid.not_sealed",
			"文件不是按要求加密的投标文件（"+kaiping.CodeOf(err)+"），未上传任何内容：请先用 kaiping bid seal 加密")
	}
	key, err := h.UnwrapFileKey(id)
	if err != nil {
		return FileDigest{}, kaiping.E(kaiping.KindInvalid, "bid.not_openable",
			"无法用本人证书的私钥解开该文件（"+kaiping.CodeOf(err)+"），开标时将无法解密，未上传任何内容")
	}
	defer clear(key)
	sha, sm := sha256.New(), sm3.New()
	if h.Suite == seal.SM4GCM {
		src.start(iox.ParallelWriter(sha, sm))
	} else {
		src.start(sha)
	}
	rd, err := seal.OpenPayload(h, br, key)
	if err == nil {
		_, err = rd.WriteTo(io.Discard)
	}
	if err != nil {
		if isIO(err) {
			return FileDigest{}, err
		}
		return FileDigest{}, kaiping.E(kaiping.KindInvalid, "bid.not_ciphertext",
			"文件不是完整的密文："+sealMessage(err)+"。未上传任何内容，请重新加密后递交")
	}
	d := FileDigest{Size: src.n, SHA256: hex.EncodeToString(sha.Sum(nil)), checked: true}
	if h.Suite == seal.SM4GCM {
		d.SM3 = hex.EncodeToString(sm.Sum(nil))
	}
	return d, nil
}

// isIO tells a failure to read the file from a verdict about its content.
func isIO(err error) bool {
	var ke *kaiping.Error
	return !errors.As(err, &ke)
}

// sealMessage is the Chinese message of a seal error (it names a chunk, never its content).
func sealMessage(err error) string {
	var ke *kaiping.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return kaiping.CodeOf(err)
}

// digestReader counts what is read through it and feeds it to a hash, holding back what
// is read before the hash is chosen (the header, and what the buffer read past it).
type digestReader struct {
	r       io.Reader
	w       io.Writer
	pending []byte
	n       int64
}

func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n += int64(n)
	if d.w == nil {
		d.pending = append(d.pending, p[:n]...)
	} else {
		d.w.Write(p[:n])
	}
	return n, err
}

// start hashes what was held back and everything read from now on into w.
func (d *digestReader) start(w io.Writer) {
	d.w = w
	w.Write(d.pending)
	clear(d.pending)
	d.pending = nil
}

// checkedFor refuses to send a file Check has not passed, or another file than the upload
// declared.
func checkedFor(d FileDigest, u opening.Upload) error {
	if !d.checked {
		return kaiping.E(kaiping.KindInvalid, "bid.unchecked", "文件未经本机检查（bidder.Check），不能上传")
	}
	if d.Size != u.DeclaredSize || d.SHA256 != u.DeclaredSHA256 {
		return kaiping.E(kaiping.KindInvalid, "bid.other_file", "该上传任务登记的是另一个文件，未上传任何内容")
	}
	return nil
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

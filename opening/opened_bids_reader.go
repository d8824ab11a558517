package opening

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// sniffLen is how much of the plaintext ContentType looks at (what http.DetectContentType
// reads).
const sniffLen = 512

// BidReader is one opened envelope's plaintext, streamed: each chunk is authenticated before
// it is handed out, and the stream ends with io.EOF only once the final chunk is
// authenticated and the length is the one the opening verified. Any other end is an error
// ("reading.corrupt" for stored bytes that no longer open as verified); a caller that has
// already sent part of it must then abort what it was sending, never present it as the bid.
// Nothing of it is written anywhere but to the caller.
type BidReader struct {
	OpenedBid
	// ContentType is sniffed from the first bytes of the plaintext: "application/pdf" for
	// a PDF (bids carry no file name or type of their own).
	ContentType string

	obj  io.ReadCloser
	sr   *seal.Reader
	head []byte // the sniffed first bytes, not yet handed out
	n    int64  // plaintext bytes handed out
	err  error  // sticky
}

// stream opens e's stored object, unwraps its file key for the derivation of the payload
// keys only, checks the header binds the envelope to this bid, and reads the first bytes
// to sniff the type.
func (o *OpenedBids) stream(ctx context.Context, e HallEnvelope, b OpenedBid) (*BidReader, error) {
	op := "opening.ReadBid " + string(e.ID)
	obj, err := o.open(ctx, e.ObjectKey, e.ObjectVer)
	if err != nil {
		return nil, err
	}
	fileKey, err := o.keys.Unwrap(ctx, e.ID, e.WrappedKey)
	if err != nil {
		obj.Close()
		return nil, err
	}
	// The reader keeps the payload keys derived from it; the file key itself goes now.
	sr, err := seal.Open(obj, fileKey)
	clear(fileKey)
	if err == nil {
		err = sr.Header().Check(seal.Binding{Tender: b.Tender, Section: b.Section, Bidder: b.Bidder, Kind: seal.EnvelopeKind(b.Kind)})
	}
	if err != nil {
		obj.Close()
		return nil, corruptOrOurs(op, err)
	}
	r := &BidReader{OpenedBid: b, obj: obj, sr: sr}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(sr, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		r.Close()
		return nil, corruptOrOurs(op, err)
	}
	r.head = head[:n]
	r.ContentType = http.DetectContentType(r.head)
	return r, nil
}

// corruptOrOurs tells stored bytes that do not open (a seal.* error: the envelope was
// altered after the opening verified it) from a failure on our way to them (storage
// unreachable, a read cut short), which is returned as it is.
func corruptOrOurs(op string, err error) error {
	if strings.HasPrefix(kaiping.CodeOf(err), "seal.") {
		return errReadCorrupt(op, err)
	}
	return err
}

// Read reads decrypted plaintext.
func (r *BidReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(r.head) > 0 {
		n := copy(p, r.head)
		clear(r.head[:n])
		r.head = r.head[n:]
		r.n += int64(n)
		return n, nil
	}
	n, err := r.sr.Read(p)
	r.n += int64(n)
	return n, r.end(err)
}

// WriteTo writes the rest of the plaintext to w, decrypting on every core (seal.Reader's
// WriteTo), so io.Copy from a BidReader is as fast as seal.Decrypt.
func (r *BidReader) WriteTo(w io.Writer) (int64, error) {
	if r.err != nil {
		return 0, r.err
	}
	var total int64
	if len(r.head) > 0 {
		n, err := w.Write(r.head)
		clear(r.head[:n])
		r.head = r.head[n:]
		total += int64(n)
		r.n += int64(n)
		if err != nil {
			return total, err
		}
	}
	n, err := r.sr.WriteTo(w)
	total += n
	r.n += n
	if err == nil {
		err = io.EOF
	}
	if err = r.end(err); err == io.EOF {
		err = nil
	}
	return total, err
}

// end turns the seal reader's result into the stream's: io.EOF only with the length the
// opening verified, a seal.* error as "reading.corrupt", and keeps it.
func (r *BidReader) end(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		if r.n != r.PlaintextSize {
			err = errReadCorrupt("opening.ReadBid "+string(r.Envelope),
				fmt.Errorf("read %d plaintext bytes, the opening verified %d", r.n, r.PlaintextSize))
		}
	default:
		err = corruptOrOurs("opening.ReadBid "+string(r.Envelope), err)
	}
	r.err = err
	return err
}

// Close releases the stored object.
func (r *BidReader) Close() error {
	clear(r.head)
	if r.err == nil {
		r.err = kaiping.E(kaiping.KindConflict, "reading.closed", "读取已结束")
	}
	return r.obj.Close()
}

package opening

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// work verifies queued envelopes one at a time until ctx ends.
func (h *Hall) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-h.queue.jobs:
			h.queue.take(j)
			v, err := h.verifyOnce(ctx, j)
			if err != nil {
				if kaiping.IsKind(err, kaiping.KindUnavailable) {
					h.health.learnt(err)
				}
				h.retryLater(ctx, j, err)
				continue
			}
			h.health.learnt(nil)
			h.finish(ctx, j, v)
			h.queue.done(j)
		}
	}
}

// retryLater sets aside a job whose verification failed on our side (storage unreachable,
// a read cut short, the KEK): the key was handed in on time, so the envelope stays queued,
// with the failure noted (HallStore.RecordVerifyFailure), and is tried again after a
// capped, jittered backoff, for as long as it is queued. Meanwhile it holds no worker and
// no place, and the window does not close on it.
func (h *Hall) retryLater(ctx context.Context, j verifyJob, cause error) {
	j.tries++
	code := kaiping.CodeOf(cause)
	if code == "" || code == "internal" {
		code = ReasonPlatformError
	}
	h.log.Warn("verify envelope failed on our side; retrying", "envelope_id", j.env.ID, "tries", j.tries, "err", cause)
	queued, err := h.store.RecordVerifyFailure(ctx, j.env.ID, code)
	switch {
	case err != nil:
		// Not noted, still queued: tried again all the same.
		h.log.Error("record verify failure", "envelope_id", j.env.ID, "err", err)
	case !queued:
		// Another replica settled it meanwhile.
		h.queue.done(j)
		return
	}
	h.queue.later(j)
	h.retryAfter(ctx, j)
}

// retryAfter puts a delayed job back in line once its backoff has passed, or waits another
// backoff while the line is full; a stopped hall drops it (the database still says
// queued: the next process requeues it).
func (h *Hall) retryAfter(ctx context.Context, j verifyJob) {
	time.AfterFunc(h.cfg.retryDelay(j.tries), func() {
		switch {
		case ctx.Err() != nil:
			h.queue.done(j)
		case !h.queue.again(j):
			h.retryAfter(ctx, j)
		}
	})
}

// errSummaryTooLarge stops decrypting a summary envelope past MaxSummaryBytes.
var errSummaryTooLarge = errors.New("summary envelope too large")

// cappedBuffer keeps at most max bytes and refuses more.
type cappedBuffer struct {
	buf []byte
	max int
}

// Write keeps p, or refuses all of it past max.
func (b *cappedBuffer) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > b.max {
		return 0, errSummaryTooLarge
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// verifyOnce streams the envelope from storage and checks every chunk: the summary envelope
// is decrypted into memory (at most MaxSummaryBytes) and its fields read, the others only
// verified. It returns the verdict on the file, or an error when our side failed.
func (h *Hall) verifyOnce(ctx context.Context, j verifyJob) (Verified, error) {
	obj, err := h.open(ctx, j.env.ObjectKey, j.env.ObjectVer)
	if err != nil {
		return Verified{}, err
	}
	defer obj.Close()
	r := &receiptedReader{r: obj, digest: sha256.New()}
	// Unwrapped only here, for this one verification, and cleared after it. An unwrap
	// failure is ours (the KEK or our records): retried.
	fileKey, err := h.keys.Unwrap(ctx, j.env.ID, j.env.WrappedKey)
	if err != nil {
		return Verified{}, err
	}
	defer clear(fileKey)
	if j.env.Kind != string(seal.Summary) {
		res, err := seal.Verify(r, fileKey)
		if err != nil {
			return corruptOr(err, r, j.env)
		}
		return decrypted(res, nil), nil
	}
	plain := &cappedBuffer{max: MaxSummaryBytes}
	// The plaintext lives only in this buffer, and only until its fields are read.
	defer func() { clear(plain.buf) }()
	res, err := seal.Decrypt(plain, r, fileKey)
	if errors.Is(err, errSummaryTooLarge) {
		return Verified{State: EnvCorrupt, ErrorCode: "hall.summary_too_large"}, nil
	}
	if err != nil {
		return corruptOr(err, r, j.env)
	}
	values, err := ParseSummary(j.fields, plain.buf)
	if err != nil {
		return Verified{State: EnvCorrupt, ErrorCode: kaiping.CodeOf(err)}, nil
	}
	return decrypted(res, values), nil
}

// corruptOr tells a bad file (a seal.* error on the very bytes receipted: the file the
// bidder sealed) from our own failure (storage, network, a read cut short or altered, which
// the opener cannot tell from a broken file), which is returned to be retried.
func corruptOr(err error, r *receiptedReader, e HallEnvelope) (Verified, error) {
	code := kaiping.CodeOf(err)
	if !strings.HasPrefix(code, "seal.") {
		return Verified{}, err
	}
	if rerr := r.receipted(e); rerr != nil {
		return Verified{}, fmt.Errorf("verify %s: the opener found %s in bytes that are not the ones receipted: %w", e.ID, code, rerr)
	}
	return Verified{State: EnvCorrupt, ErrorCode: code}, nil
}

// receiptedReader reads an envelope from storage, hashing what it reads and keeping the
// first read error, so that a verdict against the bidder rests on the bytes receipted.
type receiptedReader struct {
	r      io.Reader
	digest hash.Hash
	n      int64
	err    error
}

// Read reads from storage and hashes what it read.
func (r *receiptedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.digest.Write(p[:n])
	r.n += int64(n)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// receipted reads the rest of the object and checks that the whole of it, as read, is the
// file receipted: its size and SHA-256. Any read error, or other bytes, is ours.
func (r *receiptedReader) receipted(e HallEnvelope) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	if got := hex.EncodeToString(r.digest.Sum(nil)); r.n != e.Size || got != e.SHA256 {
		return fmt.Errorf("read %d bytes with SHA-256 %s, receipted %d bytes with %s", r.n, got, e.Size, e.SHA256)
	}
	return nil
}

func decrypted(res *seal.Result, summary map[string]string) Verified {
	return Verified{State: EnvDecrypted, PlaintextSize: res.PlaintextSize, PlaintextDigest: hex.EncodeToString(res.Digest),
		Chunks: int64(res.Chunks), Summary: summary}
}

// finish records the verdict; it retries briefly, since the key was handed in on time and
// the verdict must not be lost to a passing database error.
func (h *Hall) finish(ctx context.Context, j verifyJob, v Verified) {
	for attempt := 1; ; attempt++ {
		err := h.store.FinishVerify(ctx, kaiping.SystemActor(h.clock.Now()), j.env.Section, j.env.ID, v)
		if err == nil || kaiping.IsKind(err, kaiping.KindConflict) && kaiping.CodeOf(err) != "retry" {
			if err != nil {
				h.log.Warn("envelope already verified", "envelope_id", j.env.ID, "err", err)
			}
			return
		}
		if attempt >= 5 || ctx.Err() != nil {
			// Left queued in the database: Due queues it again.
			h.log.Error("record verification", "envelope_id", j.env.ID, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

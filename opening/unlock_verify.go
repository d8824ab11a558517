package opening

import (
	"context"
	"encoding/hex"
	"errors"
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
			v := h.verify(ctx, j)
			h.finish(ctx, j, v)
			h.queue.done(j)
		}
	}
}

// verify streams the envelope from storage and checks every chunk: the summary envelope is
// decrypted into memory (at most MaxSummaryBytes) and its fields read, the others only
// verified. A bad file is corrupt (the bidder's cause); storage failing us is retried, then
// recorded as error (our cause).
func (h *Hall) verify(ctx context.Context, j verifyJob) Verified {
	for attempt := 1; ; attempt++ {
		v, err := h.verifyOnce(ctx, j)
		if err == nil {
			return v
		}
		h.log.Warn("verify envelope", "envelope_id", j.env.ID, "attempt", attempt, "err", err)
		if attempt >= h.cfg.VerifyAttempts || ctx.Err() != nil {
			h.log.Error("verify envelope failed on our side", "envelope_id", j.env.ID, "err", err)
			return Verified{State: EnvError, ErrorCode: ReasonPlatformError}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
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

// verifyOnce returns the verdict on the file, or an error when our side failed.
func (h *Hall) verifyOnce(ctx context.Context, j verifyJob) (Verified, error) {
	r, err := h.open(ctx, j.env.ObjectKey, j.env.ObjectVer)
	if err != nil {
		return Verified{}, err
	}
	defer r.Close()
	// Unwrapped only here, for this one verification, and cleared after it. An unwrap
	// failure is ours (the KEK or our records), retried and then recorded as error.
	fileKey, err := h.keys.Unwrap(ctx, j.env.ID, j.env.WrappedKey)
	if err != nil {
		return Verified{}, err
	}
	defer clear(fileKey)
	if j.env.Kind != string(seal.Summary) {
		res, err := seal.Verify(r, fileKey)
		if err != nil {
			return corruptOr(err)
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
		return corruptOr(err)
	}
	values, err := ParseSummary(j.fields, plain.buf)
	if err != nil {
		return Verified{State: EnvCorrupt, ErrorCode: kaiping.CodeOf(err)}, nil
	}
	return decrypted(res, values), nil
}

// corruptOr tells a bad file (a seal.* error: the file the bidder sealed) from our own
// failure (storage, network), which is returned to be retried.
func corruptOr(err error) (Verified, error) {
	if code := kaiping.CodeOf(err); strings.HasPrefix(code, "seal.") {
		return Verified{State: EnvCorrupt, ErrorCode: code}, nil
	}
	return Verified{}, err
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

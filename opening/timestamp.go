package opening

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kaiping/kaiping"
)

// TimeStamper has a time-stamping authority (TSA, 时间戳服务机构) stamp a SHA-256 digest
// under RFC 3161 and returns the checked token (DER) and the TSA's time; tsa.Client is one.
type TimeStamper interface {
	Stamp(ctx context.Context, digest []byte) (token []byte, at time.Time, err error)
}

// TimeStamp (可信时间戳) is a TSA's token over a receipt or a record: proof, independent of
// the platform's clock and key, that it existed at the TSA's time. A stamp the TSA could
// not give yet is Pending and given later (TimeStamps.StampDue).
type TimeStamp struct {
	// Digest is the hex SHA-256 stamped: for a receipt, ReceiptDigest.
	Digest string `json:"digest"`
	// Token is the DER TimeStampToken (base64 in JSON); `kaiping bid receipt verify
	// --tsa-cert` checks it offline.
	Token   []byte     `json:"token,omitempty"`
	At      *time.Time `json:"stamped_at,omitempty"`
	Pending bool       `json:"pending,omitempty"`
}

// TimeStampDue is a subject still without a token.
type TimeStampDue struct {
	Subject string
	Digest  []byte
}

// TimeStampStore keeps tokens and knows which receipts and records still lack one.
type TimeStampStore interface {
	// SaveTimeStamp stores subject's token; a token stored already is kept.
	SaveTimeStamp(ctx context.Context, subject string, digest, token []byte, at time.Time) error
	// TimeStampFailed counts a failed attempt and puts the next one off (backing off).
	TimeStampFailed(ctx context.Context, subject string, digest []byte, reason string, now time.Time) error
	// DueTimeStamps lists up to limit receipts and archived records without a token whose
	// next attempt is due at now, oldest first.
	DueTimeStamps(ctx context.Context, now time.Time, limit int) ([]TimeStampDue, error)
	// ReceiptTimeStamp returns the stamp of the receipt of ledger entry seq and the bidder
	// whose receipt it is; a receipt not stamped yet is Pending, no such receipt KindNotFound.
	ReceiptTimeStamp(ctx context.Context, seq int64) (TimeStamp, kaiping.ID, error)
	// TimeStampOf returns subject's stamp, Pending (with digest) if it has no token yet.
	TimeStampOf(ctx context.Context, subject string, digest []byte) (TimeStamp, error)
}

// TimeStamps stamps receipts and records at the configured TSA. A receipt is never refused
// or delayed for long because the TSA is away: the bid is in. Stamp tries once, briefly,
// and otherwise answers Pending; StampDue (every replica runs it) stamps what is due later,
// which it finds from the ledger itself, so a crash between a receipt and its stamp loses
// nothing.
type TimeStamps struct {
	stamper TimeStamper
	store   TimeStampStore
	clock   kaiping.Clock
	log     *slog.Logger
	// tryFor bounds the attempt made while a bidder waits for the receipt.
	tryFor time.Duration
	// records are the exported opening records whose stamps Records lists.
	records *RecordExporter
	// quietUntil (unix nanoseconds): after a failure, receipts do not wait on the TSA
	// until then; StampDue catches up.
	quietUntil atomic.Int64
}

// timeStampBatch is how many due stamps one StampDue asks for.
const timeStampBatch = 100

// timeStampQuiet is how long after a failed attempt receipts do not wait on the TSA.
const timeStampQuiet = 30 * time.Second

// NewTimeStamps returns the time-stamping of receipts and records; tryFor bounds the
// attempt a bidder waits for (0: receipts never wait, StampDue stamps them). A nil stamper (no TSA configured) stamps nothing.
func NewTimeStamps(stamper TimeStamper, store TimeStampStore, clock kaiping.Clock, log *slog.Logger, tryFor time.Duration) *TimeStamps {
	return &TimeStamps{stamper: stamper, store: store, clock: clock, log: log, tryFor: tryFor}
}

// ReceiptSubject names a receipt's stamp: its ledger entry.
func ReceiptSubject(seq int64) string { return "receipt:" + strconv.FormatInt(seq, 10) }

// ReceiptDigest is what a receipt's time-stamp stamps: the RFC 6962 leaf hash of its ledger
// entry, SHA-256(0x00 ‖ leaf), which anyone holding the receipt recomputes.
func ReceiptDigest(rc Receipt) []byte {
	sum := sha256.Sum256(append([]byte{0}, rc.Ledger.Leaf...))
	return sum[:]
}

// Receipt stamps rc now if the TSA answers within tryFor, and otherwise answers Pending.
func (t *TimeStamps) Receipt(ctx context.Context, rc Receipt) *TimeStamp {
	if t.stamper == nil {
		return nil
	}
	digest := ReceiptDigest(rc)
	ts := TimeStamp{Digest: hex.EncodeToString(digest), Pending: true}
	if t.tryFor <= 0 || time.Now().UnixNano() < t.quietUntil.Load() {
		return &ts // stamped by StampDue
	}
	ctx, cancel := context.WithTimeout(ctx, t.tryFor)
	defer cancel()
	if stamped, err := t.stamp(ctx, ReceiptSubject(rc.Ledger.Seq), digest); err == nil {
		return &stamped
	}
	return &ts
}

// stamp asks the TSA once and stores the token, or counts the failure.
func (t *TimeStamps) stamp(ctx context.Context, subject string, digest []byte) (TimeStamp, error) {
	token, at, err := t.stamper.Stamp(ctx, digest)
	if err != nil {
		t.quietUntil.Store(time.Now().Add(timeStampQuiet).UnixNano())
		t.log.Warn("time-stamp pending: the TSA did not stamp", "subject", subject, "err", err)
		// A context ended by the bidder's wait still counts the attempt.
		if ferr := t.store.TimeStampFailed(context.WithoutCancel(ctx), subject, digest, err.Error(), t.clock.Now()); ferr != nil {
			t.log.Error("record failed time-stamp", "subject", subject, "err", ferr)
		}
		return TimeStamp{}, err
	}
	t.quietUntil.Store(0)
	if err := t.store.SaveTimeStamp(context.WithoutCancel(ctx), subject, digest, token, at); err != nil {
		// Not kept: StampDue asks again.
		t.log.Error("store time-stamp", "subject", subject, "err", err)
		return TimeStamp{}, err
	}
	return TimeStamp{Digest: hex.EncodeToString(digest), Token: token, At: &at}, nil
}

// StampDue stamps the receipts and records that have no token and whose next attempt is
// due; it returns how many it stamped and the first error.
func (t *TimeStamps) StampDue(ctx context.Context) (int, error) {
	if t.stamper == nil {
		return 0, nil
	}
	due, err := t.store.DueTimeStamps(ctx, t.clock.Now(), timeStampBatch)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, d := range due {
		if _, err := t.stamp(ctx, d.Subject, d.Digest); err != nil {
			return done, err // the TSA is away: the rest waits for the next pass
		}
		done++
	}
	return done, nil
}

// Run calls StampDue every interval until ctx ends.
func (t *TimeStamps) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := t.StampDue(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("time-stamps still pending", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// OfReceipt returns the stamp of the receipt of ledger entry seq to the bidder whose
// receipt it is; to anyone else the receipt does not exist.
func (t *TimeStamps) OfReceipt(ctx context.Context, a kaiping.Actor, seq int64) (TimeStamp, error) {
	if t.stamper == nil {
		return TimeStamp{}, notStamping()
	}
	ts, bidder, err := t.store.ReceiptTimeStamp(ctx, seq)
	if err == nil && bidder != a.Principal {
		err = kaiping.E(kaiping.KindNotFound, "receipt.not_found", "回执不存在")
	}
	return ts, err
}

func notStamping() error {
	return kaiping.E(kaiping.KindNotFound, "timestamp.not_configured", "本平台未配置时间戳服务，回执与开标记录不带时间戳")
}

// StampRecordsOf lists the stamps of x's exported records (Records).
func (t *TimeStamps) StampRecordsOf(x *RecordExporter) { t.records = x }

// RecordTimeStamp is the stamp of one exported form of an opening record.
type RecordTimeStamp struct {
	Round     int       `json:"round"`
	Format    string    `json:"format"`
	ObjectKey string    `json:"object_key"`
	SHA256    string    `json:"sha256"`
	TimeStamp TimeStamp `json:"time_stamp"`
}

// RecordSubject names an archived record's stamp: its object.
func RecordSubject(objectKey string) string { return "record:" + objectKey }

// Records lists the stamps of a section's exported records, each Pending until the TSA
// gave it.
func (t *TimeStamps) Records(ctx context.Context, section kaiping.ID) ([]RecordTimeStamp, error) {
	if t.stamper == nil {
		return nil, notStamping()
	}
	exports, err := t.records.store.RecordExports(ctx, section)
	if err != nil {
		return nil, err
	}
	out := make([]RecordTimeStamp, 0, len(exports))
	for _, x := range exports {
		digest, err := hex.DecodeString(x.SHA256)
		if err != nil {
			return nil, kaiping.Internal("opening.RecordTimeStamps", err)
		}
		ts, err := t.store.TimeStampOf(ctx, RecordSubject(x.ObjectKey), digest)
		if err != nil {
			return nil, err
		}
		out = append(out, RecordTimeStamp{Round: x.Round, Format: x.Format, ObjectKey: x.ObjectKey, SHA256: x.SHA256, TimeStamp: ts})
	}
	return out, nil
}

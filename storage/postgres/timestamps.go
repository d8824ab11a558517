package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

var _ opening.TimeStampStore = (*OpeningStore)(nil)

// SaveTimeStamp implements opening.TimeStampStore. A token stored already is kept (the
// table's trigger also refuses to replace one).
func (s *OpeningStore) SaveTimeStamp(ctx context.Context, subject string, digest, token []byte, at time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO time_stamps (subject, digest, token, stamped_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (subject) DO UPDATE SET token = EXCLUDED.token, stamped_at = EXCLUDED.stamped_at, next_attempt_at = NULL
		WHERE time_stamps.token IS NULL`, subject, digest, token, at)
	return translate("pg.SaveTimeStamp "+subject, err)
}

// TimeStampFailed implements opening.TimeStampStore: the next attempt waits 10 s, doubling
// with every failure up to an hour.
func (s *OpeningStore) TimeStampFailed(ctx context.Context, subject string, digest []byte, reason string, now time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO time_stamps (subject, digest, attempts, last_error, next_attempt_at)
		VALUES ($1, $2, 1, $3, $4::timestamptz + interval '10 seconds')
		ON CONFLICT (subject) DO UPDATE SET attempts = time_stamps.attempts + 1, last_error = EXCLUDED.last_error,
			next_attempt_at = $4::timestamptz + least(interval '1 hour', interval '10 seconds' * power(2, least(time_stamps.attempts, 20)))
		WHERE time_stamps.token IS NULL`, subject, digest, reason, now)
	return translate("pg.TimeStampFailed "+subject, err)
}

// DueTimeStamps implements opening.TimeStampStore: receipts (their ledger entries) first,
// then archived records, each without a token and not put off past now.
func (s *OpeningStore) DueTimeStamps(ctx context.Context, now time.Time, limit int) ([]opening.TimeStampDue, error) {
	var due []opening.TimeStampDue
	rows, err := s.db.Pool.Query(ctx, `SELECT e.seq FROM ledger_entries e
		LEFT JOIN time_stamps t ON t.subject = 'receipt:' || e.seq
		WHERE e.action IN ('bid.submit', 'bid.withdraw') AND t.token IS NULL
			AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= $1)
		ORDER BY e.seq LIMIT $2`, now, limit)
	if err != nil {
		return nil, translate("pg.DueTimeStamps", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, translate("pg.DueTimeStamps", err)
	}
	for _, seq := range seqs {
		entry, err := s.ledger.ReadEntry(ctx, s.db.Pool, seq)
		if err != nil {
			return nil, err
		}
		h := entry.LeafHash()
		due = append(due, opening.TimeStampDue{Subject: opening.ReceiptSubject(seq), Digest: h[:]})
	}
	if len(due) >= limit {
		return due, nil
	}
	rows, err = s.db.Pool.Query(ctx, `SELECT 'record:' || x.object_key, x.sha256 FROM hall_record_exports x
		LEFT JOIN time_stamps t ON t.subject = 'record:' || x.object_key
		WHERE t.token IS NULL AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= $1)
		ORDER BY x.exported_at, x.object_key LIMIT $2`, now, limit-len(due))
	if err != nil {
		return nil, translate("pg.DueTimeStamps", err)
	}
	type record struct {
		Subject, SHA256 string
	}
	records, err := pgx.CollectRows(rows, pgx.RowToStructByPos[record])
	if err != nil {
		return nil, translate("pg.DueTimeStamps", err)
	}
	for _, r := range records {
		d, err := hex.DecodeString(r.SHA256)
		if err != nil || len(d) != 32 {
			return nil, kaiping.Internal("pg.DueTimeStamps", errors.New("record export "+r.Subject+" has no SHA-256"))
		}
		due = append(due, opening.TimeStampDue{Subject: r.Subject, Digest: d})
	}
	return due, nil
}

// ReceiptTimeStamp implements opening.TimeStampStore.
func (s *OpeningStore) ReceiptTimeStamp(ctx context.Context, seq int64) (opening.TimeStamp, kaiping.ID, error) {
	var (
		ts       opening.TimeStamp
		operator string
		action   string
		digest   []byte
		at       *time.Time
	)
	err := s.db.Pool.QueryRow(ctx, `SELECT e.operator, e.action, t.digest, t.token, t.stamped_at FROM ledger_entries e
		LEFT JOIN time_stamps t ON t.subject = 'receipt:' || e.seq WHERE e.seq = $1`, seq).
		Scan(&operator, &action, &digest, &ts.Token, &at)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && action != "bid.submit" && action != "bid.withdraw" {
		return ts, "", kaiping.E(kaiping.KindNotFound, "receipt.not_found", "回执不存在")
	}
	if err != nil {
		return ts, "", translate("pg.ReceiptTimeStamp "+strconv.FormatInt(seq, 10), err)
	}
	if digest == nil {
		entry, err := s.ledger.ReadEntry(ctx, s.db.Pool, seq)
		if err != nil {
			return ts, "", err
		}
		h := entry.LeafHash()
		digest = h[:]
	}
	ts.Digest, ts.At, ts.Pending = hex.EncodeToString(digest), at, ts.Token == nil
	return ts, kaiping.ID(operator), nil
}

// TimeStampOf implements opening.TimeStampStore.
func (s *OpeningStore) TimeStampOf(ctx context.Context, subject string, digest []byte) (opening.TimeStamp, error) {
	ts := opening.TimeStamp{Digest: hex.EncodeToString(digest), Pending: true}
	var at *time.Time
	err := s.db.Pool.QueryRow(ctx, `SELECT token, stamped_at FROM time_stamps WHERE subject = $1 AND token IS NOT NULL`, subject).
		Scan(&ts.Token, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return ts, nil
	}
	ts.At, ts.Pending = at, false
	return ts, translate("pg.TimeStampOf "+subject, err)
}

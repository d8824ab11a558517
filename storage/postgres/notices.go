package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/notice"
)

// NoticeStore keeps the inbox and the outbox (migration 026).
type NoticeStore struct {
	db *DB
}

var _ notice.Store = (*NoticeStore)(nil)

// NewNoticeStore returns the notice store on db.
func NewNoticeStore(db *DB) *NoticeStore { return &NoticeStore{db: db} }

// CreateNotice implements notice.Store.
func (s *NoticeStore) CreateNotice(ctx context.Context, n notice.Notice, ds []notice.Delivery, due time.Time) error {
	return s.db.InTx(ctx, "pg.CreateNotice", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notices (id, principal_id, kind, title, body, link, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, n.ID, nullID(n.Principal), n.Kind, n.Title, n.Body, n.Link, n.CreatedAt); err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := tx.Exec(ctx, `INSERT INTO notice_outbox (id, notice_id, channel, address, next_at)
				VALUES ($1, $2, $3, $4, $5)`, d.ID, n.ID, d.Channel, d.Address, due); err != nil {
				return err
			}
		}
		return nil
	})
}

const noticeColumns = `n.id, n.kind, n.title, n.body, n.link, n.created_at, n.read_at`

func scanNotice(row pgx.Row, extra ...any) (notice.Notice, error) {
	var n notice.Notice
	err := row.Scan(append([]any{&n.ID, &n.Kind, &n.Title, &n.Body, &n.Link, &n.CreatedAt, &n.ReadAt}, extra...)...)
	return n, err
}

// Inbox implements notice.Store.
func (s *NoticeStore) Inbox(ctx context.Context, principal kaiping.ID, limit int) (notice.Inbox, error) {
	in := notice.Inbox{Notices: []notice.Notice{}}
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM notices WHERE principal_id = $1 AND read_at IS NULL`,
		principal).Scan(&in.Unread); err != nil {
		return in, translate("pg.Inbox", err)
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+noticeColumns+` FROM notices n WHERE n.principal_id = $1
		ORDER BY n.seq DESC LIMIT $2`, principal, limit)
	if err != nil {
		return in, translate("pg.Inbox", err)
	}
	defer rows.Close()
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return in, translate("pg.Inbox", err)
		}
		n.Principal = principal
		in.Notices = append(in.Notices, n)
	}
	return in, translate("pg.Inbox", rows.Err())
}

// MarkRead implements notice.Store. The principal is part of the match, so another's notice
// is not found, exactly as a missing one.
func (s *NoticeStore) MarkRead(ctx context.Context, principal, id kaiping.ID, at time.Time) (notice.Notice, error) {
	n, err := scanNotice(s.db.Pool.QueryRow(ctx, `UPDATE notices n SET read_at = coalesce(n.read_at, $3)
		WHERE n.id = $1 AND n.principal_id = $2 RETURNING `+noticeColumns, id, principal, at))
	if errors.Is(err, pgx.ErrNoRows) {
		return notice.Notice{}, notice.NotFound()
	}
	n.Principal = principal
	return n, translate("pg.MarkRead", err)
}

// DueDeliveries implements notice.Store: SKIP LOCKED lets replicas claim disjoint batches.
func (s *NoticeStore) DueDeliveries(ctx context.Context, channels []string, now, lease time.Time, limit int) ([]notice.Delivery, error) {
	var out []notice.Delivery
	err := s.db.InTx(ctx, "pg.DueDeliveries", func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT `+noticeColumns+`, o.id, o.channel, o.address, o.attempts, n.principal_id
			FROM notice_outbox o JOIN notices n ON n.id = o.notice_id
			WHERE o.sent_at IS NULL AND o.failed_at IS NULL AND o.next_at <= $1 AND o.channel = ANY($3)
			ORDER BY o.next_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED`, now, limit, channels)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d notice.Delivery
			var principal *string
			n, err := scanNotice(rows, &d.ID, &d.Channel, &d.Address, &d.Attempts, &principal)
			n.Principal, d.Notice = optionalID(principal), n
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		ids := make([]kaiping.ID, len(out))
		for i, d := range out {
			ids[i] = d.ID
		}
		_, err = tx.Exec(ctx, `UPDATE notice_outbox SET next_at = $2 WHERE id = ANY($1)`, ids, lease)
		return err
	})
	return out, err
}

// Delivered implements notice.Store.
func (s *NoticeStore) Delivered(ctx context.Context, id kaiping.ID, at time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE notice_outbox SET sent_at = $2, attempts = attempts + 1 WHERE id = $1`, id, at)
	return translate("pg.Delivered", err)
}

// Retry implements notice.Store.
func (s *NoticeStore) Retry(ctx context.Context, id kaiping.ID, attempts int, next, failedAt time.Time, reason string) error {
	var failed *time.Time
	if !failedAt.IsZero() {
		failed = &failedAt
		next = failedAt
	}
	if len(reason) > 500 {
		reason = reason[:500]
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE notice_outbox SET attempts = $2, next_at = $3, failed_at = $4, last_error = $5
		WHERE id = $1`, id, attempts, next, failed, reason)
	return translate("pg.Retry", err)
}

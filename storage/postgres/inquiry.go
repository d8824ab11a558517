package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

var _ evaluation.InquiryStore = (*EvaluationStore)(nil)

func notFoundInquiry() error {
	return kaiping.E(kaiping.KindNotFound, "inquiry.not_found", "澄清事项不存在")
}

func scanInquiry(row pgx.Row) (evaluation.Inquiry, error) {
	var q evaluation.Inquiry
	var body []byte
	if err := row.Scan(&body); err != nil {
		return q, err
	}
	if err := json.Unmarshal(body, &q); err != nil {
		return q, kaiping.Internal("pg.scanInquiry", err)
	}
	return q, nil
}

// CreateInquiry implements evaluation.InquiryStore.
func (s *EvaluationStore) CreateInquiry(ctx context.Context, a kaiping.Actor, session kaiping.ID,
	decide func(*evaluation.Session) (evaluation.Inquiry, []evaluation.SessionChange, error)) (evaluation.Inquiry, error) {
	if !session.Valid() {
		return evaluation.Inquiry{}, notFoundSession()
	}
	var out evaluation.Inquiry
	err := s.db.InTx(ctx, "pg.CreateInquiry", func(tx pgx.Tx) error {
		sess, err := lockSession(ctx, tx, session)
		if err != nil {
			return err
		}
		q, changes, err := decide(&sess)
		if err != nil {
			return err
		}
		body, err := json.Marshal(q)
		if err != nil {
			return kaiping.Internal("pg.CreateInquiry", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO eval_inquiries (id, session_id, section_id, bidder_id, state, deadline, body, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, q.ID, q.Session, q.Section, q.Bidder, q.State, q.Deadline, body, a.At); err != nil {
			return err
		}
		out = q
		return s.sessionChanges(ctx, tx, a, &sess, changes)
	})
	return out, err
}

// ChangeInquiry implements evaluation.InquiryStore.
func (s *EvaluationStore) ChangeInquiry(ctx context.Context, a kaiping.Actor, id kaiping.ID,
	decide func(*evaluation.Session, *evaluation.Inquiry) ([]evaluation.SessionChange, error)) (evaluation.Inquiry, error) {
	first, err := s.Inquiry(ctx, id)
	if err != nil {
		return evaluation.Inquiry{}, err
	}
	var out evaluation.Inquiry
	err = s.db.InTx(ctx, "pg.ChangeInquiry", func(tx pgx.Tx) error {
		sess, err := lockSession(ctx, tx, first.Session)
		if err != nil {
			return err
		}
		q, err := scanInquiry(tx.QueryRow(ctx, `SELECT body FROM eval_inquiries WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		changes, err := decide(&sess, &q)
		if err != nil {
			return err
		}
		body, err := json.Marshal(q)
		if err != nil {
			return kaiping.Internal("pg.ChangeInquiry", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE eval_inquiries SET state = $2, body = $3, updated_at = $4 WHERE id = $1`,
			id, q.State, body, a.At); err != nil {
			return err
		}
		out = q
		return s.sessionChanges(ctx, tx, a, &sess, changes)
	})
	return out, err
}

// Inquiry implements evaluation.InquiryStore.
func (s *EvaluationStore) Inquiry(ctx context.Context, id kaiping.ID) (evaluation.Inquiry, error) {
	if !id.Valid() {
		return evaluation.Inquiry{}, notFoundInquiry()
	}
	q, err := scanInquiry(s.db.Pool.QueryRow(ctx, `SELECT body FROM eval_inquiries WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return q, notFoundInquiry()
	}
	return q, translate("pg.Inquiry", err)
}

func (s *EvaluationStore) inquiries(ctx context.Context, op, where string, arg any) ([]evaluation.Inquiry, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT body FROM eval_inquiries WHERE `+where, arg)
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Inquiry, error) { return scanInquiry(r) })
	if out == nil {
		out = []evaluation.Inquiry{}
	}
	return out, translate(op, err)
}

// SessionInquiries implements evaluation.InquiryStore.
func (s *EvaluationStore) SessionInquiries(ctx context.Context, session kaiping.ID) ([]evaluation.Inquiry, error) {
	if !session.Valid() {
		return []evaluation.Inquiry{}, nil
	}
	return s.inquiries(ctx, "pg.SessionInquiries", `session_id = $1 ORDER BY seq`, session)
}

// BidderInquiries implements evaluation.InquiryStore.
func (s *EvaluationStore) BidderInquiries(ctx context.Context, bidder kaiping.ID) ([]evaluation.Inquiry, error) {
	if !bidder.Valid() {
		return []evaluation.Inquiry{}, nil
	}
	return s.inquiries(ctx, "pg.BidderInquiries",
		`bidder_id = $1 AND state IN ('sent', 'answered', 'refused') ORDER BY seq DESC`, bidder)
}

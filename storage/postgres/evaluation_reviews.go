package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// Reviews implements evaluation.ReviewStore.
func (s *EvaluationStore) Reviews(ctx context.Context, session kaiping.ID) ([]evaluation.Review, error) {
	if !session.Valid() {
		return nil, notFoundSession()
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT body FROM eval_reviews WHERE session_id = $1 ORDER BY section_id`, session)
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Review, error) {
		var rev evaluation.Review
		var body []byte
		if err := r.Scan(&body); err != nil {
			return rev, err
		}
		return rev, json.Unmarshal(body, &rev)
	})
	return out, translate("pg.Reviews", err)
}

// Marks implements evaluation.ReviewStore.
func (s *EvaluationStore) Marks(ctx context.Context, session, section kaiping.ID) ([]evaluation.MemberMark, error) {
	return s.marks(ctx, s.db.Pool, session, section)
}

func (s *EvaluationStore) marks(ctx context.Context, q querier, session, section kaiping.ID) ([]evaluation.MemberMark, error) {
	rows, err := q.Query(ctx, `SELECT member_id, bidder_id, item, value, reason, page FROM eval_marks
		WHERE session_id = $1 AND section_id = $2 ORDER BY stage, member_id, bidder_id, item`, session, section)
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.MemberMark, error) {
		var m evaluation.MemberMark
		return m, r.Scan(&m.Member, &m.Bidder, &m.Item, &m.Value, &m.Reason, &m.Page)
	})
	return out, translate("pg.Marks", err)
}

// Submissions implements evaluation.ReviewStore.
func (s *EvaluationStore) Submissions(ctx context.Context, session, section kaiping.ID) ([]evaluation.Submission, error) {
	return s.submissions(ctx, s.db.Pool, session, section)
}

func (s *EvaluationStore) submissions(ctx context.Context, q querier, session, section kaiping.ID) ([]evaluation.Submission, error) {
	rows, err := q.Query(ctx, `SELECT member_id, stage, digest, submitted_at, ledger_seq FROM eval_submissions
		WHERE session_id = $1 AND section_id = $2 ORDER BY submitted_at, member_id`, session, section)
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Submission, error) {
		var sub evaluation.Submission
		return sub, r.Scan(&sub.Member, &sub.Stage, &sub.Digest, &sub.At, &sub.LedgerSeq)
	})
	return out, translate("pg.Submissions", err)
}

// Origins implements evaluation.ReviewStore: the addresses of the section's submissions and
// unlocks, from the ledger entries whose subject is the section.
func (s *EvaluationStore) Origins(ctx context.Context, section kaiping.ID) ([]evaluation.Origin, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT DISTINCT operator, action, address FROM ledger_entries
		WHERE subject = $1 AND action IN ('bid.submit', 'hall.unlock') AND operator <> 'system'
		ORDER BY address, operator, action`, string(section))
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Origin, error) {
		var o evaluation.Origin
		var who string
		err := r.Scan(&who, &o.Action, &o.Address)
		o.Bidder = kaiping.ID(who)
		return o, err
	})
	return out, translate("pg.Origins", err)
}

// ChangeReview implements evaluation.ReviewStore.
func (s *EvaluationStore) ChangeReview(ctx context.Context, a kaiping.Actor, session, section kaiping.ID, group string,
	decide func(*evaluation.ReviewLock) (evaluation.ReviewWrite, error)) (evaluation.Review, error) {
	if !session.Valid() {
		return evaluation.Review{}, notFoundSession()
	}
	var out evaluation.Review
	err := s.db.InTx(ctx, "pg.ChangeReview", func(tx pgx.Tx) error {
		sess, err := lockSession(ctx, tx, session)
		if err != nil {
			return err
		}
		rev := evaluation.Review{Session: session, Section: section, Group: group, Stage: evaluation.ReviewInitial,
			Decisions: []evaluation.BidDecision{}, Notes: []evaluation.WarningNote{}}
		fresh := false
		var body []byte
		err = tx.QueryRow(ctx, `SELECT body FROM eval_reviews WHERE session_id = $1 AND section_id = $2`, session, section).Scan(&body)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			fresh = true
		case err != nil:
			return err
		default:
			if err := json.Unmarshal(body, &rev); err != nil {
				return kaiping.Internal("pg.ChangeReview", err)
			}
		}
		subs, err := s.submissions(ctx, tx, session, section)
		if err != nil {
			return err
		}
		l := &evaluation.ReviewLock{Session: &sess, Review: &rev, Submissions: subs,
			Marks: func() ([]evaluation.MemberMark, error) { return s.marks(ctx, tx, session, section) }}
		w, err := decide(l)
		if err != nil {
			return err
		}
		out = rev
		if len(w.Changes) == 0 && w.Save == nil {
			return nil
		}
		if len(w.Changes) > 0 {
			rev.Version++
		}
		body, err = json.Marshal(rev)
		if err != nil {
			return kaiping.Internal("pg.ChangeReview", err)
		}
		if fresh {
			_, err = tx.Exec(ctx, `INSERT INTO eval_reviews (session_id, section_id, body, updated_at) VALUES ($1, $2, $3, $4)`,
				session, section, body, a.At)
		} else {
			_, err = tx.Exec(ctx, `UPDATE eval_reviews SET body = $3, updated_at = $4 WHERE session_id = $1 AND section_id = $2`,
				session, section, body, a.At)
		}
		if err != nil {
			return err
		}
		if w.Save != nil {
			if err := saveMarks(ctx, tx, a, session, section, w.Save); err != nil {
				return err
			}
		}
		seq, err := s.sessionChangesSeq(ctx, tx, a, &sess, w.Changes, evaluation.ActionReviewSubmit)
		if err != nil {
			return err
		}
		if w.Submit != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO eval_submissions (session_id, section_id, member_id, stage, digest, submitted_at, ledger_seq)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, session, section, w.Submit.Member, w.Submit.Stage, w.Submit.Digest, a.At, seq); err != nil {
				return err
			}
		}
		if w.Unsubmit != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM eval_submissions WHERE session_id = $1 AND section_id = $2 AND member_id = $3 AND stage = $4`,
				session, section, w.Unsubmit.Member, w.Unsubmit.Stage); err != nil {
				return err
			}
		}
		out = rev
		return nil
	})
	return out, err
}

// saveMarks upserts a member's marks in one statement.
func saveMarks(ctx context.Context, tx pgx.Tx, a kaiping.Actor, session, section kaiping.ID, m *evaluation.MarkSave) error {
	n := len(m.Marks)
	bidders, items, values, reasons := make([]string, n), make([]string, n), make([]int64, n), make([]string, n)
	pages := make([]*int32, n)
	for i, mk := range m.Marks {
		bidders[i], items[i], values[i], reasons[i] = string(mk.Bidder), mk.Item, mk.Value, mk.Reason
		if mk.Page != nil {
			p := int32(*mk.Page)
			pages[i] = &p
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO eval_marks (session_id, section_id, member_id, stage, bidder_id, item, value, reason, page, updated_at)
		SELECT $1, $2, $3, $4, b::uuid, i, v, r, p, $10
		FROM unnest($5::text[], $6::text[], $7::bigint[], $8::text[], $9::int[]) AS m (b, i, v, r, p)
		ON CONFLICT (session_id, section_id, stage, member_id, bidder_id, item)
		DO UPDATE SET value = excluded.value, reason = excluded.reason, page = excluded.page, updated_at = excluded.updated_at`,
		session, section, m.Member, m.Stage, bidders, items, values, reasons, pages, a.At)
	return err
}

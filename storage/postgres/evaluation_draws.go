package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

func notFoundDraw() error {
	return kaiping.E(kaiping.KindNotFound, "draw.not_found", "抽取记录不存在")
}

// TenderFacts implements evaluation.Store.
func (s *EvaluationStore) TenderFacts(ctx context.Context, tender kaiping.ID) (evaluation.TenderFacts, error) {
	if !tender.Valid() {
		return evaluation.TenderFacts{}, notFoundTender()
	}
	f := evaluation.TenderFacts{ID: tender}
	var method []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT code, title, tenderer, deadline, government_procurement, evaluation_method FROM tenders WHERE id = $1`,
		tender).Scan(&f.Code, &f.Title, &f.Tenderer, &f.Deadline, &f.GovernmentProcurement, &method)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, notFoundTender()
	}
	if err != nil {
		return f, translate("pg.TenderFacts", err)
	}
	if method != nil {
		f.Method = new(scoring.Method)
		if err := json.Unmarshal(method, f.Method); err != nil {
			return f, kaiping.Internal("pg.TenderFacts", err)
		}
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT DISTINCT n FROM registrations r JOIN principals p ON p.id = r.bidder_id,
		LATERAL (VALUES (p.name), (p.org)) AS names (n) WHERE r.tender_id = $1 AND n <> '' ORDER BY n`, tender)
	f.Bidders, err = collectRows(rows, err, func(r pgx.Rows) (string, error) {
		var n string
		return n, r.Scan(&n)
	})
	if err != nil {
		return f, translate("pg.TenderFacts", err)
	}
	rows, err = s.db.Pool.Query(ctx, `SELECT id, code, name FROM tender_sections WHERE tender_id = $1 ORDER BY code`, tender)
	f.Sections, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.GroupSection, error) {
		var g evaluation.GroupSection
		return g, r.Scan(&g.ID, &g.Code, &g.Name)
	})
	return f, translate("pg.TenderFacts", err)
}

// CommitDraw implements evaluation.Store.
func (s *EvaluationStore) CommitDraw(ctx context.Context, a kaiping.Actor, d evaluation.Draw, c evaluation.CommitDetail) error {
	req, _ := json.Marshal(d.Request)
	rules, _ := json.Marshal(d.Rules)
	return s.db.InTx(ctx, "pg.CommitDraw", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO draws (id, tender_id, tender_code, tenderer, request, rules, status, commitment,
			session, host_venue_id, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, tstzrange($9, $10, '[)'), $11, $12, $13)`,
			d.ID, d.Tender, d.TenderCode, d.Tenderer, req, rules, d.Status, d.Commitment,
			d.Request.Session.Start, d.Request.Session.End, d.HostVenue, nullID(d.CreatedBy), d.CreatedAt)
		if err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, evaluation.ActionDrawCommit, string(d.ID), c)
		return err
	})
}

// lockDraw locks the draw's row and checks its status is from.
func lockDraw(ctx context.Context, tx pgx.Tx, id kaiping.ID, from evaluation.DrawStatus) error {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM draws WHERE id = $1 FOR UPDATE`, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFoundDraw()
	}
	if err != nil {
		return err
	}
	if evaluation.DrawStatus(status) != from {
		return kaiping.Errorf(kaiping.KindConflict, "draw.state", "该抽取当前状态为 %s，不能进行此操作", status)
	}
	return nil
}

// SaveSnapshot implements evaluation.Store.
func (s *EvaluationStore) SaveSnapshot(ctx context.Context, a kaiping.Actor, id kaiping.ID, snapshot, exclusions []byte, d evaluation.SnapshotDetail, next evaluation.DrawStatus) error {
	return s.db.InTx(ctx, "pg.SaveSnapshot", func(tx pgx.Tx) error {
		if err := lockDraw(ctx, tx, id, evaluation.DrawCommitted); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO draw_snapshots (draw_id, snapshot, exclusions) VALUES ($1, $2, $3)`,
			id, snapshot, exclusions); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE draws SET status = $2, snapshot_digest = $3, snapshot_size = $4, excluded = $5 WHERE id = $1`,
			id, next, d.Digest, d.Size, d.Excluded); err != nil {
			return err
		}
		_, err := s.ledger.Append(ctx, tx, a, evaluation.ActionDrawSnapshot, string(id), d)
		return err
	})
}

// RecordResult implements evaluation.Store.
func (s *EvaluationStore) RecordResult(ctx context.Context, a kaiping.Actor, id kaiping.ID, from evaluation.DrawStatus, seed string, members []evaluation.Member) error {
	return s.db.InTx(ctx, "pg.RecordResult", func(tx pgx.Tx) error {
		if err := lockDraw(ctx, tx, id, from); err != nil {
			return err
		}
		d, err := scanDraw(tx.QueryRow(ctx, `SELECT `+drawColumns+` FROM draws WHERE id = $1`, id))
		if err != nil {
			return err
		}
		result := evaluation.ResultDetail{Members: make([]draw.Member, len(members))}
		for i, m := range members {
			if err := insertMember(ctx, tx, m); err != nil {
				return err
			}
			result.Members[i] = m.Picked(d.Rules)
		}
		if _, err := tx.Exec(ctx, `UPDATE draws SET status = 'drawn', seed = $2, drawn_at = $3 WHERE id = $1`, id, seed, a.At); err != nil {
			return err
		}
		if _, err := s.ledger.Append(ctx, tx, a, evaluation.ActionDrawResult, string(id), result); err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, evaluation.ActionDrawReveal, string(id), evaluation.RevealDetail{Seed: seed})
		return err
	})
}

func insertMember(ctx context.Context, tx pgx.Tx, m evaluation.Member) error {
	_, err := tx.Exec(ctx, `INSERT INTO draw_members (draw_id, expert_id, quota, position, outside, round, replaces,
		state, respond_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		m.Draw, m.Expert, m.Quota, m.Position, m.Outside, m.Round, nullID(m.Replaces), m.State, m.RespondBy)
	return err
}

// FailDraw implements evaluation.Store.
func (s *EvaluationStore) FailDraw(ctx context.Context, a kaiping.Actor, id kaiping.ID, from evaluation.DrawStatus, seed string, f evaluation.FailDetail) error {
	return s.db.InTx(ctx, "pg.FailDraw", func(tx pgx.Tx) error {
		if err := lockDraw(ctx, tx, id, from); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE draws SET status = 'failed', seed = $2, failure = $3, drawn_at = $4 WHERE id = $1`,
			id, seed, f.Message, a.At); err != nil {
			return err
		}
		if _, err := s.ledger.Append(ctx, tx, a, evaluation.ActionDrawFail, string(id), f); err != nil {
			return err
		}
		_, err := s.ledger.Append(ctx, tx, a, evaluation.ActionDrawReveal, string(id), evaluation.RevealDetail{Seed: seed})
		return err
	})
}

const drawColumns = `id, tender_id, tender_code, tenderer, request, rules, status, commitment, coalesce(seed, ''),
	snapshot_digest, snapshot_size, excluded, failure, host_venue_id, published_at, created_by, created_at, drawn_at`

func scanDraw(r pgx.Row) (evaluation.Draw, error) {
	var d evaluation.Draw
	var req, rules []byte
	var by *string
	err := r.Scan(&d.ID, &d.Tender, &d.TenderCode, &d.Tenderer, &req, &rules, &d.Status, &d.Commitment, &d.Seed,
		&d.SnapshotDigest, &d.SnapshotSize, &d.Excluded, &d.Failure, &d.HostVenue, &d.PublishedAt, &by, &d.CreatedAt, &d.DrawnAt)
	if err != nil {
		return d, err
	}
	d.CreatedBy = optionalID(by)
	if err := json.Unmarshal(req, &d.Request); err != nil {
		return d, err
	}
	return d, json.Unmarshal(rules, &d.Rules)
}

// Draw implements evaluation.Store.
func (s *EvaluationStore) Draw(ctx context.Context, id kaiping.ID) (evaluation.Draw, error) {
	if !id.Valid() {
		return evaluation.Draw{}, notFoundDraw()
	}
	d, err := scanDraw(s.db.Pool.QueryRow(ctx, `SELECT `+drawColumns+` FROM draws WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, notFoundDraw()
	}
	return d, translate("pg.Draw", err)
}

// Draws implements evaluation.Store.
func (s *EvaluationStore) Draws(ctx context.Context, tender kaiping.ID) ([]evaluation.Draw, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+drawColumns+` FROM draws WHERE tender_id = $1 ORDER BY created_at DESC, id`, tender)
	ds, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Draw, error) { return scanDraw(r) })
	return ds, translate("pg.Draws", err)
}

// Snapshot implements evaluation.Store.
func (s *EvaluationStore) Snapshot(ctx context.Context, id kaiping.ID) ([]byte, []draw.Exclusion, error) {
	var snap, ex []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT snapshot, exclusions FROM draw_snapshots WHERE draw_id = $1`, id).Scan(&snap, &ex)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, kaiping.E(kaiping.KindNotFound, "draw.no_snapshot", "该抽取尚无专家库快照")
	}
	if err != nil {
		return nil, nil, translate("pg.Snapshot", err)
	}
	var exclusions []draw.Exclusion
	if err := json.Unmarshal(ex, &exclusions); err != nil {
		return nil, nil, kaiping.Internal("pg.Snapshot", err)
	}
	return snap, exclusions, nil
}

const memberQuery = `SELECT m.draw_id, m.expert_id, e.code, e.name, e.city, m.quota, m.position, m.outside, m.round,
		m.replaces, m.state, m.respond_by, m.responded_at, m.reason
	FROM draw_members m JOIN experts e ON e.id = m.expert_id`

func scanMember(r pgx.Row) (evaluation.Member, error) {
	var m evaluation.Member
	var replaces *string
	err := r.Scan(&m.Draw, &m.Expert, &m.ExpertCode, &m.ExpertName, &m.City, &m.Quota, &m.Position, &m.Outside,
		&m.Round, &replaces, &m.State, &m.RespondBy, &m.RespondedAt, &m.Reason)
	m.Replaces = optionalID(replaces)
	return m, err
}

type memberQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func drawMembers(ctx context.Context, q memberQuerier, id kaiping.ID) ([]evaluation.Member, error) {
	rows, err := q.Query(ctx, memberQuery+` WHERE m.draw_id = $1 ORDER BY m.round, m.position`, id)
	return collectRows(rows, err, func(r pgx.Rows) (evaluation.Member, error) { return scanMember(r) })
}

// Members implements evaluation.Store.
func (s *EvaluationStore) Members(ctx context.Context, id kaiping.ID) ([]evaluation.Member, error) {
	ms, err := drawMembers(ctx, s.db.Pool, id)
	return ms, translate("pg.Members", err)
}

// Respond implements evaluation.Store.
func (s *EvaluationStore) Respond(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(evaluation.DrawState) (evaluation.Decision, error)) (evaluation.Decision, error) {
	var dec evaluation.Decision
	err := s.db.InTx(ctx, "pg.Respond", func(tx pgx.Tx) error {
		var st evaluation.DrawState
		var err error
		st.Draw, err = scanDraw(tx.QueryRow(ctx, `SELECT `+drawColumns+` FROM draws WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFoundDraw()
		}
		if err != nil {
			return err
		}
		if st.Members, err = drawMembers(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT out_expert, outcome, reason, replacement FROM draw_replacements WHERE draw_id = $1 ORDER BY n`, id)
		if st.Replacements, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.ReplaceDetail, error) {
			var d evaluation.ReplaceDetail
			return d, r.Scan(&d.Out, &d.Outcome, &d.Reason, &d.Replacement)
		}); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT snapshot FROM draw_snapshots WHERE draw_id = $1`, id).Scan(&st.Snapshot); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if dec, err = decide(st); err != nil {
			return err
		}
		return s.writeDecision(ctx, tx, a, st, &dec)
	})
	return dec, err
}

func (s *EvaluationStore) writeDecision(ctx context.Context, tx pgx.Tx, a kaiping.Actor, st evaluation.DrawState, dec *evaluation.Decision) error {
	id := st.Draw.ID
	if _, err := tx.Exec(ctx, `UPDATE draw_members SET state = $3, responded_at = $4, reason = $5 WHERE draw_id = $1 AND expert_id = $2`,
		id, dec.Expert, dec.State, a.At, dec.Reason); err != nil {
		return err
	}
	if dec.State == evaluation.MemberAccepted {
		if h := dec.History; h != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO expert_history (id, expert_id, tender_code, tenderer, served_at, draw_id, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, h.ID, h.Expert, h.Tender, h.Tenderer, h.At, h.Draw, a.At); err != nil {
				return err
			}
		}
		_, err := s.ledger.Append(ctx, tx, a, evaluation.ActionDrawAccept, string(id), evaluation.ResponseDetail{Expert: dec.Expert})
		return err
	}
	detail := evaluation.ReplaceDetail{Out: dec.Expert, Outcome: dec.State, Reason: dec.Reason}
	if r := dec.Replacement; r != nil {
		if err := insertMember(ctx, tx, *r); err != nil {
			return err
		}
		picked := r.Picked(st.Draw.Rules)
		detail.Replacement = &picked
		replaced, err := scanMember(tx.QueryRow(ctx, memberQuery+` WHERE m.draw_id = $1 AND m.expert_id = $2`, id, r.Expert))
		if err != nil {
			return err
		}
		*dec.Replacement = replaced
	}
	var rep []byte
	if detail.Replacement != nil {
		rep, _ = json.Marshal(detail.Replacement)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO draw_replacements (draw_id, n, out_expert, outcome, reason, replacement, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, len(st.Replacements)+1, dec.Expert, dec.State, dec.Reason, rep, a.At); err != nil {
		return err
	}
	if err := releaseSeat(ctx, tx, id, dec.Expert, a, "专家退出："+dec.Reason); err != nil {
		return err
	}
	_, err := s.ledger.Append(ctx, tx, a, evaluation.ActionDrawReplace, string(id), detail)
	return err
}

// Publish implements evaluation.Store.
func (s *EvaluationStore) Publish(ctx context.Context, a kaiping.Actor, id kaiping.ID) error {
	return s.db.InTx(ctx, "pg.Publish", func(tx pgx.Tx) error {
		if err := lockDraw(ctx, tx, id, evaluation.DrawDrawn); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE draws SET published_at = $2 WHERE id = $1 AND published_at IS NULL`, id, a.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kaiping.E(kaiping.KindConflict, "draw.already_published", "评标专家名单已公示")
		}
		_, err = s.ledger.Append(ctx, tx, a, evaluation.ActionDrawPublish, string(id), nil)
		return err
	})
}

// ExpertDraws implements evaluation.Store.
func (s *EvaluationStore) ExpertDraws(ctx context.Context, expert kaiping.ID) ([]evaluation.ExpertDraw, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT m.draw_id, m.expert_id, e.code, e.name, e.city, m.quota, m.position, m.outside,
			m.round, m.replaces, m.state, m.respond_by, m.responded_at, m.reason,
			d.tender_code, t.title, lower(d.session), upper(d.session),
			a.venue_id, v.code, v.name, v.city, v.address, a.seat_id, st.code, a.booking_id, a.host, a.distance_km, a.override_reason
		FROM draw_members m JOIN experts e ON e.id = m.expert_id JOIN draws d ON d.id = m.draw_id
		JOIN tenders t ON t.id = d.tender_id
		LEFT JOIN draw_assignments a ON a.draw_id = m.draw_id AND a.expert_id = m.expert_id AND a.released_at IS NULL
		LEFT JOIN venues v ON v.id = a.venue_id LEFT JOIN seats st ON st.id = a.seat_id
		WHERE m.expert_id = $1 ORDER BY lower(d.session) DESC, d.id`, expert)
	ds, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.ExpertDraw, error) {
		var d evaluation.ExpertDraw
		var replaces, venue, vcode, vname, vcity, address, seat, scode, booking, reason *string
		var host *bool
		var dist *float64
		err := r.Scan(&d.Draw, &d.Expert, &d.ExpertCode, &d.ExpertName, &d.City, &d.Quota, &d.Position, &d.Outside,
			&d.Round, &replaces, &d.State, &d.RespondBy, &d.RespondedAt, &d.Reason,
			&d.TenderCode, &d.TenderTitle, &d.Session.Start, &d.Session.End,
			&venue, &vcode, &vname, &vcity, &address, &seat, &scode, &booking, &host, &dist, &reason)
		d.Replaces = optionalID(replaces)
		if venue != nil {
			d.Seat = &evaluation.SeatAssignment{Draw: d.Draw, Expert: d.Expert, Venue: optionalID(venue), VenueCode: *vcode,
				VenueName: *vname, City: *vcity, Seat: optionalID(seat), SeatCode: *scode, Booking: optionalID(booking), Host: *host,
				DistanceKm: *dist, Override: *reason}
			d.Address = *address
		}
		return d, err
	})
	return ds, translate("pg.ExpertDraws", err)
}

// DrawRecord implements evaluation.Store.
func (s *EvaluationStore) DrawRecord(ctx context.Context, id kaiping.ID) (evaluation.DrawRecord, error) {
	var rec evaluation.DrawRecord
	d, err := s.Draw(ctx, id)
	if err != nil {
		return rec, err
	}
	rec.Draw = d
	rows, err := s.db.Pool.Query(ctx, `SELECT seq, at, operator, action, detail FROM ledger_entries WHERE subject = $1 ORDER BY seq`, id)
	if rec.Entries, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.LedgerEntry, error) {
		var e evaluation.LedgerEntry
		return e, r.Scan(&e.Seq, &e.At, &e.Operator, &e.Action, &e.Detail)
	}); err != nil {
		return rec, translate("pg.DrawRecord", err)
	}
	err = s.db.Pool.QueryRow(ctx, `SELECT snapshot, exclusions FROM draw_snapshots WHERE draw_id = $1`, id).Scan(&rec.Snapshot, &rec.Exclusions)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return rec, translate("pg.DrawRecord", err)
	}
	rec.Members, err = s.Members(ctx, id)
	return rec, err
}

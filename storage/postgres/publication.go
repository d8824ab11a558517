package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

var _ evaluation.PublicationStore = (*EvaluationStore)(nil)

// publicationBody is what a publication keeps of the public facts as published.
type publicationBody struct {
	TenderCode  string                 `json:"tender_code"`
	TenderTitle string                 `json:"tender_title"`
	SectionCode string                 `json:"section_code"`
	SectionName string                 `json:"section_name"`
	Method      string                 `json:"method"`
	Candidates  []evaluation.Candidate `json:"candidates"`
}

func notFoundPublication() error {
	return kaiping.E(kaiping.KindNotFound, "publication.not_found", "公示不存在或尚未开始")
}

const publicationColumns = `id, session_id, tender_id, section_id, state, starts_at, ends_at, report_at, body, version,
	published_by, published_at, coalesce(concluded_by::text, ''), concluded_at`

func scanPublication(row pgx.Row, more ...any) (evaluation.Publication, error) {
	var p evaluation.Publication
	var body []byte
	err := row.Scan(append([]any{&p.ID, &p.Session, &p.Tender, &p.Section, &p.State, &p.Starts, &p.Ends, &p.ReportAt, &body,
		&p.Version, &p.PublishedBy, &p.PublishedAt, &p.ConcludedBy, &p.ConcludedAt}, more...)...)
	if err != nil {
		return p, err
	}
	var b publicationBody
	if err := json.Unmarshal(body, &b); err != nil {
		return p, kaiping.Internal("pg.scanPublication", err)
	}
	p.TenderCode, p.TenderTitle, p.SectionCode, p.SectionName, p.Method, p.Candidates =
		b.TenderCode, b.TenderTitle, b.SectionCode, b.SectionName, b.Method, b.Candidates
	p.Objections = []evaluation.Objection{}
	return p, nil
}

// SessionClosedAt implements evaluation.PublicationStore.
func (s *EvaluationStore) SessionClosedAt(ctx context.Context, id kaiping.ID) (time.Time, error) {
	var at time.Time
	err := s.db.Pool.QueryRow(ctx, `SELECT at FROM eval_session_events WHERE session_id = $1 AND type = $2
		ORDER BY version DESC LIMIT 1`, id, evaluation.ActionSessionClose).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return at, kaiping.E(kaiping.KindConflict, "publication.not_closed", "评标会议尚未结束，评标报告未签署")
	}
	return at, translate("pg.SessionClosedAt", err)
}

// TenderMethod implements evaluation.PublicationStore.
func (s *EvaluationStore) TenderMethod(ctx context.Context, tender kaiping.ID) (string, error) {
	var kind string
	err := s.db.Pool.QueryRow(ctx, `SELECT coalesce(evaluation_method->>'kind', '') FROM tenders WHERE id = $1`, tender).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", kaiping.E(kaiping.KindNotFound, "tender.not_found", "招标项目不存在")
	}
	return kind, translate("pg.TenderMethod", err)
}

// SectionBidder implements evaluation.PublicationStore: a bidder of the section is one with an
// envelope in its sealed bid set, which the hall tracks from the deadline on.
func (s *EvaluationStore) SectionBidder(ctx context.Context, section, principal kaiping.ID) (string, error) {
	var name string
	err := s.db.Pool.QueryRow(ctx, `SELECT p.name FROM principals p WHERE p.id = $2
		AND EXISTS (SELECT 1 FROM hall_envelopes e WHERE e.section_id = $1 AND e.bidder_id = $2)`, section, principal).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", kaiping.E(kaiping.KindForbidden, "publication.not_a_bidder", "只有投标文件参加了本标段开标的投标人可以对本公示提出异议")
	}
	return name, translate("pg.SectionBidder", err)
}

// CreatePublications implements evaluation.PublicationStore.
func (s *EvaluationStore) CreatePublications(ctx context.Context, a kaiping.Actor, ps []evaluation.Publication) error {
	return s.db.InTx(ctx, "pg.CreatePublications", func(tx pgx.Tx) error {
		for _, p := range ps {
			body, err := json.Marshal(publicationBody{TenderCode: p.TenderCode, TenderTitle: p.TenderTitle, SectionCode: p.SectionCode,
				SectionName: p.SectionName, Method: p.Method, Candidates: p.Candidates})
			if err != nil {
				return kaiping.Internal("pg.CreatePublications", err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO publications (id, session_id, tender_id, section_id, state, starts_at, ends_at,
				report_at, body, version, published_by, published_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
				p.ID, p.Session, p.Tender, p.Section, p.State, p.Starts, p.Ends, p.ReportAt, body, p.Version, p.PublishedBy, p.PublishedAt)
			if err = constraintError(err, map[string]error{"publications_section": kaiping.Errorf(kaiping.KindConflict,
				"publication.already_published", "%s 的中标候选人已经公示", p.SectionName)}); err != nil {
				return err
			}
			if err := s.publicationEntry(ctx, tx, a, &p, evaluation.ActionPublicationPublished, map[string]any{
				"section": p.Section, "starts": p.Starts, "ends": p.Ends, "report_at": p.ReportAt, "method": p.Method,
				"candidates": p.Candidates}); err != nil {
				return err
			}
		}
		return nil
	})
}

// publicationEntry appends a publication's ledger entry, naming the publication, its session,
// tender and version.
func (s *EvaluationStore) publicationEntry(ctx context.Context, tx pgx.Tx, a kaiping.Actor, p *evaluation.Publication, action string, payload map[string]any) error {
	detail := maps.Clone(payload)
	if detail == nil {
		detail = map[string]any{}
	}
	detail["publication"], detail["session"], detail["tender"], detail["version"] = p.ID, p.Session, p.Tender, p.Version
	_, err := s.ledger.Append(ctx, tx, a, action, string(p.ID), detail)
	return err
}

const pubObjectionColumns = `id, publication_id, no, bidder_id, bidder_name, text, filed_at, due_at, answer,
	coalesce(answered_by::text, ''), answered_at`

func scanPubObjection(row pgx.Row) (evaluation.Objection, error) {
	var o evaluation.Objection
	err := row.Scan(&o.ID, &o.Publication, &o.No, &o.Bidder, &o.BidderName, &o.Text, &o.FiledAt, &o.Due, &o.Answer, &o.AnsweredBy, &o.AnsweredAt)
	return o, err
}

// rowsQuerier is a pool or a transaction.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// withObjections fills in the objections of ps, by number: in the order they were filed.
func withObjections(ctx context.Context, q rowsQuerier, ps []evaluation.Publication) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]kaiping.ID, len(ps))
	at := map[kaiping.ID]int{}
	for i, p := range ps {
		ids[i], at[p.ID] = p.ID, i
	}
	rows, err := q.Query(ctx, `SELECT `+pubObjectionColumns+` FROM publication_objections
		WHERE publication_id = ANY($1::uuid[]) ORDER BY publication_id, no`, ids)
	os, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Objection, error) { return scanPubObjection(r) })
	if err != nil {
		return err
	}
	for _, o := range os {
		p := &ps[at[o.Publication]]
		p.Objections = append(p.Objections, o)
	}
	return nil
}

// Publication implements evaluation.PublicationStore.
func (s *EvaluationStore) Publication(ctx context.Context, id kaiping.ID) (evaluation.Publication, error) {
	if !id.Valid() {
		return evaluation.Publication{}, notFoundPublication()
	}
	p, err := scanPublication(s.db.Pool.QueryRow(ctx, `SELECT `+publicationColumns+` FROM publications WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, notFoundPublication()
	}
	if err != nil {
		return p, translate("pg.Publication", err)
	}
	ps := []evaluation.Publication{p}
	err = withObjections(ctx, s.db.Pool, ps)
	return ps[0], translate("pg.Publication", err)
}

// SessionPublications implements evaluation.PublicationStore.
func (s *EvaluationStore) SessionPublications(ctx context.Context, session kaiping.ID) ([]evaluation.Publication, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+publicationColumns+` FROM publications WHERE session_id = $1
		ORDER BY body->>'section_code', id`, session)
	ps, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Publication, error) { return scanPublication(r) })
	if err == nil {
		err = withObjections(ctx, s.db.Pool, ps)
	}
	if ps == nil {
		ps = []evaluation.Publication{}
	}
	return ps, translate("pg.SessionPublications", err)
}

// ChangePublication implements evaluation.PublicationStore.
func (s *EvaluationStore) ChangePublication(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(*evaluation.Publication) ([]evaluation.PublicationChange, error)) (evaluation.Publication, error) {
	if !id.Valid() {
		return evaluation.Publication{}, notFoundPublication()
	}
	var out evaluation.Publication
	err := s.db.InTx(ctx, "pg.ChangePublication", func(tx pgx.Tx) error {
		p, err := scanPublication(tx.QueryRow(ctx, `SELECT `+publicationColumns+` FROM publications WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFoundPublication()
		}
		if err != nil {
			return err
		}
		ps := []evaluation.Publication{p}
		if err := withObjections(ctx, tx, ps); err != nil {
			return err
		}
		p = ps[0]
		changes, err := decide(&p)
		if err != nil {
			return err
		}
		for _, c := range changes {
			p.Version++
			if o := c.Objection; o != nil {
				if _, err := tx.Exec(ctx, `INSERT INTO publication_objections (id, publication_id, no, bidder_id, bidder_name, text,
					filed_at, due_at, answer, answered_by, answered_at) VALUES ($1, $2, $11, $3, $4, $5, $6, $7, $8, $9, $10)
					ON CONFLICT (id) DO UPDATE SET answer = EXCLUDED.answer, answered_by = EXCLUDED.answered_by,
					answered_at = EXCLUDED.answered_at`, o.ID, p.ID, o.Bidder, o.BidderName, o.Text, o.FiledAt, o.Due,
					o.Answer, nullID(o.AnsweredBy), o.AnsweredAt, o.No); err != nil {
					return err
				}
			}
			if err := s.publicationEntry(ctx, tx, a, &p, c.Action, c.Payload); err != nil {
				return err
			}
		}
		if len(changes) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE publications SET state = $2, version = $3, concluded_by = $4, concluded_at = $5,
				updated_at = $6 WHERE id = $1`, p.ID, p.State, p.Version, nullID(p.ConcludedBy), p.ConcludedAt, a.At); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	return out, err
}

// PublicPublication implements evaluation.PublicationStore: one row by its key, nothing else.
func (s *EvaluationStore) PublicPublication(ctx context.Context, id kaiping.ID, now time.Time) (evaluation.Publication, error) {
	if !id.Valid() {
		return evaluation.Publication{}, notFoundPublication()
	}
	p, err := scanPublication(s.db.Pool.QueryRow(ctx, `SELECT `+publicationColumns+` FROM publications
		WHERE id = $1 AND starts_at <= $2`, id, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, notFoundPublication()
	}
	return p, translate("pg.PublicPublication", err)
}

// PublicPublications implements evaluation.PublicationStore: one index scan of what started,
// newest first, with the count beside it.
func (s *EvaluationStore) PublicPublications(ctx context.Context, now time.Time, limit, offset int) ([]evaluation.Publication, int, error) {
	var total int
	rows, err := s.db.Pool.Query(ctx, `SELECT `+publicationColumns+`, count(*) OVER () FROM publications
		WHERE starts_at <= $1 ORDER BY starts_at DESC, id LIMIT $2 OFFSET $3`, now, limit, offset)
	ps, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Publication, error) { return scanPublication(r, &total) })
	if err == nil && len(ps) == 0 && offset > 0 {
		err = s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM publications WHERE starts_at <= $1`, now).Scan(&total)
	}
	if ps == nil {
		ps = []evaluation.Publication{}
	}
	return ps, total, translate("pg.PublicPublications", err)
}

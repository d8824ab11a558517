package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/storage/ledger"
)

// EvaluationStore keeps the expert pool, venues, seats, bookings and draws.
type EvaluationStore struct {
	db     *DB
	ledger *ledger.Ledger
}

var _ evaluation.Store = (*EvaluationStore)(nil)

// NewEvaluationStore returns the evaluation store on db, ledgering through l.
func NewEvaluationStore(db *DB, l *ledger.Ledger) *EvaluationStore {
	return &EvaluationStore{db: db, ledger: l}
}

// constraintError maps a violated constraint, by name, to a domain error; other errors pass.
func constraintError(err error, byName map[string]error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if e, ok := byName[pgErr.ConstraintName]; ok {
			return e
		}
	}
	return err
}

func expertConflicts(e evaluation.Expert) map[string]error {
	return map[string]error{
		"experts_code_key":          kaiping.Errorf(kaiping.KindConflict, "expert.code_taken", "专家编号 %s 已存在", e.Code),
		"experts_principal_key":     kaiping.E(kaiping.KindConflict, "expert.principal_taken", "该登录账号已关联其他专家"),
		"experts_principal_id_fkey": kaiping.E(kaiping.KindInvalid, "expert.principal", "登录账号不存在"),
	}
}

// expertLedger is what the ledger records of an expert: no phone number, which is personal
// data an append-only log could never erase.
func expertLedger(e evaluation.Expert) map[string]any {
	return map[string]any{"code": e.Code, "name": e.Name, "employer": e.Employer, "titles": e.Titles,
		"specialties": e.Specialties, "city": e.City, "status": e.Status, "principal": e.Principal}
}

func notFoundExpert() error {
	return kaiping.E(kaiping.KindNotFound, "expert.not_found", "专家不存在")
}

// CreateExpert implements evaluation.Store.
func (s *EvaluationStore) CreateExpert(ctx context.Context, a kaiping.Actor, e evaluation.Expert) error {
	return s.db.InTx(ctx, "pg.CreateExpert", func(tx pgx.Tx) error {
		if err := insertExpert(ctx, tx, e); err != nil {
			return constraintError(err, expertConflicts(e))
		}
		_, err := s.ledger.Append(ctx, tx, a, "expert.create", string(e.ID), expertLedger(e))
		return err
	})
}

func insertExpert(ctx context.Context, tx pgx.Tx, e evaluation.Expert) error {
	_, err := tx.Exec(ctx, `INSERT INTO experts (id, code, name, phone, principal_id, employer, titles, specialties,
		city, lat, lon, status, status_reason, created_at, updated_at, id_number, email)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		e.ID, e.Code, e.Name, e.Phone, nullID(e.Principal), e.Employer, emptyIfNil(e.Titles), e.Specialties,
		e.City, e.Lat, e.Lon, e.Status, e.StatusReason, e.CreatedAt, e.UpdatedAt, e.IDNumber, e.Email)
	return err
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UpdateExpert implements evaluation.Store.
func (s *EvaluationStore) UpdateExpert(ctx context.Context, a kaiping.Actor, e evaluation.Expert) error {
	return s.db.InTx(ctx, "pg.UpdateExpert", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE experts SET code = $2, name = $3, phone = $4, principal_id = $5, employer = $6,
			titles = $7, specialties = $8, city = $9, lat = $10, lon = $11, updated_at = $12, id_number = $13, email = $14 WHERE id = $1`,
			e.ID, e.Code, e.Name, e.Phone, nullID(e.Principal), e.Employer, emptyIfNil(e.Titles), e.Specialties,
			e.City, e.Lat, e.Lon, e.UpdatedAt, e.IDNumber, e.Email)
		if err != nil {
			return constraintError(err, expertConflicts(e))
		}
		if tag.RowsAffected() == 0 {
			return notFoundExpert()
		}
		_, err = s.ledger.Append(ctx, tx, a, "expert.update", string(e.ID), expertLedger(e))
		return err
	})
}

// SetExpertStatus implements evaluation.Store.
func (s *EvaluationStore) SetExpertStatus(ctx context.Context, a kaiping.Actor, id kaiping.ID, st evaluation.ExpertStatus, reason string) error {
	return s.db.InTx(ctx, "pg.SetExpertStatus", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE experts SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1`,
			id, st, reason, a.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFoundExpert()
		}
		_, err = s.ledger.Append(ctx, tx, a, "expert.status", string(id), map[string]any{"status": st, "reason": reason})
		return err
	})
}

// ImportExperts implements evaluation.Store.
func (s *EvaluationStore) ImportExperts(ctx context.Context, a kaiping.Actor, rows []evaluation.ImportRow, fileDigest string) error {
	codes := make([]string, len(rows))
	for i, r := range rows {
		codes[i] = r.Expert.Code
	}
	return s.db.InTx(ctx, "pg.ImportExperts", func(tx pgx.Tx) error {
		taken := map[string]bool{}
		trs, err := tx.Query(ctx, `SELECT code FROM experts WHERE code = ANY($1)`, codes)
		if err != nil {
			return err
		}
		for trs.Next() {
			var c string
			if err := trs.Scan(&c); err != nil {
				trs.Close()
				return err
			}
			taken[c] = true
		}
		trs.Close()
		var bad []evaluation.RowError
		for _, r := range rows {
			if taken[r.Expert.Code] {
				bad = append(bad, evaluation.RowError{Row: r.Row, Column: "专家编号",
					Message: fmt.Sprintf("专家编号 %s 已在专家库中", r.Expert.Code)})
			}
		}
		if bad != nil {
			return evaluation.NewImportError(bad)
		}
		for _, r := range rows {
			if err := insertExpert(ctx, tx, r.Expert); err != nil {
				return constraintError(err, expertConflicts(r.Expert))
			}
		}
		_, err = s.ledger.Append(ctx, tx, a, "expert.import", "", map[string]any{
			"sha256": fileDigest, "experts": len(rows), "first": codes[0], "last": codes[len(codes)-1],
		})
		return err
	})
}

const expertColumns = `id, code, name, phone, principal_id, employer, titles, specialties, city, lat, lon,
	status, status_reason, created_at, updated_at, id_number, photo IS NOT NULL, email`

func scanExpert(row pgx.Row) (evaluation.Expert, error) {
	var e evaluation.Expert
	var principal *string
	err := row.Scan(&e.ID, &e.Code, &e.Name, &e.Phone, &principal, &e.Employer, &e.Titles, &e.Specialties,
		&e.City, &e.Lat, &e.Lon, &e.Status, &e.StatusReason, &e.CreatedAt, &e.UpdatedAt, &e.IDNumber, &e.HasPhoto, &e.Email)
	e.Principal = optionalID(principal)
	return e, err
}

func optionalID(s *string) kaiping.ID {
	if s == nil {
		return ""
	}
	return kaiping.ID(*s)
}

func (s *EvaluationStore) expertWhere(ctx context.Context, op, where string, arg any) (evaluation.Expert, error) {
	e, err := scanExpert(s.db.Pool.QueryRow(ctx, `SELECT `+expertColumns+` FROM experts WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return evaluation.Expert{}, notFoundExpert()
	}
	return e, translate(op, err)
}

// Expert implements evaluation.Store.
func (s *EvaluationStore) Expert(ctx context.Context, id kaiping.ID) (evaluation.Expert, error) {
	if !id.Valid() {
		return evaluation.Expert{}, notFoundExpert()
	}
	return s.expertWhere(ctx, "pg.Expert", "id = $1", id)
}

// ExpertByPrincipal implements evaluation.Store.
func (s *EvaluationStore) ExpertByPrincipal(ctx context.Context, principal kaiping.ID) (evaluation.Expert, error) {
	e, err := s.expertWhere(ctx, "pg.ExpertByPrincipal", "principal_id = $1", principal)
	if kaiping.CodeOf(err) == "expert.not_found" {
		return e, kaiping.E(kaiping.KindNotFound, "expert.not_found", "当前登录账号未关联专家库中的专家")
	}
	return e, err
}

// collect scans every row with scan.
func collectRows[T any](rows pgx.Rows, err error, scan func(pgx.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Experts implements evaluation.Store.
func (s *EvaluationStore) Experts(ctx context.Context, f evaluation.ExpertFilter) ([]evaluation.Expert, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+expertColumns+` FROM experts
		WHERE ($1 = '' OR EXISTS (SELECT 1 FROM unnest(specialties) sp WHERE starts_with(sp, $1)))
		  AND ($2 = '' OR city = $2) AND ($3 = '' OR status = $3)
		ORDER BY code LIMIT $4 OFFSET $5`, f.Specialty, f.City, string(f.Status), f.Limit, f.Offset)
	es, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Expert, error) { return scanExpert(r) })
	return es, translate("pg.Experts", err)
}

// Profile implements evaluation.Store.
func (s *EvaluationStore) Profile(ctx context.Context, id kaiping.ID) (evaluation.Profile, error) {
	e, err := s.Expert(ctx, id)
	if err != nil {
		return evaluation.Profile{}, err
	}
	p := evaluation.Profile{Expert: e}
	q := s.db.Pool
	rows, err := q.Query(ctx, `SELECT id, expert_id, organisation, kind, created_at FROM expert_relations WHERE expert_id = $1 ORDER BY created_at, id`, id)
	if p.Relations, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.Relation, error) {
		var v evaluation.Relation
		return v, r.Scan(&v.ID, &v.Expert, &v.Organisation, &v.Kind, &v.CreatedAt)
	}); err != nil {
		return p, translate("pg.Profile", err)
	}
	rows, err = q.Query(ctx, `SELECT id, expert_id, lower(during), upper(during), note FROM expert_unavailability WHERE expert_id = $1 ORDER BY lower(during), id`, id)
	if p.Unavailability, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.Unavailability, error) {
		var v evaluation.Unavailability
		return v, r.Scan(&v.ID, &v.Expert, &v.Start, &v.End, &v.Note)
	}); err != nil {
		return p, translate("pg.Profile", err)
	}
	rows, err = q.Query(ctx, `SELECT id, expert_id, tender_code, tenderer, served_at, draw_id FROM expert_history WHERE expert_id = $1 ORDER BY served_at DESC, id`, id)
	if p.History, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.HistoryEntry, error) {
		var v evaluation.HistoryEntry
		var d *string
		err := r.Scan(&v.ID, &v.Expert, &v.Tender, &v.Tenderer, &v.At, &d)
		v.Draw = optionalID(d)
		return v, err
	}); err != nil {
		return p, translate("pg.Profile", err)
	}
	rows, err = q.Query(ctx, `SELECT id, expert_id, tender_code, score, comment, assessed_by, assessed_at FROM expert_assessments WHERE expert_id = $1 ORDER BY assessed_at DESC, id`, id)
	if p.Assessments, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.Assessment, error) {
		var v evaluation.Assessment
		var by *string
		err := r.Scan(&v.ID, &v.Expert, &v.Tender, &v.Score, &v.Comment, &by, &v.AssessedAt)
		v.AssessedBy = optionalID(by)
		return v, err
	}); err != nil {
		return p, translate("pg.Profile", err)
	}
	rows, err = q.Query(ctx, `SELECT id, expert_id, description, decision, banned_until, recorded_by, recorded_at FROM expert_violations WHERE expert_id = $1 ORDER BY recorded_at DESC, id`, id)
	p.Violations, err = collectRows(rows, err, func(r pgx.Rows) (evaluation.Violation, error) {
		var v evaluation.Violation
		var by *string
		err := r.Scan(&v.ID, &v.Expert, &v.Description, &v.Decision, &v.BannedUntil, &by, &v.RecordedAt)
		v.RecordedBy = optionalID(by)
		return v, err
	})
	return p, translate("pg.Profile", err)
}

// addRecord inserts one row about an expert with its ledger entry; an unknown expert is
// "expert.not_found".
func (s *EvaluationStore) addRecord(ctx context.Context, a kaiping.Actor, op, action string, expert kaiping.ID, detail any, sql string, args ...any) error {
	return s.db.InTx(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23503" {
				return notFoundExpert()
			}
			return err
		}
		_, err := s.ledger.Append(ctx, tx, a, action, string(expert), detail)
		return err
	})
}

// AddRelation implements evaluation.Store.
func (s *EvaluationStore) AddRelation(ctx context.Context, a kaiping.Actor, r evaluation.Relation) error {
	return s.addRecord(ctx, a, "pg.AddRelation", "expert.relation", r.Expert, r,
		`INSERT INTO expert_relations (id, expert_id, organisation, kind, created_at) VALUES ($1, $2, $3, $4, $5)`,
		r.ID, r.Expert, r.Organisation, r.Kind, r.CreatedAt)
}

// AddViolation implements evaluation.Store.
func (s *EvaluationStore) AddViolation(ctx context.Context, a kaiping.Actor, v evaluation.Violation) error {
	return s.addRecord(ctx, a, "pg.AddViolation", "expert.violation", v.Expert, v,
		`INSERT INTO expert_violations (id, expert_id, description, decision, banned_until, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		v.ID, v.Expert, v.Description, v.Decision, v.BannedUntil, nullID(v.RecordedBy), v.RecordedAt)
}

// AddAssessment implements evaluation.Store.
func (s *EvaluationStore) AddAssessment(ctx context.Context, a kaiping.Actor, as evaluation.Assessment) error {
	return s.addRecord(ctx, a, "pg.AddAssessment", "expert.assessment", as.Expert, as,
		`INSERT INTO expert_assessments (id, expert_id, tender_code, score, comment, assessed_by, assessed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		as.ID, as.Expert, as.Tender, as.Score, as.Comment, nullID(as.AssessedBy), as.AssessedAt)
}

// AddHistory implements evaluation.Store.
func (s *EvaluationStore) AddHistory(ctx context.Context, a kaiping.Actor, h evaluation.HistoryEntry) error {
	return s.addRecord(ctx, a, "pg.AddHistory", "expert.history", h.Expert, h,
		`INSERT INTO expert_history (id, expert_id, tender_code, tenderer, served_at, draw_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		h.ID, h.Expert, h.Tender, h.Tenderer, h.At, nullID(h.Draw), a.At)
}

// AddUnavailability implements evaluation.Store.
func (s *EvaluationStore) AddUnavailability(ctx context.Context, a kaiping.Actor, u evaluation.Unavailability) error {
	return s.addRecord(ctx, a, "pg.AddUnavailability", "expert.unavailable", u.Expert, u,
		`INSERT INTO expert_unavailability (id, expert_id, during, note, created_at)
		VALUES ($1, $2, tstzrange($3, $4, '[)'), $5, $6)`,
		u.ID, u.Expert, u.Start, u.End, u.Note, a.At)
}

// RemoveUnavailability implements evaluation.Store.
func (s *EvaluationStore) RemoveUnavailability(ctx context.Context, a kaiping.Actor, expert, id kaiping.ID) error {
	return s.db.InTx(ctx, "pg.RemoveUnavailability", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM expert_unavailability WHERE id = $1 AND expert_id = $2`, id, expert)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kaiping.E(kaiping.KindNotFound, "calendar.not_found", "该不可参加时段不存在")
		}
		_, err = s.ledger.Append(ctx, tx, a, "expert.available", string(expert), map[string]any{"removed": id})
		return err
	})
}

// Candidates implements evaluation.Store: six reads in one REPEATABLE READ snapshot, merged
// by expert, so the pool is read as of one instant.
func (s *EvaluationStore) Candidates(ctx context.Context, session draw.Period, historySince time.Time) ([]draw.Candidate, error) {
	var out []draw.Candidate
	err := pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, city, specialties, status, employer FROM experts ORDER BY id`)
		if out, err = collectRows(rows, err, func(r pgx.Rows) (draw.Candidate, error) {
			var c draw.Candidate
			return c, r.Scan(&c.Expert, &c.City, &c.Specialties, &c.Status, &c.Employer)
		}); err != nil {
			return err
		}
		index := make(map[string]*draw.Candidate, len(out))
		for i := range out {
			index[out[i].Expert] = &out[i]
		}
		for _, p := range candidateFacts(session, historySince) {
			rows, err := tx.Query(ctx, p.sql, p.args...)
			adds, err := collectRows(rows, err, p.scan)
			if err != nil {
				return err
			}
			for _, add := range adds {
				if c := index[add.expert]; c != nil {
					add.apply(c)
				}
			}
		}
		return nil
	})
	return out, translate("pg.Candidates", err)
}

// candidateFact is one fact read about an expert and how it adds to the candidate.
type candidateFact struct {
	expert string
	apply  func(*draw.Candidate)
}

type candidateQuery struct {
	sql  string
	args []any
	scan func(pgx.Rows) (candidateFact, error)
}

// candidateFacts are the reads of everything avoidance looks at besides the expert row:
// declared relations, recent history, running penalties, calendar periods and other draws'
// current memberships overlapping the session.
func candidateFacts(session draw.Period, since time.Time) []candidateQuery {
	return []candidateQuery{
		{`SELECT expert_id, organisation, kind FROM expert_relations`, nil, func(r pgx.Rows) (candidateFact, error) {
			var f candidateFact
			var v draw.Relation
			err := r.Scan(&f.expert, &v.Organisation, &v.Kind)
			f.apply = func(c *draw.Candidate) { c.Relations = append(c.Relations, v) }
			return f, err
		}},
		{`SELECT expert_id, tender_code, tenderer, served_at FROM expert_history WHERE served_at >= $1`, []any{since}, func(r pgx.Rows) (candidateFact, error) {
			var f candidateFact
			var v draw.Service
			err := r.Scan(&f.expert, &v.Tender, &v.Tenderer, &v.At)
			f.apply = func(c *draw.Candidate) { c.History = append(c.History, v) }
			return f, err
		}},
		{`SELECT expert_id, banned_until, description FROM expert_violations WHERE banned_until > $1`, []any{session.Start}, func(r pgx.Rows) (candidateFact, error) {
			var f candidateFact
			var v draw.Penalty
			err := r.Scan(&f.expert, &v.Until, &v.Reason)
			f.apply = func(c *draw.Candidate) { c.Penalties = append(c.Penalties, v) }
			return f, err
		}},
		{`SELECT expert_id, lower(during), upper(during), note FROM expert_unavailability
			WHERE during && tstzrange($1, $2, '[)')`, []any{session.Start, session.End}, func(r pgx.Rows) (candidateFact, error) {
			var f candidateFact
			var v draw.Period
			err := r.Scan(&f.expert, &v.Start, &v.End, &v.Note)
			f.apply = func(c *draw.Candidate) { c.Unavailable = append(c.Unavailable, v) }
			return f, err
		}},
		{`SELECT m.expert_id, lower(d.session), upper(d.session) FROM draw_members m JOIN draws d ON d.id = m.draw_id
			WHERE m.state IN ('pending', 'accepted') AND d.status = 'drawn' AND d.session && tstzrange($1, $2, '[)')`,
			[]any{session.Start, session.End}, func(r pgx.Rows) (candidateFact, error) {
				var f candidateFact
				var v draw.Period
				err := r.Scan(&f.expert, &v.Start, &v.End)
				f.apply = func(c *draw.Candidate) { c.Busy = append(c.Busy, v) }
				return f, err
			}},
	}
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

const reportColumns = `session_id, digest, body, pdf, pdf_revision, built_at, archive`

func scanReport(row pgx.Row) (evaluation.StoredReport, error) {
	var r evaluation.StoredReport
	var archive []byte
	if err := row.Scan(&r.Session, &r.Digest, &r.Body, &r.PDF, &r.PDFRevision, &r.BuiltAt, &archive); err != nil {
		return r, err
	}
	if archive != nil {
		r.Archive = new(evaluation.ReportArchived)
		if err := json.Unmarshal(archive, r.Archive); err != nil {
			return r, kaiping.Internal("pg.scanReport", err)
		}
	}
	return r, nil
}

// StoredReport implements evaluation.ReportStore.
func (s *EvaluationStore) StoredReport(ctx context.Context, session kaiping.ID) (evaluation.StoredReport, error) {
	if !session.Valid() {
		return evaluation.StoredReport{}, notFoundSession()
	}
	r, err := scanReport(s.db.Pool.QueryRow(ctx, `SELECT `+reportColumns+` FROM eval_reports WHERE session_id = $1`, session))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, kaiping.E(kaiping.KindNotFound, "report.not_built", "评标报告尚未生成")
	}
	return r, translate("pg.StoredReport", err)
}

// ReportSignatures implements evaluation.ReportStore.
func (s *EvaluationStore) ReportSignatures(ctx context.Context, session kaiping.ID) ([]evaluation.ReportSignature, error) {
	return s.reportSignatures(ctx, s.db.Pool, session)
}

func (s *EvaluationStore) reportSignatures(ctx context.Context, q querier, session kaiping.ID) ([]evaluation.ReportSignature, error) {
	rows, err := q.Query(ctx, `SELECT member_id, kind, digest, certificate, signature, dissent, cms, pdf_revision, at, ledger_seq
		FROM eval_report_signatures WHERE session_id = $1 ORDER BY ledger_seq`, session)
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.ReportSignature, error) {
		var g evaluation.ReportSignature
		return g, r.Scan(&g.Member, &g.Kind, &g.Digest, &g.Certificate, &g.Signature, &g.Dissent, &g.CMS, &g.PDFRevision, &g.At, &g.LedgerSeq)
	})
	if out == nil {
		out = []evaluation.ReportSignature{}
	}
	return out, translate("pg.ReportSignatures", err)
}

// ChangeReport implements evaluation.ReportStore.
func (s *EvaluationStore) ChangeReport(ctx context.Context, a kaiping.Actor, session kaiping.ID,
	decide func(*evaluation.ReportLock) (evaluation.ReportWrite, error)) (evaluation.StoredReport, error) {
	if !session.Valid() {
		return evaluation.StoredReport{}, notFoundSession()
	}
	var out evaluation.StoredReport
	err := s.db.InTx(ctx, "pg.ChangeReport", func(tx pgx.Tx) error {
		sess, err := lockSession(ctx, tx, session)
		if err != nil {
			return err
		}
		l := &evaluation.ReportLock{Session: &sess}
		rep, err := scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` FROM eval_reports WHERE session_id = $1`, session))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			l.Report = &rep
			out = rep
		}
		if l.Signatures, err = s.reportSignatures(ctx, tx, session); err != nil {
			return err
		}
		w, err := decide(l)
		if err != nil {
			return err
		}
		if r := w.Report; r != nil {
			var archive []byte
			if r.Archive != nil {
				if archive, err = json.Marshal(r.Archive); err != nil {
					return kaiping.Internal("pg.ChangeReport", err)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO eval_reports (`+reportColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (session_id) DO UPDATE SET digest = excluded.digest, body = excluded.body, pdf = excluded.pdf,
					pdf_revision = excluded.pdf_revision, built_at = excluded.built_at, archive = excluded.archive`,
				session, r.Digest, r.Body, r.PDF, r.PDFRevision, r.BuiltAt, archive); err != nil {
				return err
			}
			out = *r
		}
		seq, err := s.sessionChangesSeq(ctx, tx, a, &sess, w.Changes, lastType(w.Changes))
		if err != nil {
			return err
		}
		if g := w.Signature; g != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO eval_report_signatures (session_id, member_id, kind, digest, certificate, signature,
				dissent, cms, pdf_revision, at, ledger_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				session, g.Member, g.Kind, g.Digest, g.Certificate, g.Signature, g.Dissent, g.CMS, g.PDFRevision, a.At, seq); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// lastType is the type of the last change, "" if none.
func lastType(changes []evaluation.SessionChange) string {
	if len(changes) == 0 {
		return ""
	}
	return changes[len(changes)-1].Type
}

// SessionEntries implements evaluation.ReportStore.
func (s *EvaluationStore) SessionEntries(ctx context.Context, session kaiping.ID) ([]evaluation.LedgerEntry, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT seq, at, operator, action, detail FROM ledger_entries WHERE subject = $1 ORDER BY seq`, string(session))
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.LedgerEntry, error) {
		var e evaluation.LedgerEntry
		return e, r.Scan(&e.Seq, &e.At, &e.Operator, &e.Action, &e.Detail)
	})
	return out, translate("pg.SessionEntries", err)
}

package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

var _ httpapi.Staffing = (*OpeningStore)(nil)

// Assign implements opening.Store: in one transaction it checks the tender exists and the
// principal holds the duty's role, stores the assignment and ledgers it.
func (s *OpeningStore) Assign(ctx context.Context, a kaiping.Actor, asg kaiping.Assignment) error {
	return s.db.InTx(ctx, "pg.Assign", func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenders WHERE id = $1)`, asg.Tender).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return notFoundTender()
		}
		var roles []string
		err := tx.QueryRow(ctx, `SELECT roles FROM principals WHERE id = $1`, asg.Principal).Scan(&roles)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindNotFound, "staff.principal_not_found", "被指派的人员不存在")
		}
		if err != nil {
			return err
		}
		if !slices.Contains(roles, string(asg.Duty.Role())) {
			return kaiping.Errorf(kaiping.KindInvalid, "staff.role", "%s须由具有「%s」身份的人员担任", asg.Duty.Label(), asg.Duty.Role().Label())
		}
		_, err = tx.Exec(ctx, `INSERT INTO tender_staff (id, tender_id, principal_id, duty, assigned_by, assigned_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, asg.ID, asg.Tender, asg.Principal, asg.Duty, asg.By, asg.At)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return kaiping.Errorf(kaiping.KindConflict, "staff.duplicate", "该人员已被指派为本项目的%s", asg.Duty.Label())
		}
		if err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "tender.staff_assign", string(asg.Tender), asg)
		return err
	})
}

// RevokeAssignment implements opening.Store.
func (s *OpeningStore) RevokeAssignment(ctx context.Context, a kaiping.Actor, tender, id kaiping.ID) (kaiping.Assignment, error) {
	var out kaiping.Assignment
	err := s.db.InTx(ctx, "pg.RevokeAssignment", func(tx pgx.Tx) error {
		asg, err := scanStaff(tx.QueryRow(ctx, `SELECT `+staffColumns+` FROM tender_staff ts
			JOIN principals p ON p.id = ts.principal_id WHERE ts.id = $1 AND ts.tender_id = $2 FOR UPDATE OF ts`, id, tender))
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindNotFound, "staff.not_found", "该项目没有这项人员指派")
		}
		if err != nil {
			return err
		}
		if asg.RevokedAt != nil {
			return kaiping.E(kaiping.KindConflict, "staff.revoked", "该指派已撤销")
		}
		if _, err := tx.Exec(ctx, `UPDATE tender_staff SET revoked_by = $2, revoked_at = $3 WHERE id = $1`, id, a.Principal, a.At); err != nil {
			return err
		}
		at := a.At
		asg.RevokedBy, asg.RevokedAt = a.Principal, &at
		out = asg
		_, err = s.ledger.Append(ctx, tx, a, "tender.staff_revoke", string(tender), asg)
		return err
	})
	return out, err
}

// Staff implements opening.Store: every assignment of the tender, revoked ones included,
// oldest first.
func (s *OpeningStore) Staff(ctx context.Context, tender kaiping.ID) ([]kaiping.Assignment, error) {
	return collect(ctx, s.db, "pg.Staff", scanStaff, `SELECT `+staffColumns+` FROM tender_staff ts
		JOIN principals p ON p.id = ts.principal_id WHERE ts.tender_id = $1 ORDER BY ts.assigned_at, ts.id`, tender)
}

// Duties implements httpapi.Staffing: the principal's live duties on the tender, or
// "tender.not_found" for a tender that does not exist (so an unknown tender is the same 404
// for staff as for everyone else).
func (s *OpeningStore) Duties(ctx context.Context, tender, principal kaiping.ID) ([]kaiping.Duty, error) {
	if !tender.Valid() {
		return nil, notFoundTender()
	}
	var duties []kaiping.Duty
	err := s.db.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(ts.duty) FILTER (WHERE ts.duty IS NOT NULL), '{}')
		FROM tenders t LEFT JOIN tender_staff ts ON ts.tender_id = t.id AND ts.principal_id = $2 AND ts.revoked_at IS NULL
		WHERE t.id = $1 GROUP BY t.id`, tender, principal).Scan(&duties)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundTender()
	}
	return duties, translate("pg.Duties", err)
}

const staffColumns = `ts.id, ts.tender_id, ts.principal_id, p.name, ts.duty, ts.assigned_by, ts.assigned_at,
	coalesce(ts.revoked_by::text, ''), ts.revoked_at`

func scanStaff(row pgx.Row) (kaiping.Assignment, error) {
	var a kaiping.Assignment
	err := row.Scan(&a.ID, &a.Tender, &a.Principal, &a.Name, &a.Duty, &a.By, &a.At, &a.RevokedBy, &a.RevokedAt)
	return a, err
}

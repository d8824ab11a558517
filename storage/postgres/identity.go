package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/storage/ledger"
)

// IdentityStore keeps principals, certificates and logins.
type IdentityStore struct {
	db     *DB
	ledger *ledger.Ledger
}

var _ identity.Store = (*IdentityStore)(nil)

// NewIdentityStore returns the identity store on db, ledgering through l.
func NewIdentityStore(db *DB, l *ledger.Ledger) *IdentityStore {
	return &IdentityStore{db: db, ledger: l}
}

// CreatePrincipal implements identity.Store.
func (s *IdentityStore) CreatePrincipal(ctx context.Context, a kaiping.Actor, p kaiping.Principal, c identity.RegisteredCertificate) error {
	return s.db.InTx(ctx, "pg.CreatePrincipal "+string(p.ID), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO principals (id, name, org, roles, created_at) VALUES ($1, $2, $3, $4, $5)`,
			p.ID, p.Name, p.Org, rolesText(p.Roles), a.At)
		if err != nil {
			return err
		}
		if err := insertCertificate(ctx, tx, a, p.ID, c); err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "principal.create", string(p.ID), map[string]any{
			"name": p.Name, "org": p.Org, "roles": p.Roles, "certificate": c.Fingerprint,
		})
		return err
	})
}

// AddCertificate implements identity.Store.
func (s *IdentityStore) AddCertificate(ctx context.Context, a kaiping.Actor, principal kaiping.ID, c identity.RegisteredCertificate) error {
	return s.db.InTx(ctx, "pg.AddCertificate "+string(principal), func(tx pgx.Tx) error {
		if err := insertCertificate(ctx, tx, a, principal, c); err != nil {
			return err
		}
		_, err := s.ledger.Append(ctx, tx, a, "principal.add_certificate", string(principal), map[string]any{"certificate": c.Fingerprint})
		return err
	})
}

func insertCertificate(ctx context.Context, tx pgx.Tx, a kaiping.Actor, principal kaiping.ID, c identity.RegisteredCertificate) error {
	_, err := tx.Exec(ctx, `INSERT INTO principal_certificates
		(fingerprint, principal_id, subject, issuer, serial, not_after, der, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.Fingerprint, principal, c.Subject, c.Issuer, c.Serial, c.NotAfter, c.DER, a.At)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return kaiping.E(kaiping.KindConflict, "principal.certificate_taken", "该证书已登记给其他用户")
	}
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	return err
}

const principalColumns = `p.id, p.name, p.org, p.roles`

func scanPrincipal(row pgx.Row) (kaiping.Principal, error) {
	var p kaiping.Principal
	var roles []string
	if err := row.Scan(&p.ID, &p.Name, &p.Org, &roles); err != nil {
		return kaiping.Principal{}, err
	}
	for _, r := range roles {
		p.Roles = append(p.Roles, kaiping.Role(r))
	}
	return p, nil
}

// PrincipalByCertificate implements identity.Store.
func (s *IdentityStore) PrincipalByCertificate(ctx context.Context, fingerprint string) (kaiping.Principal, error) {
	p, err := scanPrincipal(s.db.Pool.QueryRow(ctx, `SELECT `+principalColumns+`
		FROM principals p JOIN principal_certificates c ON c.principal_id = p.id
		WHERE c.fingerprint = $1`, fingerprint))
	if errors.Is(err, pgx.ErrNoRows) {
		return kaiping.Principal{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "证书未登记")
	}
	return p, translate("pg.PrincipalByCertificate", err)
}

// Principal implements identity.Store.
func (s *IdentityStore) Principal(ctx context.Context, id kaiping.ID) (kaiping.Principal, error) {
	if !id.Valid() {
		return kaiping.Principal{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	p, err := scanPrincipal(s.db.Pool.QueryRow(ctx, `SELECT `+principalColumns+` FROM principals p WHERE p.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return kaiping.Principal{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	return p, translate("pg.Principal "+string(id), err)
}

// Principals implements identity.Store.
func (s *IdentityStore) Principals(ctx context.Context) ([]kaiping.Principal, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+principalColumns+` FROM principals p ORDER BY p.name, p.id`)
	if err != nil {
		return nil, translate("pg.Principals", err)
	}
	defer rows.Close()
	ps := []kaiping.Principal{}
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, translate("pg.Principals", err)
		}
		ps = append(ps, p)
	}
	return ps, translate("pg.Principals", rows.Err())
}

// RecordLogin implements identity.Store.
func (s *IdentityStore) RecordLogin(ctx context.Context, a kaiping.Actor, nonce string, nonceExpires time.Time, session kaiping.ID, fingerprint string) error {
	return s.db.InTx(ctx, "pg.RecordLogin", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO used_login_nonces (nonce, used_at, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (nonce) DO NOTHING`, nonce, a.At, nonceExpires)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kaiping.E(kaiping.KindConflict, "auth.nonce_replayed", "登录挑战码已被使用过，请重新获取")
		}
		_, err = s.ledger.Append(ctx, tx, a, "auth.login", string(a.Principal), map[string]any{
			"session": session, "certificate": fingerprint,
		})
		return err
	})
}

func rolesText(rs []kaiping.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// Standing implements identity.Store.
func (s *IdentityStore) Standing(ctx context.Context, principal kaiping.ID, fingerprint string) (identity.Standing, error) {
	if !principal.Valid() {
		return identity.Standing{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	var st identity.Standing
	var roles []string
	err := s.db.Pool.QueryRow(ctx, `SELECT p.id, p.name, p.org, p.roles, p.disabled_at IS NOT NULL,
			c.fingerprint IS NOT NULL AND c.revoked_at IS NULL, coalesce(c.issuer, ''), coalesce(c.serial, '')
		FROM principals p LEFT JOIN principal_certificates c ON c.principal_id = p.id AND c.fingerprint = $2
		WHERE p.id = $1`, principal, fingerprint).
		Scan(&st.Principal.ID, &st.Principal.Name, &st.Principal.Org, &roles, &st.Disabled, &st.Certificate,
			&st.CertIssuer, &st.CertSerial)
	if errors.Is(err, pgx.ErrNoRows) {
		return identity.Standing{}, kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	for _, r := range roles {
		st.Principal.Roles = append(st.Principal.Roles, kaiping.Role(r))
	}
	return st, translate("pg.Standing "+string(principal), err)
}

// SetDisabled implements identity.Store.
func (s *IdentityStore) SetDisabled(ctx context.Context, a kaiping.Actor, principal kaiping.ID, disabled bool) error {
	if !principal.Valid() {
		return kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	return s.db.InTx(ctx, "pg.SetDisabled "+string(principal), func(tx pgx.Tx) error {
		var was bool
		err := tx.QueryRow(ctx, `SELECT disabled_at IS NOT NULL FROM principals WHERE id = $1 FOR UPDATE`, principal).Scan(&was)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
		}
		if err != nil || was == disabled {
			return err
		}
		action := "principal.enable"
		var at *time.Time
		if disabled {
			action, at = "principal.disable", &a.At
		}
		if _, err := tx.Exec(ctx, `UPDATE principals SET disabled_at = $2 WHERE id = $1`, principal, at); err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, action, string(principal), map[string]any{})
		return err
	})
}

// SetRoles implements identity.Store.
func (s *IdentityStore) SetRoles(ctx context.Context, a kaiping.Actor, principal kaiping.ID, roles []kaiping.Role) error {
	if !principal.Valid() {
		return kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	return s.db.InTx(ctx, "pg.SetRoles "+string(principal), func(tx pgx.Tx) error {
		var before []string
		err := tx.QueryRow(ctx, `SELECT roles FROM principals WHERE id = $1 FOR UPDATE`, principal).Scan(&before)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE principals SET roles = $2 WHERE id = $1`, principal, rolesText(roles)); err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "principal.set_roles", string(principal), map[string]any{
			"before": before, "roles": roles,
		})
		return err
	})
}

// RevokeCertificate implements identity.Store.
func (s *IdentityStore) RevokeCertificate(ctx context.Context, a kaiping.Actor, principal kaiping.ID, fingerprint string) error {
	if !principal.Valid() {
		return kaiping.E(kaiping.KindNotFound, "principal.not_found", "用户不存在")
	}
	return s.db.InTx(ctx, "pg.RevokeCertificate "+string(principal), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE principal_certificates SET revoked_at = $3
			WHERE principal_id = $1 AND fingerprint = $2 AND revoked_at IS NULL`, principal, fingerprint, a.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kaiping.E(kaiping.KindNotFound, "principal.certificate_not_found", "该用户没有这张有效的证书")
		}
		_, err = s.ledger.Append(ctx, tx, a, "principal.revoke_certificate", string(principal), map[string]any{"certificate": fingerprint})
		return err
	})
}

// RecordFailedLogin implements identity.Store.
func (s *IdentityStore) RecordFailedLogin(ctx context.Context, f identity.FailedLogin) error {
	var principal *kaiping.ID
	if f.Principal != "" {
		principal = &f.Principal
	}
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO failed_logins (at, address, fingerprint, principal_id, signed, code)
		VALUES ($1, $2, $3, $4, $5, $6)`, f.At, f.Address, f.Fingerprint, principal, f.Signed, f.Code)
	return translate("pg.RecordFailedLogin", err)
}

// RecentFailure implements identity.Store.
func (s *IdentityStore) RecentFailure(ctx context.Context, address, fingerprint string, nAddress, nCertificate int, since time.Time) (time.Time, time.Time, error) {
	var byAddr, byCert *time.Time
	err := s.db.Pool.QueryRow(ctx, `SELECT
		(SELECT at FROM failed_logins WHERE address = $1 AND at > $5 ORDER BY at DESC OFFSET $3 - 1 LIMIT 1),
		(SELECT at FROM failed_logins WHERE signed AND fingerprint = $2 AND $2 <> '' AND at > $5 ORDER BY at DESC OFFSET $4 - 1 LIMIT 1)`,
		address, fingerprint, nAddress, nCertificate, since).Scan(&byAddr, &byCert)
	if err != nil {
		return time.Time{}, time.Time{}, translate("pg.RecentFailure", err)
	}
	var a, c time.Time
	if byAddr != nil {
		a = *byAddr
	}
	if byCert != nil {
		c = *byCert
	}
	return a, c, nil
}

package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

// Record implements opening.HallStore.
func (s *OpeningStore) Record(ctx context.Context, section kaiping.ID) (opening.PublishedRecord, error) {
	return s.RecordOf(ctx, section, 0)
}

// RecordOf implements opening.HallStore; round 0 is the latest.
func (s *OpeningStore) RecordOf(ctx context.Context, section kaiping.ID, round int) (opening.PublishedRecord, error) {
	return s.recordRow(ctx, "pg.RecordOf", `SELECT section_id, digest, body, published_at, ledger_seq FROM hall_records`,
		section, round, kaiping.E(kaiping.KindNotFound, "hall.no_record", "开标记录尚未公布"))
}

// FinalRecordOf implements opening.RecordExportStore; round 0 is the latest. PublishedAt
// is the close.
func (s *OpeningStore) FinalRecordOf(ctx context.Context, section kaiping.ID, round int) (opening.PublishedRecord, error) {
	return s.recordRow(ctx, "pg.FinalRecordOf", `SELECT section_id, digest, body, closed_at, ledger_seq FROM hall_final_records`,
		section, round, kaiping.E(kaiping.KindNotFound, "hall.no_final_record", "开标尚未结束，没有最终开标记录"))
}

// recordRow reads a section's record of round (0: the latest) with query, which selects
// section, digest, body, time and ledger seq from a table keyed by (section_id, round).
func (s *OpeningStore) recordRow(ctx context.Context, op, query string, section kaiping.ID, round int, notFound error) (opening.PublishedRecord, error) {
	var r opening.PublishedRecord
	var body []byte
	err := s.db.Pool.QueryRow(ctx, query+` WHERE section_id = $1 AND ($2 = 0 OR round = $2) ORDER BY round DESC LIMIT 1`,
		section, round).Scan(&r.Section, &r.Digest, &body, &r.PublishedAt, &r.LedgerSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFound
	}
	r.Record = body
	return r, translate(op, err)
}

// CertificateDER implements opening.HallStore.
func (s *OpeningStore) CertificateDER(ctx context.Context, fingerprint string) ([]byte, error) {
	var der []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT der FROM principal_certificates WHERE fingerprint = $1`, fingerprint).Scan(&der)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kaiping.E(kaiping.KindNotFound, "hall.certificate", "登记的证书不存在")
	}
	return der, translate("pg.CertificateDER", err)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// Confirm implements opening.HallStore.
func (s *OpeningStore) Confirm(ctx context.Context, a kaiping.Actor, c opening.Confirmation) error {
	return s.inHall(ctx, "pg.Confirm", c.Section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := h.Require(opening.HallConfirming); err != nil {
			return err
		}
		if c.Digest != h.RecordDigest {
			return kaiping.E(kaiping.KindConflict, "hall.record_changed", "所确认的摘要不是当前开标记录的摘要：开标记录已变化，请重新读取后确认")
		}
		if err := requireBidder(ctx, tx, h, c.Bidder); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO hall_confirmations (section_id, round, bidder_id, digest, certificate, signature, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.Section, h.Round, c.Bidder, c.Digest, c.Certificate, c.Signature, c.At)
		if isUniqueViolation(err) {
			return kaiping.E(kaiping.KindConflict, "hall.already_confirmed", "您已确认过开标记录")
		}
		if err != nil {
			return err
		}
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.confirm", Audience: opening.AudienceBidder, Bidder: c.Bidder, Payload: map[string]any{
			"digest": c.Digest, "certificate": c.Certificate, "signature": c.Signature,
		}})
	})
}

// Confirmations implements opening.HallStore.
func (s *OpeningStore) Confirmations(ctx context.Context, section kaiping.ID) ([]opening.Confirmation, error) {
	return collect(ctx, s.db, "pg.Confirmations", scanConfirmation, `SELECT c.section_id, c.bidder_id, p.name, c.digest,
		c.certificate, c.signature, c.at FROM hall_confirmations c JOIN principals p ON p.id = c.bidder_id
		WHERE c.section_id = $1 AND c.round = `+currentRound+` ORDER BY c.at, c.bidder_id`, section)
}

func scanConfirmation(row pgx.Row) (opening.Confirmation, error) {
	var c opening.Confirmation
	err := row.Scan(&c.Section, &c.Bidder, &c.BidderName, &c.Digest, &c.Certificate, &c.Signature, &c.At)
	return c, err
}

// Object implements opening.HallStore.
func (s *OpeningStore) Object(ctx context.Context, a kaiping.Actor, o opening.Objection) error {
	return s.inHall(ctx, "pg.Object", o.Section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := h.Require(opening.ObjectionStates...); err != nil {
			return err
		}
		if err := requireBidder(ctx, tx, h, o.Bidder); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hall_objections (id, section_id, round, bidder_id, text, raised_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, o.ID, o.Section, h.Round, o.Bidder, o.Text, o.RaisedAt); err != nil {
			return err
		}
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.objection", Audience: opening.AudienceBidder, Bidder: o.Bidder,
			Payload: map[string]any{"objection": o.ID, "text": o.Text}})
	})
}

// Answer implements opening.HallStore.
func (s *OpeningStore) Answer(ctx context.Context, a kaiping.Actor, section, objection kaiping.ID, answer string) (opening.Objection, error) {
	var out opening.Objection
	err := s.inHall(ctx, "pg.Answer", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := h.Require(opening.ObjectionStates...); err != nil {
			return err
		}
		// The answer goes to the bidder who objected (and the overseers), as the objection did.
		var objector kaiping.ID
		err := tx.QueryRow(ctx, `UPDATE hall_objections SET answer = $3, answered_by = $4, answered_at = $5
			WHERE id = $1 AND section_id = $2 AND answered_at IS NULL RETURNING bidder_id`,
			objection, section, answer, nullID(a.Principal), a.At).Scan(&objector)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			o, err := scanObjection(tx.QueryRow(ctx, `SELECT `+objectionColumns+objectionFrom+` WHERE o.id = $1 AND o.section_id = $2`, objection, section))
			if err != nil {
				return err
			}
			return kaiping.Errorf(kaiping.KindConflict, "hall.objection_answered", "该异议已于 %s 答复", o.AnsweredAt.Format("15:04:05"))
		case err != nil:
			return err
		}
		if err := s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.objection_answer", Audience: opening.AudienceBidder, Bidder: objector,
			Payload: map[string]any{"objection": objection, "answer": answer}}); err != nil {
			return err
		}
		out, err = scanObjection(tx.QueryRow(ctx, `SELECT `+objectionColumns+objectionFrom+` WHERE o.id = $1`, objection))
		return err
	})
	return out, err
}

const objectionColumns = `o.id, o.section_id, o.bidder_id, p.name, o.text, o.raised_at, o.answer,
	coalesce(o.answered_by::text, ''), o.answered_at`

const objectionFrom = ` FROM hall_objections o JOIN principals p ON p.id = o.bidder_id`

func scanObjection(row pgx.Row) (opening.Objection, error) {
	var o opening.Objection
	err := row.Scan(&o.ID, &o.Section, &o.Bidder, &o.BidderName, &o.Text, &o.RaisedAt, &o.Answer, &o.AnsweredBy, &o.AnsweredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, kaiping.E(kaiping.KindNotFound, "hall.objection_not_found", "异议不存在")
	}
	return o, err
}

// Objections implements opening.HallStore.
func (s *OpeningStore) Objections(ctx context.Context, section, bidder kaiping.ID) ([]opening.Objection, error) {
	return collect(ctx, s.db, "pg.Objections", scanObjection, `SELECT `+objectionColumns+objectionFrom+`
		WHERE o.section_id = $1 AND ($2 = '' OR o.bidder_id::text = $2) ORDER BY o.raised_at, o.id`, section, string(bidder))
}

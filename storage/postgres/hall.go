package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

var _ opening.HallStore = (*OpeningStore)(nil)

// openHall creates the section's hall in the transaction that seals its bid set: sealed, or
// failed (流标) when fewer bidders than the tender's minimum have a current envelope; and
// the hall's copy of every current envelope.
func (s *OpeningStore) openHall(ctx context.Context, tx pgx.Tx, a kaiping.Actor, set opening.BidSet) error {
	var minBids int
	if err := tx.QueryRow(ctx, `SELECT min_bids FROM tenders WHERE id = $1`, set.Tender).Scan(&minBids); err != nil {
		return err
	}
	state, reason := opening.SealOutcome(set.Bidders, minBids)
	if _, err := tx.Exec(ctx, `INSERT INTO halls (section_id, tender_id, state, version, reason, bidders, updated_at)
		VALUES ($1, $2, 'sealed', 1, '', $3, $4)`, set.Section, set.Tender, set.Bidders, a.At); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO hall_envelopes (envelope_id, section_id, bidder_id, kind)
		SELECT id, section_id, bidder_id, kind FROM bid_envelopes
		WHERE section_id = $1 AND superseded_at IS NULL AND withdrawn_at IS NULL`, set.Section); err != nil {
		return err
	}
	// Version 1 is the hall as sealed; a failed hall is at version 2, failed at the seal.
	st := opening.HallStatus{Tender: set.Tender, Section: set.Section, State: opening.HallSealed, Version: 0,
		Round: 1, Bidders: set.Bidders, MinBids: minBids}
	if err := s.hallChange(ctx, tx, a, &st, opening.Change{Type: "hall.transition", Audience: opening.AudienceAll, Payload: map[string]any{
		"from": opening.HallBidding, "to": opening.HallSealed, "bidders": set.Bidders, "min_bids": minBids, "bid_set": set.Digest,
	}}); err != nil {
		return err
	}
	if state == opening.HallSealed {
		return nil
	}
	st.State, st.Reason = state, reason
	return s.hallChange(ctx, tx, a, &st, opening.Change{Type: "hall.transition", Audience: opening.AudienceAll, Payload: map[string]any{
		"from": opening.HallSealed, "to": state, "reason": reason,
	}})
}

const hallColumns = `h.tender_id, h.section_id, h.state, h.version, h.round, h.reason, h.bidders, t.min_bids, t.deadline,
	h.window_opens_at, h.window_closes_at, h.confirm_ends_at, h.record_digest, h.updated_at, h.checkin_opened_at`

func scanHall(row pgx.Row) (opening.HallStatus, error) {
	var h opening.HallStatus
	err := row.Scan(&h.Tender, &h.Section, &h.State, &h.Version, &h.Round, &h.Reason, &h.Bidders, &h.MinBids, &h.Deadline,
		&h.WindowOpensAt, &h.WindowClosesAt, &h.ConfirmEndsAt, &h.RecordDigest, &h.UpdatedAt, &h.CheckInOpenedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, kaiping.E(kaiping.KindNotFound, "hall.not_open", "该标段尚未截标封存，开标大厅未开启")
	}
	return h, err
}

// Hall implements opening.HallStore.
func (s *OpeningStore) Hall(ctx context.Context, section kaiping.ID) (opening.HallStatus, error) {
	h, err := scanHall(s.db.Pool.QueryRow(ctx, `SELECT `+hallColumns+` FROM halls h JOIN tenders t ON t.id = h.tender_id
		WHERE h.section_id = $1`, section))
	return h, translate("pg.Hall", err)
}

// lockHall locks the section's hall row for the transaction: every change of a hall takes
// it first, so the checks made under it and the change are one.
func lockHall(ctx context.Context, tx pgx.Tx, section kaiping.ID) (opening.HallStatus, error) {
	return scanHall(tx.QueryRow(ctx, `SELECT `+hallColumns+` FROM halls h JOIN tenders t ON t.id = h.tender_id
		WHERE h.section_id = $1 FOR UPDATE OF h`, section))
}

// inHall runs fn on the locked hall in a transaction.
func (s *OpeningStore) inHall(ctx context.Context, op string, section kaiping.ID, fn func(tx pgx.Tx, h *opening.HallStatus) error) error {
	return s.db.InTx(ctx, op, func(tx pgx.Tx) error {
		h, err := lockHall(ctx, tx, section)
		if err != nil {
			return err
		}
		return fn(tx, &h)
	})
}

// hallChange records one change of a locked hall: it bumps the version, saves the row,
// appends the ledger entry (the change's payload with the version) and writes the event for
// its audience. A change whose audience was not decided is refused before anything is
// written (opening.Change.Check), and the database refuses it again (migration 014).
func (s *OpeningStore) hallChange(ctx context.Context, tx pgx.Tx, a kaiping.Actor, h *opening.HallStatus, c opening.Change) error {
	if err := c.Check(); err != nil {
		return err
	}
	h.Version++
	h.UpdatedAt = a.At
	if _, err := tx.Exec(ctx, `UPDATE halls SET state = $2, version = $3, reason = $4, window_opens_at = $5,
		window_closes_at = $6, confirm_ends_at = $7, record_digest = $8, updated_at = $9, round = $10, checkin_opened_at = $11
		WHERE section_id = $1`,
		h.Section, h.State, h.Version, h.Reason, h.WindowOpensAt, h.WindowClosesAt, h.ConfirmEndsAt, h.RecordDigest, h.UpdatedAt,
		h.Round, h.CheckInOpenedAt); err != nil {
		return err
	}
	detail := maps.Clone(c.Payload)
	if detail == nil {
		detail = map[string]any{}
	}
	detail["tender"], detail["version"] = h.Tender, h.Version
	if c.Bidder != "" {
		detail["bidder"] = c.Bidder
	}
	payload, err := json.Marshal(detail)
	if err != nil {
		return kaiping.Internal("pg.hallChange", err)
	}
	entry, err := s.ledger.Append(ctx, tx, a, c.Type, string(h.Section), json.RawMessage(payload))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO hall_events (section_id, version, type, audience, bidder_id, payload, at, ledger_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, h.Section, h.Version, c.Type, c.Audience, nullID(c.Bidder), payload, a.At, entry.Seq)
	return err
}

// Transition implements opening.HallStore.
func (s *OpeningStore) Transition(ctx context.Context, a kaiping.Actor, section kaiping.ID, expectVersion int64, t opening.Transition) (opening.HallStatus, error) {
	var out opening.HallStatus
	err := s.inHall(ctx, "pg.Transition", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := opening.CheckTransition(h.State, t.To, t.By); err != nil {
			return err
		}
		if expectVersion != 0 && h.Version != expectVersion {
			return errRetry()
		}
		payload := map[string]any{"from": h.State, "to": t.To, "by": t.By}
		maps.Copy(payload, t.Detail)
		h.State = t.To
		if t.To == opening.HallCheckingIn {
			opened := a.At
			h.CheckInOpenedAt = &opened
		}
		if t.Reason != "" {
			h.Reason, payload["reason"] = t.Reason, t.Reason
		}
		if t.WindowOpensAt != nil {
			h.WindowOpensAt, h.WindowClosesAt = t.WindowOpensAt, t.WindowClosesAt
			payload["window_opens_at"], payload["window_closes_at"] = t.WindowOpensAt, t.WindowClosesAt
		}
		if t.ConfirmEndsAt != nil {
			h.ConfirmEndsAt, payload["confirm_ends_at"] = t.ConfirmEndsAt, t.ConfirmEndsAt
		}
		if t.Final != nil {
			payload["final_record"] = t.Final.Digest
		}
		if err := s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.transition", Audience: opening.AudienceAll, Payload: payload}); err != nil {
			return err
		}
		if t.Final != nil {
			// Beside the transition's own entry, which names its digest; the trigger queues
			// its export (migration 016).
			var seq int64
			if err := tx.QueryRow(ctx, `SELECT ledger_seq FROM hall_events WHERE section_id = $1 AND version = $2`,
				section, h.Version).Scan(&seq); err != nil {
				return err
			}
			if err := insertFinalRecord(ctx, tx, section, h.Round, *t.Final, seq); err != nil {
				return err
			}
		}
		out = *h
		return nil
	})
	return out, err
}

// insertFinalRecord stores a round's final record beside the entry at seq that names it;
// the trigger queues its export (migration 016).
func insertFinalRecord(ctx context.Context, tx pgx.Tx, section kaiping.ID, round int, f opening.PublishedRecord, seq int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO hall_final_records (section_id, round, digest, body, closed_at, ledger_seq)
		VALUES ($1, $2, $3, $4, $5, $6)`, section, round, f.Digest, []byte(f.Record), f.PublishedAt, seq)
	return err
}

func errRetry() error {
	return kaiping.E(kaiping.KindConflict, "hall.retry", "开标大厅状态刚刚发生变化，请重试")
}

// DueHalls implements opening.HallStore.
func (s *OpeningStore) DueHalls(ctx context.Context, now time.Time) ([]opening.HallStatus, error) {
	return collect(ctx, s.db, "pg.DueHalls", scanHall, `SELECT `+hallColumns+` FROM halls h JOIN tenders t ON t.id = h.tender_id
		WHERE (h.state = 'decrypting' AND h.window_closes_at <= $1) OR (h.state = 'confirming' AND h.confirm_ends_at <= $1)
		ORDER BY h.updated_at`, now)
}

// Events implements opening.HallStore. The filter is opening.EventReader.Sees in SQL, so
// that the limit counts only what the reader may read: an overseer reads every event, a
// bidder in the set those for all and its own, anyone else those for all.
func (s *OpeningStore) Events(ctx context.Context, section kaiping.ID, after int64, r opening.EventReader, limit int) ([]opening.HallEvent, error) {
	return collect(ctx, s.db, "pg.Events", scanEvent, `SELECT section_id, version, type, audience, coalesce(bidder_id::text, ''),
		payload, at, ledger_seq FROM hall_events WHERE section_id = $1 AND version > $2
		AND ($3 OR audience = 'all' OR (audience = 'bidder' AND $4 <> '' AND bidder_id::text = $4))
		ORDER BY version LIMIT $5`, section, after, r.Overseer, string(r.Bidder), limit)
}

func scanEvent(row pgx.Row) (opening.HallEvent, error) {
	var e opening.HallEvent
	var payload []byte
	err := row.Scan(&e.Section, &e.Version, &e.Type, &e.Audience, &e.Bidder, &payload, &e.At, &e.LedgerSeq)
	e.Payload = payload
	return e, err
}

// collect runs a query and scans every row into a slice, never nil (views encode it).
func collect[T any](ctx context.Context, db *DB, op string, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(op, err)
	}
	xs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if xs == nil {
		xs = []T{}
	}
	return xs, translate(op, err)
}

// CheckIn implements opening.HallStore.
func (s *OpeningStore) CheckIn(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID) (opening.CheckIn, bool, error) {
	var c opening.CheckIn
	fresh := false
	err := s.inHall(ctx, "pg.CheckIn", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := h.Require(opening.HallCheckingIn, opening.HallDecrypting); err != nil {
			return err
		}
		if err := requireBidder(ctx, tx, h, bidder); err != nil {
			return err
		}
		addr := ""
		if a.Address.IsValid() {
			addr = a.Address.String()
		}
		tag, err := tx.Exec(ctx, `INSERT INTO hall_checkins (section_id, round, bidder_id, at, address) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, section, h.Round, bidder, a.At, addr)
		if err != nil {
			return err
		}
		if fresh = tag.RowsAffected() == 1; fresh {
			if err := s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.checkin", Audience: opening.AudienceBidder, Bidder: bidder,
				Payload: map[string]any{"address": addr}}); err != nil {
				return err
			}
		}
		c, err = checkInOf(ctx, tx, section, bidder)
		return err
	})
	return c, fresh, err
}

// requireBidder refuses a bidder with no envelope in the sealed set of the locked hall h,
// and in the second round one that did not pass the technical stage.
func requireBidder(ctx context.Context, tx pgx.Tx, h *opening.HallStatus, bidder kaiping.ID) error {
	var in, passed bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM hall_envelopes WHERE section_id = $1 AND bidder_id = $2),
		EXISTS (SELECT 1 FROM hall_qualifications WHERE section_id = $1 AND bidder_id = $2 AND passed)`,
		h.Section, bidder).Scan(&in, &passed); err != nil {
		return err
	}
	switch {
	case !in:
		return kaiping.E(kaiping.KindForbidden, "hall.not_bidder", "您在本标段的投标文件集合中没有投标文件")
	case h.Round >= 2 && !passed:
		return kaiping.E(kaiping.KindForbidden, "hall.not_passed", "贵单位未通过技术评审，不参加第二轮开标")
	}
	return nil
}

const checkInColumns = `c.section_id, c.bidder_id, p.name, c.at, c.address`

func scanCheckIn(row pgx.Row) (opening.CheckIn, error) {
	var c opening.CheckIn
	err := row.Scan(&c.Section, &c.Bidder, &c.BidderName, &c.At, &c.Address)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, kaiping.E(kaiping.KindNotFound, "hall.not_checked_in", "尚未签到")
	}
	return c, err
}

// checkInOf reads the bidder's check-in to the hall's current round.
func checkInOf(ctx context.Context, q querier, section, bidder kaiping.ID) (opening.CheckIn, error) {
	return scanCheckIn(q.QueryRow(ctx, `SELECT `+checkInColumns+` FROM hall_checkins c JOIN principals p ON p.id = c.bidder_id
		WHERE c.section_id = $1 AND c.bidder_id = $2 AND c.round = `+currentRound, section, bidder))
}

// currentRound is the round of the hall of the section in $1.
const currentRound = `(SELECT round FROM halls WHERE section_id = $1)`

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// CheckInOf implements opening.HallStore.
func (s *OpeningStore) CheckInOf(ctx context.Context, section, bidder kaiping.ID) (opening.CheckIn, error) {
	c, err := checkInOf(ctx, s.db.Pool, section, bidder)
	return c, translate("pg.CheckInOf", err)
}

// CheckIns implements opening.HallStore.
func (s *OpeningStore) CheckIns(ctx context.Context, section kaiping.ID) ([]opening.CheckIn, error) {
	return collect(ctx, s.db, "pg.CheckIns", scanCheckIn, `SELECT `+checkInColumns+` FROM hall_checkins c
		JOIN principals p ON p.id = c.bidder_id WHERE c.section_id = $1 AND c.round = `+currentRound+`
		ORDER BY c.at, c.bidder_id`, section)
}

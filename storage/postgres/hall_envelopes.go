package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

const hallEnvelopeColumns = `e.envelope_id, e.section_id, e.bidder_id, p.name, e.kind, b.sha256, b.size, b.object_key,
	b.object_version, e.state, e.attempts, e.busy_refusals, e.via, e.error_code, coalesce(e.plaintext_size, 0),
	e.plaintext_digest, coalesce(e.chunks, 0), e.summary, e.queued_at, e.decrypted_at, e.outcome, e.outcome_reason,
	e.header, e.file_key_wrapped, e.key_destroyed_at`

const hallEnvelopeFrom = ` FROM hall_envelopes e JOIN bid_envelopes b ON b.id = e.envelope_id
	JOIN principals p ON p.id = e.bidder_id`

func scanHallEnvelope(row pgx.Row) (opening.HallEnvelope, error) {
	var e opening.HallEnvelope
	var summary []byte
	err := row.Scan(&e.ID, &e.Section, &e.Bidder, &e.BidderName, &e.Kind, &e.SHA256, &e.Size, &e.ObjectKey,
		&e.ObjectVer, &e.State, &e.Attempts, &e.BusyRefusals, &e.Via, &e.ErrorCode, &e.PlaintextSize,
		&e.PlaintextDigest, &e.Chunks, &summary, &e.QueuedAt, &e.DecryptedAt, &e.Outcome, &e.OutcomeReason,
		&e.Header, &e.WrappedKey, &e.KeyDestroyedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, kaiping.E(kaiping.KindNotFound, "hall.envelope_not_found", "投标文件不存在")
	}
	if err == nil && summary != nil {
		err = json.Unmarshal(summary, &e.Summary)
	}
	return e, err
}

// HallEnvelopes implements opening.HallStore.
func (s *OpeningStore) HallEnvelopes(ctx context.Context, section, bidder kaiping.ID) ([]opening.HallEnvelope, error) {
	return collect(ctx, s.db, "pg.HallEnvelopes", scanHallEnvelope, `SELECT `+hallEnvelopeColumns+hallEnvelopeFrom+`
		WHERE e.section_id = $1 AND ($2 = '' OR e.bidder_id::text = $2) ORDER BY p.name, e.bidder_id, e.kind`,
		section, string(bidder))
}

// QueuedEnvelopes implements opening.HallStore.
func (s *OpeningStore) QueuedEnvelopes(ctx context.Context, before time.Time) ([]opening.HallEnvelope, error) {
	return collect(ctx, s.db, "pg.QueuedEnvelopes", scanHallEnvelope, `SELECT `+hallEnvelopeColumns+hallEnvelopeFrom+`
		WHERE e.state = 'queued' AND e.queued_at <= $1 ORDER BY e.queued_at, e.envelope_id`, before)
}

// CacheHeader implements opening.HallStore.
func (s *OpeningStore) CacheHeader(ctx context.Context, envelope kaiping.ID, header []byte) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE hall_envelopes SET header = $2 WHERE envelope_id = $1 AND header IS NULL`, envelope, header)
	return translate("pg.CacheHeader", err)
}

// RecordBusy implements opening.HallStore.
func (s *OpeningStore) RecordBusy(ctx context.Context, envelope kaiping.ID) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE hall_envelopes SET busy_refusals = busy_refusals + 1 WHERE envelope_id = $1`, envelope)
	return translate("pg.RecordBusy", err)
}

// RecordVerifyFailure implements opening.HallStore.
func (s *OpeningStore) RecordVerifyFailure(ctx context.Context, envelope kaiping.ID, code string) (bool, error) {
	tag, err := s.db.Pool.Exec(ctx, `UPDATE hall_envelopes SET error_code = $2 WHERE envelope_id = $1 AND state = 'queued'`,
		envelope, code)
	return tag.RowsAffected() == 1, translate("pg.RecordVerifyFailure", err)
}

// ReverifyErrors implements opening.HallStore.
func (s *OpeningStore) ReverifyErrors(ctx context.Context) (int, error) {
	tag, err := s.db.Pool.Exec(ctx, `UPDATE hall_envelopes e SET state = 'queued',
		error_code = CASE WHEN e.error_code = '' THEN 'hall.platform_error' ELSE e.error_code END
		FROM halls h WHERE h.section_id = e.section_id AND h.state = 'decrypting'
		AND e.state = 'error' AND e.file_key_wrapped IS NOT NULL AND e.key_destroyed_at IS NULL AND e.outcome = ''`)
	return int(tag.RowsAffected()), translate("pg.ReverifyErrors", err)
}

// lockEnvelope locks one envelope of a locked hall; bidder, when not empty, must own it
// (another bidder's envelope is not found, exactly like one that does not exist).
func lockEnvelope(ctx context.Context, tx pgx.Tx, section, bidder, envelope kaiping.ID) (opening.HallEnvelope, error) {
	return scanHallEnvelope(tx.QueryRow(ctx, `SELECT `+hallEnvelopeColumns+hallEnvelopeFrom+`
		WHERE e.envelope_id = $1 AND e.section_id = $2 AND ($3 = '' OR e.bidder_id::text = $3) FOR UPDATE OF e`,
		envelope, section, string(bidder)))
}

// unlockable checks, under the hall's lock, what Hall.Unlock checked before: the window is
// open, the envelope is the bidder's and may take a key, and the bidder checked in.
func unlockable(ctx context.Context, tx pgx.Tx, a kaiping.Actor, h *opening.HallStatus, bidder, envelope kaiping.ID) (opening.HallEnvelope, error) {
	if err := h.UnlockOpen(a.At); err != nil {
		return opening.HallEnvelope{}, err
	}
	e, err := lockEnvelope(ctx, tx, h.Section, bidder, envelope)
	if err != nil {
		return e, err
	}
	if err := e.CanUnlock(); err != nil {
		return e, err
	}
	// What the hall checked by the tender's plan, again under the lock: a round opens only
	// its own envelopes (a two-envelope bid's price only in the second round), and an
	// envelope classified when a window closed takes no key afterwards.
	var plan string
	if err := tx.QueryRow(ctx, `SELECT envelope_plan FROM tenders WHERE id = $1`, h.Tender).Scan(&plan); err != nil {
		return e, translate("pg.unlockable", err)
	}
	if !opening.EnvelopePlan(plan).OpensIn(h.Round, e.Kind) || e.Outcome != "" {
		return e, kaiping.E(kaiping.KindConflict, "hall.not_this_round", "该投标文件不在本轮开启")
	}
	if bidder != "" {
		if _, err := checkInOf(ctx, tx, h.Section, bidder); err != nil {
			return e, kaiping.E(kaiping.KindForbidden, "hall.not_checked_in", "请先签到再解密")
		}
	}
	return e, nil
}

// RecordWrongKey implements opening.HallStore.
func (s *OpeningStore) RecordWrongKey(ctx context.Context, a kaiping.Actor, section, bidder, envelope kaiping.ID, code string) (int, error) {
	var attempts int
	err := s.inHall(ctx, "pg.RecordWrongKey", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		e, err := unlockable(ctx, tx, a, h, bidder, envelope)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE hall_envelopes SET attempts = attempts + 1 WHERE envelope_id = $1
			RETURNING attempts`, envelope).Scan(&attempts); err != nil {
			return err
		}
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.unlock_failed", Audience: opening.AudienceBidder, Bidder: e.Bidder,
			Payload: map[string]any{"envelope": envelope, "kind": e.Kind, "attempt": attempts, "code": code}})
	})
	return attempts, err
}

// QueueUnlock implements opening.HallStore.
func (s *OpeningStore) QueueUnlock(ctx context.Context, a kaiping.Actor, section, bidder, envelope kaiping.ID, wrappedKey []byte, via string) (opening.HallEnvelope, error) {
	var out opening.HallEnvelope
	err := s.inHall(ctx, "pg.QueueUnlock", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if a.At.Before(h.Deadline) {
			return kaiping.Internal("pg.QueueUnlock", errors.New("a file key before the deadline"))
		}
		e, err := unlockable(ctx, tx, a, h, bidder, envelope)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE hall_envelopes SET state = 'queued', file_key_wrapped = $2, via = $3, queued_at = $4,
			error_code = '' WHERE envelope_id = $1`, envelope, wrappedKey, via, a.At); err != nil {
			return err
		}
		if err := s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.unlock", Audience: opening.AudienceBidder, Bidder: e.Bidder,
			Payload: map[string]any{"envelope": envelope, "kind": e.Kind, "via": via}}); err != nil {
			return err
		}
		out, err = lockEnvelope(ctx, tx, section, "", envelope)
		return err
	})
	return out, err
}

// FinishVerify implements opening.HallStore.
func (s *OpeningStore) FinishVerify(ctx context.Context, a kaiping.Actor, section, envelope kaiping.ID, v opening.Verified) error {
	var summary []byte
	if v.Summary != nil {
		summary, _ = json.Marshal(v.Summary)
	}
	return s.inHall(ctx, "pg.FinishVerify", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		e, err := lockEnvelope(ctx, tx, section, "", envelope)
		if err != nil {
			return err
		}
		if e.State != opening.EnvQueued {
			return kaiping.Errorf(kaiping.KindConflict, "hall.not_queued", "投标文件不在验证队列中（%s）", e.State)
		}
		var decryptedAt any
		if v.State == opening.EnvDecrypted {
			decryptedAt = a.At
		}
		if _, err := tx.Exec(ctx, `UPDATE hall_envelopes SET state = $2, error_code = $3, plaintext_size = $4,
			plaintext_digest = $5, chunks = $6, summary = $7, decrypted_at = $8 WHERE envelope_id = $1`,
			envelope, v.State, v.ErrorCode, v.PlaintextSize, v.PlaintextDigest, v.Chunks, summary, decryptedAt); err != nil {
			return err
		}
		payload := map[string]any{"envelope": envelope, "kind": e.Kind, "state": v.State, "via": e.Via}
		if v.State == opening.EnvDecrypted {
			payload["plaintext_size"], payload["plaintext_digest"], payload["chunks"] = v.PlaintextSize, v.PlaintextDigest, v.Chunks
		} else {
			payload["code"] = v.ErrorCode
		}
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.verified", Audience: opening.AudienceBidder, Bidder: e.Bidder, Payload: payload})
	})
}

// Publish implements opening.HallStore.
func (s *OpeningStore) Publish(ctx context.Context, a kaiping.Actor, section kaiping.ID, expectVersion int64, p opening.Publication) (opening.HallStatus, error) {
	var out opening.HallStatus
	err := s.inHall(ctx, "pg.Publish", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := opening.CheckTransition(h.State, p.To, p.By); err != nil {
			return err
		}
		if h.Version != expectVersion {
			return errRetry()
		}
		for _, o := range p.Outcomes {
			if _, err := tx.Exec(ctx, `UPDATE hall_envelopes SET outcome = $2, outcome_reason = $3
				WHERE envelope_id = $1 AND section_id = $4`, o.Envelope, o.Outcome, o.Reason, section); err != nil {
				return err
			}
		}
		// The window is over: an envelope not opened is never read, so the key handed in for
		// it (a broken file, our failure) is destroyed now.
		if err := s.shredNotOpened(ctx, tx, a, h); err != nil {
			return err
		}
		// The window is over: no partial decryption handed in may outlive it.
		if _, err := tx.Exec(ctx, `DELETE FROM hall_rescue_partials WHERE section_id = $1`, section); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE hall_rescue_shares SET wiped_at = $2
			WHERE section_id = $1 AND wiped_at IS NULL`, section, a.At); err != nil {
			return err
		}
		from := h.State
		h.State, h.Reason, h.RecordDigest = p.To, p.Reason, p.Record.Digest
		if h.WindowClosesAt != nil && a.At.Before(*h.WindowClosesAt) {
			h.WindowClosesAt = &a.At
		}
		payload := map[string]any{"from": from, "to": p.To, "by": p.By, "digest": p.Record.Digest, "outcomes": p.Outcomes}
		if p.Reason != "" {
			payload["reason"] = p.Reason
		}
		if p.Final != nil {
			payload["final_record"] = p.Final.Digest
		}
		if err := s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.publish", Audience: opening.AudienceAll, Payload: payload}); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT ledger_seq FROM hall_events WHERE section_id = $1 AND version = $2`,
			section, h.Version).Scan(&seq); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hall_records (section_id, round, digest, body, published_at, ledger_seq)
			VALUES ($1, $2, $3, $4, $5, $6)`, section, h.Round, p.Record.Digest, []byte(p.Record.Record), a.At, seq); err != nil {
			return err
		}
		if p.Final != nil {
			if err := insertFinalRecord(ctx, tx, section, h.Round, *p.Final, seq); err != nil {
				return err
			}
		}
		out = *h
		return nil
	})
	return out, err
}

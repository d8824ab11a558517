package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

// Registration implements opening.Store.
func (s *OpeningStore) Registration(ctx context.Context, section, bidder kaiping.ID) (opening.Registration, error) {
	var r opening.Registration
	err := s.db.Pool.QueryRow(ctx, `SELECT r.tender_id, r.section_id, r.bidder_id, p.name, r.certificate, r.registered_at
		FROM registrations r JOIN principals p ON p.id = r.bidder_id WHERE r.section_id = $1 AND r.bidder_id = $2`,
		section, bidder).Scan(&r.Tender, &r.Section, &r.Bidder, &r.BidderName, &r.Certificate, &r.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, kaiping.E(kaiping.KindNotFound, "register.not_found", "未报名该标段")
	}
	return r, translate("pg.Registration", err)
}

// CreateUpload implements opening.Store.
func (s *OpeningStore) CreateUpload(ctx context.Context, a kaiping.Actor, u opening.Upload, maxOpen int) error {
	return s.db.InTx(ctx, "pg.CreateUpload", func(tx pgx.Tx) error {
		// One bidder's starts in one section take turns, so that the count below holds.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"bid_uploads/"+string(u.Section)+"/"+string(u.Bidder)); err != nil {
			return err
		}
		var open int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM bid_uploads
			WHERE section_id = $1 AND bidder_id = $2 AND state IN ('open', 'completing')`, u.Section, u.Bidder).Scan(&open); err != nil {
			return err
		}
		if open >= maxOpen {
			return kaiping.Errorf(kaiping.KindConflict, "upload.too_many_open",
				"本标段已有 %d 个未完成的上传，请先续传完成或放弃其中的上传", open)
		}
		_, err := tx.Exec(ctx, `INSERT INTO bid_uploads (id, tender_id, section_id, bidder_id, kind, object_key,
			storage_upload, declared_size, declared_sha256, declared_sm3, part_size, state, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12)`,
			u.ID, u.Tender, u.Section, u.Bidder, u.Kind, u.ObjectKey, u.StorageUpload, u.DeclaredSize,
			u.DeclaredSHA256, u.DeclaredSM3, u.PartSize, u.CreatedAt)
		if err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "bid.upload_start", string(u.ID), map[string]any{
			"tender": u.Tender, "section": u.Section, "kind": u.Kind, "size": u.DeclaredSize, "sha256": u.DeclaredSHA256,
		})
		return err
	})
}

// Upload implements opening.Store.
func (s *OpeningStore) Upload(ctx context.Context, id kaiping.ID) (opening.Upload, error) {
	if !id.Valid() {
		return opening.Upload{}, kaiping.E(kaiping.KindNotFound, "upload.not_found", "上传任务不存在")
	}
	u, err := scanUpload(s.db.Pool.QueryRow(ctx, `SELECT `+uploadColumns+` FROM bid_uploads WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, kaiping.E(kaiping.KindNotFound, "upload.not_found", "上传任务不存在")
	}
	return u, translate("pg.Upload", err)
}

const uploadColumns = `id, tender_id, section_id, bidder_id, kind, object_key, storage_upload,
	declared_size, declared_sha256, declared_sm3, part_size, state, created_at,
	completing_at, completing_address, completing_parts, object_version`

func scanUpload(row pgx.Row) (opening.Upload, error) {
	var u opening.Upload
	err := row.Scan(&u.ID, &u.Tender, &u.Section, &u.Bidder, &u.Kind, &u.ObjectKey, &u.StorageUpload,
		&u.DeclaredSize, &u.DeclaredSHA256, &u.DeclaredSM3, &u.PartSize, &u.State, &u.CreatedAt,
		&u.CompletingAt, &u.CompletingAddress, &u.CompletingParts, &u.ObjectVersion)
	return u, err
}

// OpenUploads implements opening.Store.
func (s *OpeningStore) OpenUploads(ctx context.Context, section, bidder kaiping.ID) ([]opening.Upload, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+uploadColumns+` FROM bid_uploads
		WHERE section_id = $1 AND ($2 = '' OR bidder_id::text = $2) AND state IN ('open', 'completing') ORDER BY created_at, id`,
		section, string(bidder))
	if err != nil {
		return nil, translate("pg.OpenUploads", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (opening.Upload, error) { return scanUpload(r) })
	if us == nil {
		us = []opening.Upload{}
	}
	return us, translate("pg.OpenUploads", err)
}

// EndUpload implements opening.Store.
func (s *OpeningStore) EndUpload(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) (bool, error) {
	ended := false
	err := s.db.InTx(ctx, "pg.EndUpload", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE bid_uploads SET state = 'aborted', end_reason = $2
			WHERE id = $1 AND state IN ('open', 'completing')`, id, reason)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ended = true
		_, err = s.ledger.Append(ctx, tx, a, "bid.upload_abort", string(id), map[string]any{"reason": reason})
		return err
	})
	return ended, err
}

// BeginCompletion implements opening.Store. It appends no ledger entry: what it records is
// the instant the envelope's ledger entry (bid.submit) or refusal (bid.upload_abort) will
// carry, and at the deadline, when most completions arrive, it takes no lock but the
// bidder's own.
func (s *OpeningStore) BeginCompletion(ctx context.Context, a kaiping.Actor, id kaiping.ID, parts []opening.Part) (opening.Upload, error) {
	var u opening.Upload
	err := s.db.InTx(ctx, "pg.BeginCompletion "+string(id), func(tx pgx.Tx) error {
		var err error
		if u, err = scanUpload(tx.QueryRow(ctx, `SELECT `+uploadColumns+` FROM bid_uploads WHERE id = $1`, id)); err != nil {
			return err
		}
		// The bidder's registration first, as every submission does, so that the sealing
		// of the set (which locks them all) sees this completion or refuses it.
		if err := lockBidder(ctx, tx, a, u.Section, u.Bidder); err != nil {
			return err
		}
		addr := ""
		if a.Address.IsValid() {
			addr = a.Address.String()
		}
		u, err = scanUpload(tx.QueryRow(ctx, `UPDATE bid_uploads SET state = 'completing', completing_at = $2,
			completing_address = $3, completing_parts = $4 WHERE id = $1 AND state = 'open' RETURNING `+uploadColumns,
			id, a.At, addr, parts))
		if errors.Is(err, pgx.ErrNoRows) {
			// Another request got here first: a completion under way is finished by whoever
			// asks; one that ended is closed.
			if u, err = scanUpload(tx.QueryRow(ctx, `SELECT `+uploadColumns+` FROM bid_uploads WHERE id = $1`, id)); err != nil {
				return err
			}
			if u.State != opening.UploadCompleting {
				return kaiping.Errorf(kaiping.KindConflict, "upload.closed", "该上传任务已结束（%s）", u.State)
			}
		}
		return err
	})
	return u, err
}

// ReopenUpload implements opening.Store.
func (s *OpeningStore) ReopenUpload(ctx context.Context, id kaiping.ID) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE bid_uploads SET state = 'open', completing_at = NULL, completing_address = '',
		completing_parts = NULL WHERE id = $1 AND state = 'completing' AND object_version = ''`, id)
	return translate("pg.ReopenUpload", err)
}

// NoteObjectVersion implements opening.Store.
func (s *OpeningStore) NoteObjectVersion(ctx context.Context, id kaiping.ID, version string) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE bid_uploads SET object_version = $2 WHERE id = $1 AND state = 'completing'`, id, version)
	return translate("pg.NoteObjectVersion", err)
}

// ClaimStaleCompletions implements opening.Store.
func (s *OpeningStore) ClaimStaleCompletions(ctx context.Context, now, arrivedBefore time.Time) ([]opening.Upload, error) {
	rows, err := s.db.Pool.Query(ctx, `UPDATE bid_uploads SET recovery_claimed_at = $1
		WHERE state = 'completing' AND completing_at < $2 AND (recovery_claimed_at IS NULL OR recovery_claimed_at < $2)
		RETURNING `+uploadColumns, now, arrivedBefore)
	if err != nil {
		return nil, translate("pg.ClaimStaleCompletions", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (opening.Upload, error) { return scanUpload(r) })
	return us, translate("pg.ClaimStaleCompletions", err)
}

// ReleaseCompletionClaim implements opening.Store.
func (s *OpeningStore) ReleaseCompletionClaim(ctx context.Context, id kaiping.ID) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE bid_uploads SET recovery_claimed_at = NULL WHERE id = $1`, id)
	return translate("pg.ReleaseCompletionClaim", err)
}

// UploadReceipt implements opening.Store.
func (s *OpeningStore) UploadReceipt(ctx context.Context, id kaiping.ID) (opening.Receipt, error) {
	var rc opening.Receipt
	err := s.db.InTx(ctx, "pg.UploadReceipt "+string(id), func(tx pgx.Tx) error {
		var seq int64
		e, err := scanEnvelope(tx.QueryRow(ctx, `SELECT `+envelopeColumns+`, ledger_seq FROM bid_envelopes WHERE upload_id = $1`, id), &seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindNotFound, "upload.no_envelope", "该上传任务没有被接收的投标文件")
		}
		if err != nil {
			return err
		}
		proof, err := s.proof(ctx, tx, seq)
		if err != nil {
			return err
		}
		// The receipt as issued: the envelope was current when it was accepted.
		e.State = opening.EnvelopeCurrent
		rc = opening.Receipt{Action: "bid.submit", Tender: e.Tender, Section: e.Section, Bidder: e.Bidder,
			Envelopes: []opening.Envelope{e}, ServerTime: e.SubmittedAt, Ledger: proof}
		return nil
	})
	return rc, err
}

// LedgerReconcile implements opening.Store.
func (s *OpeningStore) LedgerReconcile(ctx context.Context, a kaiping.Actor, upload kaiping.ID, detail map[string]any) error {
	return s.db.InTx(ctx, "pg.LedgerReconcile", func(tx pgx.Tx) error {
		_, err := s.ledger.Append(ctx, tx, a, "bid.reconcile", string(upload), detail)
		return err
	})
}

// ObjectUses implements opening.Store.
func (s *OpeningStore) ObjectUses(ctx context.Context, keys []string) (map[string]opening.ObjectUse, error) {
	uses := map[string]opening.ObjectUse{}
	rows, err := s.db.Pool.Query(ctx, `SELECT u.object_key, u.id, u.state, coalesce(e.object_version, '')
		FROM bid_uploads u LEFT JOIN bid_envelopes e ON e.upload_id = u.id WHERE u.object_key = ANY($1)`, keys)
	if err != nil {
		return nil, translate("pg.ObjectUses", err)
	}
	var key string
	var use opening.ObjectUse
	_, err = pgx.ForEachRow(rows, []any{&key, &use.Upload, &use.State, &use.EnvelopeVersion}, func() error {
		uses[key] = use
		return nil
	})
	return uses, translate("pg.ObjectUses", err)
}

// RecordOrphan implements opening.Store.
func (s *OpeningStore) RecordOrphan(ctx context.Context, a kaiping.Actor, o opening.Orphan) (bool, error) {
	recorded := false
	err := s.db.InTx(ctx, "pg.RecordOrphan", func(tx pgx.Tx) error {
		// Two replicas reconciling at once: the second waits here, then finds the row.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"bid_orphans/"+o.Key+"/"+o.Version); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bid_orphans WHERE object_key = $1 AND object_version = $2)`,
			o.Key, o.Version).Scan(&exists); err != nil || exists {
			return err
		}
		var upload *kaiping.ID
		var lockedUntil *time.Time
		if o.Upload != "" {
			upload = &o.Upload
		}
		if !o.LockedUntil.IsZero() {
			lockedUntil = &o.LockedUntil
		}
		entry, err := s.ledger.Append(ctx, tx, a, "bid.orphan", o.Key, map[string]any{
			"version": o.Version, "size": o.Size, "upload": upload, "upload_state": o.UploadState,
			"locked_until": lockedUntil, "discarded": o.Discarded,
		})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bid_orphans (object_key, object_version, upload_id, upload_state, size,
			locked_until, found_at, ledger_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			o.Key, o.Version, upload, o.UploadState, o.Size, lockedUntil, a.At, entry.Seq); err != nil {
			return err
		}
		recorded = true
		return nil
	})
	return recorded, err
}

// AcceptEnvelope implements opening.Store.
func (s *OpeningStore) AcceptEnvelope(ctx context.Context, a kaiping.Actor, u opening.Upload, e opening.Envelope) (opening.Receipt, error) {
	var rc opening.Receipt
	err := s.db.InTx(ctx, "pg.AcceptEnvelope "+string(u.ID), func(tx pgx.Tx) error {
		if err := lockBidder(ctx, tx, a, u.Section, u.Bidder); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE bid_uploads SET state = 'completed', object_version = $2
			WHERE id = $1 AND state = 'completing'`, u.ID, e.ObjectVer)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kaiping.E(kaiping.KindConflict, "upload.closed", "该上传任务已结束")
		}
		if _, err := tx.Exec(ctx, `UPDATE bid_envelopes SET superseded_at = $4
			WHERE section_id = $1 AND bidder_id = $2 AND kind = $3 AND superseded_at IS NULL AND withdrawn_at IS NULL`,
			e.Section, e.Bidder, e.Kind, a.At); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM bid_envelopes
			WHERE section_id = $1 AND bidder_id = $2 AND kind = $3`, e.Section, e.Bidder, e.Kind).Scan(&e.Version); err != nil {
			return err
		}
		entry, err := s.ledger.Append(ctx, tx, a, "bid.submit", string(e.Section), map[string]any{
			"tender": e.Tender, "bidder": e.Bidder, "kind": e.Kind, "version": e.Version,
			"envelope": e.ID, "size": e.Size, "sha256": e.SHA256, "sm3": e.SM3,
		})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bid_envelopes (id, tender_id, section_id, bidder_id, kind, version, upload_id,
			object_key, object_version, size, sha256, sm3, submitted_at, ledger_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			e.ID, e.Tender, e.Section, e.Bidder, e.Kind, e.Version, u.ID, e.ObjectKey, e.ObjectVer, e.Size, e.SHA256,
			e.SM3, e.SubmittedAt, entry.Seq); err != nil {
			return err
		}
		proof, err := s.proof(ctx, tx, entry.Seq)
		if err != nil {
			return err
		}
		rc = opening.Receipt{Action: "bid.submit", Tender: e.Tender, Section: e.Section, Bidder: e.Bidder,
			Envelopes: []opening.Envelope{e}, ServerTime: a.At, Ledger: proof}
		return nil
	})
	return rc, err
}

// lockBidder serializes one bidder's submissions and withdrawals for a section with each
// other and with the sealing of the bid set (which locks every registration of the
// section), then checks that a.At is before the deadline and the set is not sealed.
func lockBidder(ctx context.Context, tx pgx.Tx, a kaiping.Actor, section, bidder kaiping.ID) error {
	var deadline time.Time
	var sealed bool
	err := tx.QueryRow(ctx, `SELECT t.deadline, EXISTS (SELECT 1 FROM bid_sets b WHERE b.section_id = r.section_id)
		FROM registrations r JOIN tenders t ON t.id = r.tender_id
		WHERE r.section_id = $1 AND r.bidder_id = $2 FOR UPDATE OF r`, section, bidder).Scan(&deadline, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return kaiping.E(kaiping.KindForbidden, "bid.not_registered", "未报名该标段，不能投标")
	}
	if err != nil {
		return err
	}
	if sealed || !a.At.Before(deadline) {
		return kaiping.E(kaiping.KindTooLate, "bid.deadline_passed", "投标截止时间已过，投标文件被拒收")
	}
	return nil
}

// Withdraw implements opening.Store.
func (s *OpeningStore) Withdraw(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID) (opening.Receipt, error) {
	var rc opening.Receipt
	err := s.db.InTx(ctx, "pg.Withdraw", func(tx pgx.Tx) error {
		if err := lockBidder(ctx, tx, a, section, bidder); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE bid_envelopes SET withdrawn_at = $3
			WHERE section_id = $1 AND bidder_id = $2 AND superseded_at IS NULL AND withdrawn_at IS NULL
			RETURNING `+envelopeColumns, section, bidder, a.At)
		if err != nil {
			return err
		}
		envs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (opening.Envelope, error) { return scanEnvelope(r) })
		if err != nil {
			return err
		}
		if len(envs) == 0 {
			return kaiping.E(kaiping.KindNotFound, "bid.nothing_to_withdraw", "该标段没有可撤回的投标文件")
		}
		slices.SortFunc(envs, func(x, y opening.Envelope) int { return cmp.Compare(x.Kind, y.Kind) })
		var withdrawn []map[string]any
		for _, e := range envs {
			withdrawn = append(withdrawn, map[string]any{"envelope": e.ID, "kind": e.Kind, "version": e.Version, "sha256": e.SHA256})
		}
		entry, err := s.ledger.Append(ctx, tx, a, "bid.withdraw", string(section), map[string]any{
			"tender": envs[0].Tender, "bidder": bidder, "envelopes": withdrawn,
		})
		if err != nil {
			return err
		}
		proof, err := s.proof(ctx, tx, entry.Seq)
		if err != nil {
			return err
		}
		rc = opening.Receipt{Action: "bid.withdraw", Tender: envs[0].Tender, Section: section, Bidder: bidder,
			Envelopes: envs, ServerTime: a.At, Ledger: proof}
		return nil
	})
	return rc, err
}

const envelopeColumns = `id, tender_id, section_id, bidder_id, kind, version, object_key, object_version, size,
	sha256, sm3, submitted_at, CASE WHEN withdrawn_at IS NOT NULL THEN 'withdrawn'
	WHEN superseded_at IS NOT NULL THEN 'superseded' ELSE 'current' END`

// scanEnvelope scans envelopeColumns, then into extra the columns selected after them.
func scanEnvelope(row pgx.Row, extra ...any) (opening.Envelope, error) {
	var e opening.Envelope
	err := row.Scan(append([]any{&e.ID, &e.Tender, &e.Section, &e.Bidder, &e.Kind, &e.Version, &e.ObjectKey, &e.ObjectVer,
		&e.Size, &e.SHA256, &e.SM3, &e.SubmittedAt, &e.State}, extra...)...)
	return e, err
}

// Envelopes implements opening.Store.
func (s *OpeningStore) Envelopes(ctx context.Context, section, bidder kaiping.ID) ([]opening.Envelope, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+envelopeColumns+` FROM bid_envelopes
		WHERE section_id = $1 AND bidder_id = $2 ORDER BY submitted_at, kind, version`, section, bidder)
	if err != nil {
		return nil, translate("pg.Envelopes", err)
	}
	envs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (opening.Envelope, error) { return scanEnvelope(r) })
	if envs == nil {
		envs = []opening.Envelope{}
	}
	return envs, translate("pg.Envelopes", err)
}

// proof builds the receipt's ledger proof for entry seq against the checkpoint signed with it.
func (s *OpeningStore) proof(ctx context.Context, tx pgx.Tx, seq int64) (opening.LedgerProof, error) {
	entry, err := s.ledger.ReadEntry(ctx, tx, seq)
	if err != nil {
		return opening.LedgerProof{}, err
	}
	cp, err := s.ledger.CheckpointAt(ctx, tx, seq+1)
	if err != nil {
		return opening.LedgerProof{}, err
	}
	incl, err := s.ledger.ProveInclusion(ctx, tx, seq, seq+1)
	if err != nil {
		return opening.LedgerProof{}, err
	}
	p := opening.LedgerProof{Seq: seq, Leaf: entry.LeafData(), Checkpoint: cp.Text(), Algorithm: cp.Algorithm, Signature: cp.Signature}
	for _, h := range incl.Hashes {
		p.Proof = append(p.Proof, append([]byte(nil), h[:]...))
	}
	return p, nil
}

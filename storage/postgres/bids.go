package postgres

import (
	"context"
	"errors"
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
func (s *OpeningStore) CreateUpload(ctx context.Context, a kaiping.Actor, u opening.Upload) error {
	return s.db.InTx(ctx, "pg.CreateUpload", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO bid_uploads (id, tender_id, section_id, bidder_id, kind, object_key,
			storage_upload, declared_size, declared_sha256, part_size, state, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11)`,
			u.ID, u.Tender, u.Section, u.Bidder, u.Kind, u.ObjectKey, u.StorageUpload, u.DeclaredSize,
			u.DeclaredSHA256, u.PartSize, u.CreatedAt)
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
	var u opening.Upload
	if !id.Valid() {
		return u, kaiping.E(kaiping.KindNotFound, "upload.not_found", "上传任务不存在")
	}
	err := s.db.Pool.QueryRow(ctx, `SELECT id, tender_id, section_id, bidder_id, kind, object_key, storage_upload,
		declared_size, declared_sha256, part_size, state, created_at FROM bid_uploads WHERE id = $1`, id).Scan(
		&u.ID, &u.Tender, &u.Section, &u.Bidder, &u.Kind, &u.ObjectKey, &u.StorageUpload,
		&u.DeclaredSize, &u.DeclaredSHA256, &u.PartSize, &u.State, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, kaiping.E(kaiping.KindNotFound, "upload.not_found", "上传任务不存在")
	}
	return u, translate("pg.Upload", err)
}

// EndUpload implements opening.Store.
func (s *OpeningStore) EndUpload(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) error {
	return s.db.InTx(ctx, "pg.EndUpload", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE bid_uploads SET state = 'aborted', end_reason = $2 WHERE id = $1 AND state = 'open'`, id, reason)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "bid.upload_abort", string(id), map[string]any{"reason": reason})
		return err
	})
}

// AcceptEnvelope implements opening.Store.
func (s *OpeningStore) AcceptEnvelope(ctx context.Context, a kaiping.Actor, u opening.Upload, e opening.Envelope) (opening.Receipt, error) {
	var rc opening.Receipt
	err := s.db.InTx(ctx, "pg.AcceptEnvelope "+string(u.ID), func(tx pgx.Tx) error {
		// One bidder's submissions to one section take turns: concurrent completions
		// serialize here and each supersedes the one before.
		var deadline time.Time
		err := tx.QueryRow(ctx, `SELECT t.deadline FROM registrations r JOIN tenders t ON t.id = r.tender_id
			WHERE r.section_id = $1 AND r.bidder_id = $2 FOR UPDATE OF r`, u.Section, u.Bidder).Scan(&deadline)
		if err != nil {
			return err
		}
		if !a.At.Before(deadline) {
			return kaiping.E(kaiping.KindTooLate, "bid.deadline_passed", "投标截止时间已过，投标文件被拒收")
		}
		tag, err := tx.Exec(ctx, `UPDATE bid_uploads SET state = 'completed' WHERE id = $1 AND state = 'open'`, u.ID)
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
			"envelope": e.ID, "size": e.Size, "sha256": e.SHA256,
		})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bid_envelopes (id, tender_id, section_id, bidder_id, kind, version, upload_id,
			object_key, object_version, size, sha256, submitted_at, ledger_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			e.ID, e.Tender, e.Section, e.Bidder, e.Kind, e.Version, u.ID, e.ObjectKey, e.ObjectVer, e.Size, e.SHA256,
			e.SubmittedAt, entry.Seq); err != nil {
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

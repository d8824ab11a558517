package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

var _ opening.RecordExportStore = (*OpeningStore)(nil)

// PendingExports implements opening.RecordExportStore.
func (s *OpeningStore) PendingExports(ctx context.Context, limit int) ([]opening.RecordRef, error) {
	return collect(ctx, s.db, "pg.PendingExports", func(row pgx.Row) (opening.RecordRef, error) {
		var r opening.RecordRef
		err := row.Scan(&r.Tender, &r.Section, &r.Round, &r.Stage)
		return r, err
	}, `SELECT h.tender_id, q.section_id, q.round, q.stage FROM hall_record_export_queue q JOIN halls h USING (section_id)
		ORDER BY q.queued_at, q.section_id, q.round, q.stage DESC LIMIT $1`, limit)
}

const recordExportColumns = `section_id, round, stage, format, object_key, object_version, sha256, size, retain_until,
	exported_at, ledger_seq`

// RecordExports implements opening.RecordExportStore.
func (s *OpeningStore) RecordExports(ctx context.Context, section kaiping.ID) ([]opening.RecordExport, error) {
	return collect(ctx, s.db, "pg.RecordExports", func(row pgx.Row) (opening.RecordExport, error) {
		var e opening.RecordExport
		err := row.Scan(&e.Section, &e.Round, &e.Stage, &e.Format, &e.ObjectKey, &e.ObjectVersion, &e.SHA256, &e.Size,
			&e.RetainUntil, &e.ExportedAt, &e.LedgerSeq)
		return e, err
	}, `SELECT `+recordExportColumns+` FROM hall_record_exports WHERE section_id = $1 ORDER BY round, stage DESC, format`, section)
}

// AddRecordExports implements opening.RecordExportStore: under the hall's lock, the ledger
// entry and the hall event name every object with its version and SHA-256, and the record
// leaves the queue.
func (s *OpeningStore) AddRecordExports(ctx context.Context, a kaiping.Actor, ref opening.RecordRef, exports []opening.RecordExport) error {
	return s.inHall(ctx, "pg.AddRecordExports", ref.Section, func(tx pgx.Tx, h *opening.HallStatus) error {
		tag, err := tx.Exec(ctx, `DELETE FROM hall_record_export_queue WHERE section_id = $1 AND round = $2 AND stage = $3`,
			ref.Section, ref.Round, ref.Stage)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kaiping.E(kaiping.KindConflict, "hall.record_exported", "开标记录已归档")
		}
		var digest string
		table := "hall_records"
		if ref.Stage == opening.StageFinal {
			table = "hall_final_records"
		}
		if err := tx.QueryRow(ctx, `SELECT digest FROM `+table+` WHERE section_id = $1 AND round = $2`,
			ref.Section, ref.Round).Scan(&digest); err != nil {
			return err
		}
		objects := make([]map[string]any, len(exports))
		for i, e := range exports {
			objects[i] = map[string]any{"format": e.Format, "key": e.ObjectKey, "version": e.ObjectVersion,
				"sha256": e.SHA256, "size": e.Size, "retain_until": e.RetainUntil}
		}
		if err := s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.record_export", Audience: opening.AudienceOverseers, Payload: map[string]any{
			"round": ref.Round, "stage": ref.Stage, "record": digest, "objects": objects,
		}}); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT ledger_seq FROM hall_events WHERE section_id = $1 AND version = $2`,
			ref.Section, h.Version).Scan(&seq); err != nil {
			return err
		}
		for _, e := range exports {
			if _, err := tx.Exec(ctx, `INSERT INTO hall_record_exports (`+recordExportColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, ref.Section, ref.Round, ref.Stage, e.Format, e.ObjectKey,
				e.ObjectVersion, e.SHA256, e.Size, e.RetainUntil, e.ExportedAt, seq); err != nil {
				return err
			}
		}
		return nil
	})
}

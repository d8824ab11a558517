package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

var _ opening.FileKeyStore = (*OpeningStore)(nil)

// shredNotOpened destroys, at the end of a decrypt window, the file keys of the section's
// envelopes that did not open (those Publish just gave an outcome), with a ledger entry.
func (s *OpeningStore) shredNotOpened(ctx context.Context, tx pgx.Tx, a kaiping.Actor, h *opening.HallStatus) error {
	rows, err := tx.Query(ctx, `UPDATE hall_envelopes SET file_key_wrapped = NULL, file_key_legacy = NULL,
		key_destroyed_at = $2 WHERE section_id = $1 AND outcome <> ''
		AND (file_key_wrapped IS NOT NULL OR file_key_legacy IS NOT NULL) RETURNING envelope_id`, h.Section, a.At)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[kaiping.ID])
	if err != nil || len(ids) == 0 {
		return err
	}
	_, err = s.ledger.Append(ctx, tx, a, "kek.shred", string(h.Section), map[string]any{
		"reason": opening.ShredNotOpened, "tender": h.Tender, "round": h.Round, "envelopes": ids})
	return err
}

// StoredFileKeys implements opening.FileKeyStore.
func (s *OpeningStore) StoredFileKeys(ctx context.Context, after kaiping.ID, limit int, legacyOnly bool) ([]opening.StoredFileKey, error) {
	// A UUID's text form orders as the UUID does.
	return collect(ctx, s.db, "pg.StoredFileKeys", func(row pgx.Row) (opening.StoredFileKey, error) {
		var k opening.StoredFileKey
		err := row.Scan(&k.Envelope, &k.Section, &k.Wrapped, &k.Legacy)
		return k, err
	}, `SELECT envelope_id, section_id, file_key_wrapped, file_key_legacy FROM hall_envelopes
		WHERE envelope_id::text > $1 AND (file_key_legacy IS NOT NULL OR (NOT $3 AND file_key_wrapped IS NOT NULL))
		ORDER BY envelope_id LIMIT $2`, string(after), limit, legacyOnly)
}

// ReplaceFileKeys implements opening.FileKeyStore.
func (s *OpeningStore) ReplaceFileKeys(ctx context.Context, a kaiping.Actor, kek string, keys []opening.RewrappedFileKey) (int, int, error) {
	var ids []kaiping.ID
	legacy := 0
	err := s.db.InTx(ctx, "pg.ReplaceFileKeys", func(tx pgx.Tx) error {
		ids, legacy = nil, 0
		for _, k := range keys {
			tag, err := tx.Exec(ctx, `UPDATE hall_envelopes SET file_key_wrapped = $2, file_key_legacy = NULL
				WHERE envelope_id = $1 AND file_key_legacy IS NOT DISTINCT FROM $3 AND file_key_wrapped IS NOT DISTINCT FROM $4`,
				k.Envelope, k.New, k.Legacy, k.Wrapped)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				ids = append(ids, k.Envelope)
				if k.Legacy != nil {
					legacy++
				}
			}
		}
		if len(ids) == 0 {
			return nil
		}
		_, err := s.ledger.Append(ctx, tx, a, "kek.rewrap", kek, map[string]any{"kek": kek, "envelopes": ids, "legacy": legacy})
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return len(ids), legacy, nil
}

// ShredArchived implements opening.FileKeyStore.
func (s *OpeningStore) ShredArchived(ctx context.Context, a kaiping.Actor, before time.Time) (opening.Shredding, error) {
	out := opening.Shredding{Reason: opening.ShredArchiveEnded}
	err := s.db.InTx(ctx, "pg.ShredArchived", func(tx pgx.Tx) error {
		out.Sections, out.Keys = nil, 0
		rows, err := tx.Query(ctx, `UPDATE hall_envelopes e SET file_key_wrapped = NULL, file_key_legacy = NULL,
			key_destroyed_at = $2 FROM halls h JOIN tenders t ON t.id = h.tender_id
			WHERE e.section_id = h.section_id AND t.deadline < $1
			AND (e.file_key_wrapped IS NOT NULL OR e.file_key_legacy IS NOT NULL)
			RETURNING h.tender_id, e.section_id`, before, a.At)
		if err != nil {
			return err
		}
		type destroyed struct{ tender, section kaiping.ID }
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (destroyed, error) {
			var d destroyed
			err := r.Scan(&d.tender, &d.section)
			return d, err
		})
		if err != nil {
			return err
		}
		// One ledger entry per tender: which of its sections lost how many keys.
		perTender := map[kaiping.ID]map[kaiping.ID]int{}
		var order []kaiping.ID
		for _, d := range all {
			if perTender[d.tender] == nil {
				perTender[d.tender] = map[kaiping.ID]int{}
				order = append(order, d.tender)
			}
			if perTender[d.tender][d.section] == 0 {
				out.Sections = append(out.Sections, d.section)
			}
			perTender[d.tender][d.section]++
		}
		for _, t := range order {
			if _, err := s.ledger.Append(ctx, tx, a, "kek.shred", string(t), map[string]any{
				"reason": opening.ShredArchiveEnded, "before": before, "sections": perTender[t]}); err != nil {
				return err
			}
		}
		out.Keys = len(all)
		return nil
	})
	return out, err
}

package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

// SealBidSet implements opening.Store.
func (s *OpeningStore) SealBidSet(ctx context.Context, a kaiping.Actor, tender, section kaiping.ID) (opening.BidSet, error) {
	var set opening.BidSet
	err := s.db.InTx(ctx, "pg.SealBidSet "+string(section), func(tx pgx.Tx) error {
		// Sealers of one section take turns on its row, also when it has no registration to
		// lock (two sealing a section nobody registered for both inserted its set). NO KEY
		// UPDATE leaves the submissions' foreign-key locks on the row alone.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM tender_sections WHERE id = $1 FOR NO KEY UPDATE`, section); err != nil {
			return err
		}
		// Every submission and withdrawal locks its bidder's registration row first
		// (lockBidder): holding all of them waits for those in flight and keeps new ones out.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM registrations WHERE section_id = $1 ORDER BY bidder_id FOR UPDATE`, section); err != nil {
			return err
		}
		// Two replicas sealing at once: the second waits on the locks above, then finds the
		// first one's set here.
		existing, err := scanBidSet(tx.QueryRow(ctx, `SELECT `+bidSetColumns+` FROM bid_sets WHERE section_id = $1`, section))
		if err == nil {
			set = existing
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// A completion that arrived before the deadline is still being checked: the set
		// waits for it (BeginCompletion took a registration lock to record it, so none
		// arrives unseen past the locks above).
		var completing int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM bid_uploads WHERE section_id = $1 AND state = 'completing'`,
			section).Scan(&completing); err != nil {
			return err
		}
		if completing > 0 {
			return kaiping.Errorf(kaiping.KindConflict, "bidset.completions_pending",
				"截止前到达的 %d 份投标文件仍在校验，校验完毕后立即封存", completing)
		}
		set = opening.BidSet{Tender: tender, Section: section, SealedAt: a.At, Digests: []string{}}
		rows, err := tx.Query(ctx, `SELECT sha256, bidder_id FROM bid_envelopes
			WHERE section_id = $1 AND superseded_at IS NULL AND withdrawn_at IS NULL`, section)
		if err != nil {
			return err
		}
		bidders := map[string]bool{}
		var digest, bidder string
		if _, err := pgx.ForEachRow(rows, []any{&digest, &bidder}, func() error {
			set.Digests = append(set.Digests, digest)
			bidders[bidder] = true
			return nil
		}); err != nil {
			return err
		}
		slices.Sort(set.Digests)
		set.Envelopes, set.Bidders = len(set.Digests), len(bidders)
		set.Digest = opening.BidSetDigest(set.Digests)
		entry, err := s.ledger.Append(ctx, tx, a, "bid.set_seal", string(section), map[string]any{
			"tender": tender, "envelopes": set.Envelopes, "bidders": set.Bidders,
			"digests": set.Digests, "digest": set.Digest,
		})
		if err != nil {
			return err
		}
		set.LedgerSeq = entry.Seq
		if _, err = tx.Exec(ctx, `INSERT INTO bid_sets (section_id, tender_id, sealed_at, envelopes, bidders, digests, digest, ledger_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, section, tender, set.SealedAt, set.Envelopes, set.Bidders,
			set.Digests, set.Digest, set.LedgerSeq); err != nil {
			return err
		}
		// The opening hall starts with the set it opens (hall.go).
		return s.openHall(ctx, tx, a, set)
	})
	return set, err
}

const bidSetColumns = `tender_id, section_id, sealed_at, envelopes, bidders, digests, digest, ledger_seq`

func scanBidSet(row pgx.Row) (opening.BidSet, error) {
	var b opening.BidSet
	err := row.Scan(&b.Tender, &b.Section, &b.SealedAt, &b.Envelopes, &b.Bidders, &b.Digests, &b.Digest, &b.LedgerSeq)
	return b, err
}

// BidSet implements opening.Store.
func (s *OpeningStore) BidSet(ctx context.Context, section kaiping.ID) (opening.BidSet, error) {
	b, err := scanBidSet(s.db.Pool.QueryRow(ctx, `SELECT `+bidSetColumns+` FROM bid_sets WHERE section_id = $1`, section))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, kaiping.E(kaiping.KindNotFound, "bidset.not_sealed", "该标段的投标文件集合尚未封存（投标截止后封存）")
	}
	return b, translate("pg.BidSet", err)
}

// UnsealedSections implements opening.Store.
func (s *OpeningStore) UnsealedSections(ctx context.Context, due time.Time) ([]opening.SectionRef, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT t.id, sec.id FROM tenders t JOIN tender_sections sec ON sec.tender_id = t.id
		WHERE t.deadline <= $1 AND NOT EXISTS (SELECT 1 FROM bid_sets b WHERE b.section_id = sec.id)
		ORDER BY t.deadline, sec.position`, due)
	if err != nil {
		return nil, translate("pg.UnsealedSections", err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[opening.SectionRef])
	return refs, translate("pg.UnsealedSections", err)
}

// NextUnsealedDeadline implements opening.Store.
func (s *OpeningStore) NextUnsealedDeadline(ctx context.Context) (time.Time, bool, error) {
	var next *time.Time
	err := s.db.Pool.QueryRow(ctx, `SELECT min(t.deadline) FROM tenders t JOIN tender_sections sec ON sec.tender_id = t.id
		WHERE NOT EXISTS (SELECT 1 FROM bid_sets b WHERE b.section_id = sec.id)`).Scan(&next)
	if err != nil || next == nil {
		return time.Time{}, false, translate("pg.NextUnsealedDeadline", err)
	}
	return *next, true, nil
}

package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

var _ opening.OpenedBidStore = (*OpeningStore)(nil)

// HallEnvelope implements opening.OpenedBidStore.
func (s *OpeningStore) HallEnvelope(ctx context.Context, envelope kaiping.ID) (opening.HallEnvelope, error) {
	e, err := scanHallEnvelope(s.db.Pool.QueryRow(ctx, `SELECT `+hallEnvelopeColumns+hallEnvelopeFrom+`
		WHERE e.envelope_id = $1`, envelope))
	return e, translate("pg.HallEnvelope", err)
}

// LedgerBidRead implements opening.OpenedBidStore: the entry names the envelope, its bid
// and what the opening verified of it, never its content.
func (s *OpeningStore) LedgerBidRead(ctx context.Context, a kaiping.Actor, b opening.OpenedBid) error {
	return s.db.InTx(ctx, "pg.LedgerBidRead", func(tx pgx.Tx) error {
		_, err := s.ledger.Append(ctx, tx, a, "bid.read", string(b.Envelope), map[string]any{
			"tender_id": b.Tender, "section_id": b.Section, "bidder_id": b.Bidder, "kind": b.Kind,
			"round": b.Round, "plaintext_digest": b.PlaintextDigest,
		})
		return err
	})
}

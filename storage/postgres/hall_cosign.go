package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

// Propose implements opening.HallStore.
func (s *OpeningStore) Propose(ctx context.Context, a kaiping.Actor, p opening.Proposal) error {
	req, err := json.Marshal(p.Request)
	if err != nil {
		return kaiping.Internal("pg.Propose", err)
	}
	return s.inHall(ctx, "pg.Propose", p.Section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if _, err := tx.Exec(ctx, `INSERT INTO hall_proposals (id, section_id, round, step, request, proposed_by, proposed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.ID, p.Section, p.Round, p.Step, req, p.ProposedBy, p.ProposedAt); err != nil {
			return err
		}
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.cosign_propose", Audience: opening.AudienceOverseers,
			Payload: map[string]any{"proposal": p.ID, "step": p.Step, "request": p.Request}})
	})
}

// Proposals implements opening.HallStore.
func (s *OpeningStore) Proposals(ctx context.Context, section kaiping.ID, round int) ([]opening.Proposal, error) {
	return collect(ctx, s.db, "pg.Proposals", scanProposal, `SELECT `+proposalColumns+` FROM hall_proposals
		WHERE section_id = $1 AND round = $2 ORDER BY proposed_at, id`, section, round)
}

// Cosign implements opening.HallStore.
func (s *OpeningStore) Cosign(ctx context.Context, a kaiping.Actor, section kaiping.ID, round int, id kaiping.ID) (opening.Proposal, error) {
	var out opening.Proposal
	err := s.inHall(ctx, "pg.Cosign", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		p, err := scanProposal(tx.QueryRow(ctx, `SELECT `+proposalColumns+` FROM hall_proposals
			WHERE id = $1 AND section_id = $2 AND round = $3 FOR UPDATE`, id, section, round))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return kaiping.E(kaiping.KindNotFound, "hall.proposal_not_found", "本标段本轮没有这份会签申请")
		case err != nil:
			return err
		case p.CosignedAt != nil:
			return kaiping.E(kaiping.KindConflict, "hall.proposal_spent", "该会签申请已经会签，不能再次使用")
		case p.ProposedBy == a.Principal:
			return kaiping.E(kaiping.KindForbidden, "hall.cosign_self", "提出申请的人不能为自己会签")
		}
		if _, err := tx.Exec(ctx, `UPDATE hall_proposals SET cosigned_by = $2, cosigned_at = $3 WHERE id = $1`,
			id, a.Principal, a.At); err != nil {
			return err
		}
		at := a.At
		p.CosignedBy, p.CosignedAt = a.Principal, &at
		out = p
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.cosign", Audience: opening.AudienceOverseers,
			Payload: map[string]any{"proposal": p.ID, "step": p.Step, "proposed_by": p.ProposedBy}})
	})
	return out, err
}

const proposalColumns = `id, section_id, round, step, request, proposed_by, proposed_at, coalesce(cosigned_by::text, ''), cosigned_at`

func scanProposal(row pgx.Row) (opening.Proposal, error) {
	var p opening.Proposal
	var req []byte
	if err := row.Scan(&p.ID, &p.Section, &p.Round, &p.Step, &req, &p.ProposedBy, &p.ProposedAt, &p.CosignedBy, &p.CosignedAt); err != nil {
		return p, err
	}
	return p, json.Unmarshal(req, &p.Request)
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
)

// RescueHolders implements opening.Store.
func (s *OpeningStore) RescueHolders(ctx context.Context, ids []kaiping.ID, at time.Time) ([]rescue.Holder, error) {
	holders := make([]rescue.Holder, 0, len(ids))
	for _, id := range ids {
		refuse := func(why string) error {
			return kaiping.Errorf(kaiping.KindInvalid, "tender.rescue_holder", "补救密钥持有人 %s %s", id, why)
		}
		if !id.Valid() {
			return nil, refuse("不是有效的标识")
		}
		var roles []string
		var der []byte
		err := s.db.Pool.QueryRow(ctx, `SELECT p.roles, c.der FROM principals p
			LEFT JOIN LATERAL (SELECT der FROM principal_certificates
				WHERE principal_id = p.id AND not_after > $2 ORDER BY created_at DESC LIMIT 1) c ON true
			WHERE p.id = $1`, id, at).Scan(&roles, &der)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil, refuse("不存在")
		case err != nil:
			return nil, translate("pg.RescueHolders", err)
		case !slices.Contains(roles, string(kaiping.RoleSupervisor)):
			return nil, refuse("不是监督人员")
		case der == nil:
			return nil, refuse("没有登记有效的数字证书")
		}
		cert, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, kaiping.Internal("pg.RescueHolders", err)
		}
		holders = append(holders, rescue.Holder{Principal: id, Certificate: cert})
	}
	return holders, nil
}

// RescueSetup implements opening.Store.
func (s *OpeningStore) RescueSetup(ctx context.Context, tender kaiping.ID) (rescue.Setup, error) {
	var setup rescue.Setup
	var raw []byte
	if !tender.Valid() {
		return setup, notFoundTender()
	}
	err := s.db.Pool.QueryRow(ctx, `SELECT rescue_setup FROM tenders WHERE id = $1`, tender).Scan(&raw)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return setup, notFoundTender()
	case err != nil:
		return setup, translate("pg.RescueSetup", err)
	case raw == nil:
		return setup, kaiping.E(kaiping.KindNotFound, "rescue.none", "本项目未设解密补救方案")
	}
	// Setup's decoder checks the stored setup is self-consistent: a damaged row fails here.
	if err := json.Unmarshal(raw, &setup); err != nil {
		return setup, kaiping.Internal("pg.RescueSetup "+string(tender), err)
	}
	return setup, nil
}

// AddRescuePartials implements opening.HallStore. The partials are checked by the hall
// before they come here; under the hall lock the window is checked again, so none is stored
// after it closed. One row in hall_rescue_shares records the holder's contribution to the
// bid (never a value), one row per envelope in hall_rescue_partials holds D_i and its proof
// until the envelope is opened or the window closes.
func (s *OpeningStore) AddRescuePartials(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID, keyID string, index int, partials []rescue.Partial) (int, error) {
	var held int
	err := s.inHall(ctx, "pg.AddRescuePartials", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := h.UnlockOpen(a.At); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO hall_rescue_shares (section_id, round, bidder_id, holder_id, share_index, key_id, submitted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, section, h.Round, bidder, a.Principal, index, keyID, a.At)
		if isUniqueViolation(err) {
			return kaiping.E(kaiping.KindConflict, "hall.share_duplicate", "您已为该投标人的投标文件提交过部分解密值")
		}
		if err != nil {
			return err
		}
		envelopes := make([]kaiping.ID, len(partials))
		for i, p := range partials {
			envelopes[i] = p.Envelope
			if _, err := tx.Exec(ctx, `INSERT INTO hall_rescue_partials (envelope_id, holder_id, section_id, round, bidder_id,
				share_index, point, proof, submitted_at)
				SELECT envelope_id, $2, section_id, $3, bidder_id, $4, $5, $6, $7 FROM hall_envelopes
				WHERE envelope_id = $1 AND section_id = $8 AND bidder_id = $9`,
				p.Envelope, a.Principal, h.Round, index, p.Point, p.Proof, a.At, section, bidder); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM hall_rescue_shares WHERE section_id = $1 AND bidder_id = $2
			AND round = $3`, section, bidder, h.Round).Scan(&held); err != nil {
			return err
		}
		// Who handed in for which bid and envelopes; never D_i, nor anything of the share.
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.rescue_share", Audience: opening.AudienceBidder, Bidder: bidder, Payload: map[string]any{
			"bid": bidder, "holder": a.Principal, "index": index, "key_id": keyID, "held": held, "envelopes": envelopes,
		}})
	})
	return held, err
}

// RescuePartials implements opening.HallStore.
func (s *OpeningStore) RescuePartials(ctx context.Context, section, bidder kaiping.ID) (map[kaiping.ID][]rescue.Partial, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT envelope_id, share_index, point, proof FROM hall_rescue_partials
		WHERE section_id = $1 AND bidder_id = $2 AND round = `+currentRound+` ORDER BY envelope_id, share_index`, section, bidder)
	if err != nil {
		return nil, translate("pg.RescuePartials", err)
	}
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rescue.Partial])
	if err != nil {
		return nil, translate("pg.RescuePartials", err)
	}
	out := make(map[kaiping.ID][]rescue.Partial)
	for _, p := range ps {
		out[p.Envelope] = append(out[p.Envelope], p)
	}
	return out, nil
}

// DropRescuePartials implements opening.HallStore. DELETE leaves dead tuples until VACUUM,
// as UPDATE did: that is acceptable for partials, which open only their own envelope, and
// only what has just been opened is deleted here.
func (s *OpeningStore) DropRescuePartials(ctx context.Context, a kaiping.Actor, section, bidder kaiping.ID, envelopes []kaiping.ID) error {
	return s.inHall(ctx, "pg.DropRescuePartials", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		tag, err := tx.Exec(ctx, `DELETE FROM hall_rescue_partials WHERE section_id = $1 AND bidder_id = $2
			AND envelope_id = ANY($3)`, section, bidder, envelopes)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE hall_rescue_shares SET wiped_at = $3
			WHERE section_id = $1 AND bidder_id = $2 AND wiped_at IS NULL`, section, bidder, a.At); err != nil {
			return err
		}
		return s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.rescue_combine", Audience: opening.AudienceBidder, Bidder: bidder, Payload: map[string]any{
			"bid": bidder, "partials": tag.RowsAffected(), "envelopes": envelopes,
		}})
	})
}

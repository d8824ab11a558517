package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

// Qualify implements opening.HallStore.
func (s *OpeningStore) Qualify(ctx context.Context, a kaiping.Actor, section kaiping.ID, expectVersion int64, q opening.Qualification) (opening.HallStatus, error) {
	var out opening.HallStatus
	err := s.inHall(ctx, "pg.Qualify", section, func(tx pgx.Tx, h *opening.HallStatus) error {
		if err := opening.CheckTransition(h.State, q.To, opening.ByHost); err != nil {
			return err
		}
		if h.Round != 1 {
			return kaiping.E(kaiping.KindConflict, "hall.already_qualified", "技术评审结果已录入，第二轮开标已经进行")
		}
		if h.Version != expectVersion {
			return errRetry()
		}
		var plan string
		if err := tx.QueryRow(ctx, `SELECT envelope_plan FROM tenders WHERE id = $1`, h.Tender).Scan(&plan); err != nil {
			return err
		}
		if opening.EnvelopePlan(plan) != opening.TwoEnvelope {
			return kaiping.E(kaiping.KindConflict, "hall.not_two_envelope", "本项目不是双信封项目，没有第二轮开标")
		}
		var failed []map[string]any
		for _, r := range q.Results {
			if _, err := tx.Exec(ctx, `INSERT INTO hall_qualifications (section_id, bidder_id, passed, reason, recorded_at,
				recorded_by, first_record) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				section, r.Bidder, r.Passed, r.Reason, a.At, nullID(a.Principal), q.FirstRecord); err != nil {
				return err
			}
			if !r.Passed {
				failed = append(failed, map[string]any{"bidder": r.Bidder, "reason": r.Reason})
			}
		}
		passed := q.Passed()
		if passed == nil {
			passed = []kaiping.ID{}
		}
		// The summary (with the price) and commercial envelopes of those who did not pass
		// stay sealed for good.
		tag, err := tx.Exec(ctx, `UPDATE hall_envelopes SET state = 'retained' WHERE section_id = $1 AND kind IN ('summary', 'commercial')
			AND NOT (bidder_id::text = ANY ($2))`, section, idStrings(passed))
		if err != nil {
			return err
		}
		from := h.State
		h.Round, h.State, h.Reason, h.RecordDigest = 2, q.To, q.Reason, ""
		h.WindowOpensAt, h.WindowClosesAt, h.ConfirmEndsAt = nil, nil, nil
		payload := map[string]any{"from": from, "to": q.To, "by": opening.ByHost, "round": 2, "passed": passed,
			"failed": failed, "retained": tag.RowsAffected(), "first_record": q.FirstRecord}
		if q.Reason != "" {
			payload["reason"] = q.Reason
		}
		if err := s.hallChange(ctx, tx, a, h, opening.Change{Type: "hall.qualify", Audience: opening.AudienceAll, Payload: payload}); err != nil {
			return err
		}
		out = *h
		return nil
	})
	return out, err
}

func idStrings(ids []kaiping.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// Qualifications implements opening.HallStore.
func (s *OpeningStore) Qualifications(ctx context.Context, section kaiping.ID) ([]opening.QualificationResult, error) {
	return collect(ctx, s.db, "pg.Qualifications", func(row pgx.Row) (opening.QualificationResult, error) {
		var r opening.QualificationResult
		err := row.Scan(&r.Bidder, &r.BidderName, &r.Passed, &r.Reason)
		return r, err
	}, `SELECT q.bidder_id, p.name, q.passed, q.reason FROM hall_qualifications q JOIN principals p ON p.id = q.bidder_id
		WHERE q.section_id = $1 ORDER BY p.name, q.bidder_id`, section)
}

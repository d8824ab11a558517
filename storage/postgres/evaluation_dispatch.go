package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// bookAttempts bounds how often one seat search retries after losing a race for a seat to a
// concurrent transaction (the exclusion constraint refused our insert).
const bookAttempts = 8

// bookFree books, in a savepoint, the first available seat of venue (by code; only seat
// if given) that no active booking holds during [start, end). It returns the booking and
// seat, or ok=false when the venue has no such seat. Losing a race to a concurrent booking
// rolls back to the savepoint and looks again.
func bookFree(ctx context.Context, tx pgx.Tx, a kaiping.Actor, venue, seat kaiping.ID, start, end time.Time, purpose string, draw, expert kaiping.ID) (booking, seatID kaiping.ID, seatCode string, ok bool, err error) {
	for range bookAttempts {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return "", "", "", false, err
		}
		booking = kaiping.NewID()
		err = sp.QueryRow(ctx, `WITH free AS (
				SELECT s.id, s.code FROM seats s
				WHERE s.venue_id = $2 AND s.status = 'available' AND ($3::uuid IS NULL OR s.id = $3)
				  AND NOT EXISTS (SELECT 1 FROM seat_bookings b WHERE b.seat_id = s.id AND b.cancelled_at IS NULL
				                  AND b.during && tstzrange($4, $5, '[)'))
				ORDER BY s.code LIMIT 1)
			INSERT INTO seat_bookings (id, seat_id, during, purpose, draw_id, expert_id, created_by, created_at)
			SELECT $1, free.id, tstzrange($4, $5, '[)'), $6, $7, $8, $9, $10 FROM free
			RETURNING seat_id, (SELECT code FROM free)`,
			booking, venue, nullID(seat), start, end, purpose, draw, expert, nullID(a.Principal), a.At).Scan(&seatID, &seatCode)
		switch {
		case err == nil:
			return booking, seatID, seatCode, true, sp.Commit(ctx)
		case errors.Is(err, pgx.ErrNoRows):
			return "", "", "", false, sp.Rollback(ctx)
		case isExclusion(err):
			if rerr := sp.Rollback(ctx); rerr != nil {
				return "", "", "", false, rerr
			}
			continue
		default:
			return "", "", "", false, err
		}
	}
	return "", "", "", false, kaiping.E(kaiping.KindConflict, "retry", "工位预订并发冲突，请重试")
}

// dispatchTarget is the draw's facts dispatch needs, read under the draw's lock.
type dispatchTarget struct {
	code       string
	start, end time.Time
}

func lockDispatch(ctx context.Context, tx pgx.Tx, id kaiping.ID) (dispatchTarget, error) {
	if err := lockDraw(ctx, tx, id, evaluation.DrawDrawn); err != nil {
		return dispatchTarget{}, err
	}
	var t dispatchTarget
	err := tx.QueryRow(ctx, `SELECT tender_code, lower(session), upper(session) FROM draws WHERE id = $1`, id).Scan(&t.code, &t.start, &t.end)
	return t, err
}

// currentMember reports whether expert holds a seat on the committee and whether they have
// a seat assignment already.
func currentMember(ctx context.Context, tx pgx.Tx, id, expert kaiping.ID) (current, seated bool, err error) {
	var state string
	err = tx.QueryRow(ctx, `SELECT m.state, EXISTS (SELECT 1 FROM draw_assignments a WHERE a.draw_id = m.draw_id
			AND a.expert_id = m.expert_id AND a.released_at IS NULL)
		FROM draw_members m WHERE m.draw_id = $1 AND m.expert_id = $2`, id, expert).Scan(&state, &seated)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	s := evaluation.MemberState(state)
	return s == evaluation.MemberPending || s == evaluation.MemberAccepted, seated, err
}

// seatOne books plan's expert at the first venue of the plan with a free seat and records
// the assignment.
func seatOne(ctx context.Context, tx pgx.Tx, a kaiping.Actor, id kaiping.ID, t dispatchTarget, plan evaluation.SeatPlan, override string) (evaluation.SeatAssignment, bool, error) {
	purpose := "远程异地评标 " + t.code
	for _, v := range plan.Venues {
		booking, seat, code, ok, err := bookFree(ctx, tx, a, v.Venue, plan.Seat, t.start, t.end, purpose, id, plan.Expert)
		if err != nil {
			return evaluation.SeatAssignment{}, false, err
		}
		if !ok {
			continue
		}
		as := evaluation.SeatAssignment{Draw: id, Expert: plan.Expert, Venue: v.Venue, Seat: seat, SeatCode: code,
			Booking: booking, Host: v.Host, DistanceKm: v.DistanceKm, Override: override}
		if err := tx.QueryRow(ctx, `SELECT code, name, city FROM venues WHERE id = $1`, v.Venue).Scan(&as.VenueCode, &as.VenueName, &as.City); err != nil {
			return as, false, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO draw_assignments (draw_id, expert_id, venue_id, seat_id, booking_id, host,
			distance_km, override_reason, assigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			id, plan.Expert, v.Venue, seat, booking, v.Host, v.DistanceKm, override, a.At)
		return as, true, err
	}
	return evaluation.SeatAssignment{}, false, nil
}

// Dispatch implements evaluation.Store.
func (s *EvaluationStore) Dispatch(ctx context.Context, a kaiping.Actor, id kaiping.ID, plans []evaluation.SeatPlan) ([]evaluation.SeatAssignment, error) {
	var out []evaluation.SeatAssignment
	err := s.db.InTx(ctx, "pg.Dispatch", func(tx pgx.Tx) error {
		t, err := lockDispatch(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, plan := range plans {
			current, seated, err := currentMember(ctx, tx, id, plan.Expert)
			if err != nil {
				return err
			}
			if !current || seated {
				continue
			}
			as, ok, err := seatOne(ctx, tx, a, id, t, plan, "")
			if err != nil {
				return err
			}
			if !ok {
				var name string
				_ = tx.QueryRow(ctx, `SELECT name FROM experts WHERE id = $1`, plan.Expert).Scan(&name)
				return kaiping.Errorf(kaiping.KindConflict, "dispatch.no_seat",
					"没有可用工位：专家 %s 在评标时段内找不到任何场地的空闲工位，请增加工位或调整评标时间", name)
			}
			out = append(out, as)
		}
		if len(out) == 0 {
			return nil
		}
		_, err = s.ledger.Append(ctx, tx, a, evaluation.ActionDrawDispatch, string(id), evaluation.DispatchDetail{Assignments: out})
		return err
	})
	return out, err
}

// releaseSeat ends an expert's current assignment and cancels its booking, if any.
func releaseSeat(ctx context.Context, tx pgx.Tx, id, expert kaiping.ID, a kaiping.Actor, reason string) error {
	var booking kaiping.ID
	err := tx.QueryRow(ctx, `UPDATE draw_assignments SET released_at = $3 WHERE draw_id = $1 AND expert_id = $2
		AND released_at IS NULL RETURNING booking_id`, id, expert, a.At).Scan(&booking)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE seat_bookings SET cancelled_at = $2, cancel_reason = $3 WHERE id = $1`, booking, a.At, reason)
	return err
}

// Override implements evaluation.Store.
func (s *EvaluationStore) Override(ctx context.Context, a kaiping.Actor, id kaiping.ID, plan evaluation.SeatPlan, reason string) (evaluation.SeatAssignment, error) {
	var to evaluation.SeatAssignment
	err := s.db.InTx(ctx, "pg.Override", func(tx pgx.Tx) error {
		t, err := lockDispatch(ctx, tx, id)
		if err != nil {
			return err
		}
		current, _, err := currentMember(ctx, tx, id, plan.Expert)
		if err != nil {
			return err
		}
		if !current {
			return kaiping.E(kaiping.KindNotFound, "draw.not_member", "该专家不在本次抽取的当前名单中")
		}
		from, err := currentAssignment(ctx, tx, id, plan.Expert)
		if err != nil {
			return err
		}
		if err := releaseSeat(ctx, tx, id, plan.Expert, a, "调整工位："+reason); err != nil {
			return err
		}
		var ok bool
		if to, ok, err = seatOne(ctx, tx, a, id, t, plan, reason); err != nil {
			return err
		}
		if !ok && plan.Seat != "" {
			return kaiping.E(kaiping.KindConflict, "booking.overlap", "指定的工位在评标时段内已被预订或不可用")
		}
		if !ok {
			return kaiping.E(kaiping.KindConflict, "dispatch.no_seat", "指定场地在评标时段内没有空闲工位")
		}
		_, err = s.ledger.Append(ctx, tx, a, evaluation.ActionDrawOverride, string(id), evaluation.OverrideDetail{
			Expert: plan.Expert, From: from, To: to, Reason: reason})
		return err
	})
	return to, err
}

const assignmentQuery = `SELECT a.draw_id, a.expert_id, a.venue_id, v.code, v.name, v.city, a.seat_id, s.code,
		a.booking_id, a.host, a.distance_km, a.override_reason
	FROM draw_assignments a JOIN venues v ON v.id = a.venue_id JOIN seats s ON s.id = a.seat_id`

func scanAssignment(r pgx.Row) (evaluation.SeatAssignment, error) {
	var as evaluation.SeatAssignment
	return as, r.Scan(&as.Draw, &as.Expert, &as.Venue, &as.VenueCode, &as.VenueName, &as.City, &as.Seat, &as.SeatCode,
		&as.Booking, &as.Host, &as.DistanceKm, &as.Override)
}

func currentAssignment(ctx context.Context, tx pgx.Tx, id, expert kaiping.ID) (evaluation.SeatAssignment, error) {
	as, err := scanAssignment(tx.QueryRow(ctx, assignmentQuery+` WHERE a.draw_id = $1 AND a.expert_id = $2 AND a.released_at IS NULL`, id, expert))
	if errors.Is(err, pgx.ErrNoRows) {
		return evaluation.SeatAssignment{}, nil
	}
	if err != nil {
		return as, fmt.Errorf("current assignment: %w", err)
	}
	return as, nil
}

// Assignments implements evaluation.Store.
func (s *EvaluationStore) Assignments(ctx context.Context, id kaiping.ID) ([]evaluation.SeatAssignment, error) {
	rows, err := s.db.Pool.Query(ctx, assignmentQuery+` WHERE a.draw_id = $1 AND a.released_at IS NULL ORDER BY a.host DESC, v.code, s.code`, id)
	as, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.SeatAssignment, error) { return scanAssignment(r) })
	return as, translate("pg.Assignments", err)
}

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
)

func notFoundVenue() error {
	return kaiping.E(kaiping.KindNotFound, "venue.not_found", "场地不存在")
}
func notFoundSeat() error {
	return kaiping.E(kaiping.KindNotFound, "seat.not_found", "工位不存在")
}

// CreateVenue implements evaluation.Store.
func (s *EvaluationStore) CreateVenue(ctx context.Context, a kaiping.Actor, v evaluation.Venue) error {
	return s.db.InTx(ctx, "pg.CreateVenue", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO venues (id, code, name, city, address, lat, lon, can_host, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			v.ID, v.Code, v.Name, v.City, v.Address, v.Lat, v.Lon, v.CanHost, v.CreatedAt)
		if err != nil {
			return constraintError(err, map[string]error{
				"venues_code_key": kaiping.Errorf(kaiping.KindConflict, "venue.code_taken", "场地编码 %s 已存在", v.Code)})
		}
		_, err = s.ledger.Append(ctx, tx, a, "venue.create", string(v.ID), v)
		return err
	})
}

// UpdateVenue implements evaluation.Store.
func (s *EvaluationStore) UpdateVenue(ctx context.Context, a kaiping.Actor, v evaluation.Venue) error {
	return s.db.InTx(ctx, "pg.UpdateVenue", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE venues SET code = $2, name = $3, city = $4, address = $5, lat = $6, lon = $7,
			can_host = $8 WHERE id = $1`, v.ID, v.Code, v.Name, v.City, v.Address, v.Lat, v.Lon, v.CanHost)
		if err != nil {
			return constraintError(err, map[string]error{
				"venues_code_key": kaiping.Errorf(kaiping.KindConflict, "venue.code_taken", "场地编码 %s 已存在", v.Code)})
		}
		if tag.RowsAffected() == 0 {
			return notFoundVenue()
		}
		_, err = s.ledger.Append(ctx, tx, a, "venue.update", string(v.ID), v)
		return err
	})
}

const venueColumns = `id, code, name, city, address, lat, lon, can_host, created_at`

func scanVenue(r pgx.Row) (evaluation.Venue, error) {
	var v evaluation.Venue
	return v, r.Scan(&v.ID, &v.Code, &v.Name, &v.City, &v.Address, &v.Lat, &v.Lon, &v.CanHost, &v.CreatedAt)
}

// Venue implements evaluation.Store.
func (s *EvaluationStore) Venue(ctx context.Context, id kaiping.ID) (evaluation.Venue, error) {
	if !id.Valid() {
		return evaluation.Venue{}, notFoundVenue()
	}
	v, err := scanVenue(s.db.Pool.QueryRow(ctx, `SELECT `+venueColumns+` FROM venues WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, notFoundVenue()
	}
	return v, translate("pg.Venue", err)
}

// Venues implements evaluation.Store.
func (s *EvaluationStore) Venues(ctx context.Context) ([]evaluation.Venue, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+venueColumns+` FROM venues ORDER BY code`)
	vs, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Venue, error) { return scanVenue(r) })
	return vs, translate("pg.Venues", err)
}

// AddVenueStaff implements evaluation.Store.
func (s *EvaluationStore) AddVenueStaff(ctx context.Context, a kaiping.Actor, venue, principal kaiping.ID) error {
	return s.db.InTx(ctx, "pg.AddVenueStaff", func(tx pgx.Tx) error {
		var roles []string
		err := tx.QueryRow(ctx, `SELECT roles FROM principals WHERE id = $1`, principal).Scan(&roles)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindInvalid, "venue.staff", "该登录账号不存在")
		}
		if err != nil {
			return err
		}
		if !rolesInclude(roles, kaiping.RoleVenueStaff) {
			return kaiping.E(kaiping.KindInvalid, "venue.staff_role", "该账号不具有场地工作人员角色")
		}
		tag, err := tx.Exec(ctx, `INSERT INTO venue_staff (venue_id, principal_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, venue, principal, a.At)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "venue.staff", string(venue), map[string]any{"principal": principal})
		return err
	})
}

func rolesInclude(roles []string, r kaiping.Role) bool {
	for _, x := range roles {
		if kaiping.Role(x) == r {
			return true
		}
	}
	return false
}

// StaffVenues implements evaluation.Store.
func (s *EvaluationStore) StaffVenues(ctx context.Context, principal kaiping.ID) ([]kaiping.ID, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT vs.venue_id FROM venue_staff vs JOIN venues v ON v.id = vs.venue_id
		WHERE vs.principal_id = $1 ORDER BY v.code`, principal)
	ids, err := collectRows(rows, err, func(r pgx.Rows) (kaiping.ID, error) {
		var id kaiping.ID
		return id, r.Scan(&id)
	})
	return ids, translate("pg.StaffVenues", err)
}

func seatConflicts(st evaluation.Seat) map[string]error {
	return map[string]error{
		"seats_venue_code_key": kaiping.Errorf(kaiping.KindConflict, "seat.code_taken", "该场地已有工位 %s", st.Code),
	}
}

// CreateSeat implements evaluation.Store.
func (s *EvaluationStore) CreateSeat(ctx context.Context, a kaiping.Actor, st evaluation.Seat) error {
	return s.db.InTx(ctx, "pg.CreateSeat", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO seats (id, venue_id, code, equipment, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			st.ID, st.Venue, st.Code, st.Equipment, st.Status, st.CreatedAt)
		if err != nil {
			return constraintError(err, seatConflicts(st))
		}
		_, err = s.ledger.Append(ctx, tx, a, "seat.create", string(st.ID), st)
		return err
	})
}

// UpdateSeat implements evaluation.Store.
func (s *EvaluationStore) UpdateSeat(ctx context.Context, a kaiping.Actor, st evaluation.Seat) error {
	return s.db.InTx(ctx, "pg.UpdateSeat", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE seats SET equipment = $2, status = $3 WHERE id = $1`, st.ID, st.Equipment, st.Status)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFoundSeat()
		}
		_, err = s.ledger.Append(ctx, tx, a, "seat.update", string(st.ID), st)
		return err
	})
}

const seatColumns = `id, venue_id, code, equipment, status, created_at`

func scanSeat(r pgx.Row) (evaluation.Seat, error) {
	var st evaluation.Seat
	return st, r.Scan(&st.ID, &st.Venue, &st.Code, &st.Equipment, &st.Status, &st.CreatedAt)
}

// Seat implements evaluation.Store.
func (s *EvaluationStore) Seat(ctx context.Context, id kaiping.ID) (evaluation.Seat, error) {
	if !id.Valid() {
		return evaluation.Seat{}, notFoundSeat()
	}
	st, err := scanSeat(s.db.Pool.QueryRow(ctx, `SELECT `+seatColumns+` FROM seats WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return st, notFoundSeat()
	}
	return st, translate("pg.Seat", err)
}

// Seats implements evaluation.Store.
func (s *EvaluationStore) Seats(ctx context.Context, venue kaiping.ID) ([]evaluation.Seat, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+seatColumns+` FROM seats WHERE venue_id = $1 ORDER BY code`, venue)
	sts, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Seat, error) { return scanSeat(r) })
	return sts, translate("pg.Seats", err)
}

// overlap is the refusal of a booking whose range another active booking of the seat holds.
func overlapError(start, end time.Time) error {
	return kaiping.Errorf(kaiping.KindConflict, "booking.overlap", "该工位在 %s 至 %s 期间已有预订，同一工位的预订时段不能重叠",
		start.In(kaiping.BeijingTime).Format("2006-01-02 15:04"), end.In(kaiping.BeijingTime).Format("2006-01-02 15:04"))
}

func isExclusion(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23P01"
}

// Book implements evaluation.Store.
func (s *EvaluationStore) Book(ctx context.Context, a kaiping.Actor, b evaluation.Booking) error {
	return s.db.InTx(ctx, "pg.Book", func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM seats WHERE id = $1 FOR SHARE`, b.Seat).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFoundSeat()
		}
		if err != nil {
			return err
		}
		if evaluation.SeatStatus(status) != evaluation.SeatAvailable {
			return kaiping.Errorf(kaiping.KindConflict, "booking.seat_unavailable", "该工位当前状态为 %s，不能预订", status)
		}
		_, err = tx.Exec(ctx, `INSERT INTO seat_bookings (id, seat_id, during, purpose, created_by, created_at)
			VALUES ($1, $2, tstzrange($3, $4, '[)'), $5, $6, $7)`,
			b.ID, b.Seat, b.Start, b.End, b.Purpose, nullID(b.CreatedBy), b.CreatedAt)
		if isExclusion(err) {
			return overlapError(b.Start, b.End)
		}
		if err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "booking.create", string(b.ID), map[string]any{
			"seat": b.Seat, "start": b.Start, "end": b.End, "purpose": b.Purpose})
		return err
	})
}

// CancelBooking implements evaluation.Store.
func (s *EvaluationStore) CancelBooking(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) error {
	return s.db.InTx(ctx, "pg.CancelBooking", func(tx pgx.Tx) error {
		var draw *string
		err := tx.QueryRow(ctx, `UPDATE seat_bookings SET cancelled_at = $2, cancel_reason = $3
			WHERE id = $1 AND cancelled_at IS NULL RETURNING draw_id`, id, a.At, reason).Scan(&draw)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindNotFound, "booking.not_found", "预订不存在或已取消")
		}
		if err != nil {
			return err
		}
		if draw != nil {
			// A dispatched seat moves only through an override, which keeps the expert seated.
			return kaiping.E(kaiping.KindConflict, "booking.dispatched", "该工位已调度给抽取的专家，请通过调整工位（说明原因）变更")
		}
		_, err = s.ledger.Append(ctx, tx, a, "booking.cancel", string(id), map[string]any{"reason": reason})
		return err
	})
}

// Bookings implements evaluation.Store.
func (s *EvaluationStore) Bookings(ctx context.Context, venue kaiping.ID, from, to time.Time) ([]evaluation.DayBooking, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT b.id, b.seat_id, lower(b.during), upper(b.during), b.purpose, b.draw_id,
			b.expert_id, b.created_by, b.created_at, s.venue_id, v.code, s.code, coalesce(e.name, ''), coalesce(e.code, '')
		FROM seat_bookings b JOIN seats s ON s.id = b.seat_id JOIN venues v ON v.id = s.venue_id
		LEFT JOIN experts e ON e.id = b.expert_id
		WHERE s.venue_id = $1 AND b.cancelled_at IS NULL AND b.during && tstzrange($2, $3, '[)')
		ORDER BY s.code, lower(b.during)`, venue, from, to)
	bs, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.DayBooking, error) {
		var b evaluation.DayBooking
		var draw, expert, by *string
		err := r.Scan(&b.ID, &b.Seat, &b.Start, &b.End, &b.Purpose, &draw, &expert, &by, &b.CreatedAt,
			&b.Venue, &b.VenueCode, &b.SeatCode, &b.ExpertName, &b.ExpertCode)
		b.Draw, b.Expert, b.CreatedBy = optionalID(draw), optionalID(expert), optionalID(by)
		return b, err
	})
	return bs, translate("pg.Bookings", err)
}

// ReservedFor implements evaluation.VenueStore.
func (s *EvaluationStore) ReservedFor(ctx context.Context, seat kaiping.ID, period draw.Period) (bool, error) {
	var ok bool
	err := s.db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM seat_bookings WHERE seat_id = $1 AND cancelled_at IS NULL
		AND expert_id IS NULL AND during @> tstzrange($2, $3, '[)'))`, seat, period.Start, period.End).Scan(&ok)
	return ok, translate("pg.ReservedFor", err)
}

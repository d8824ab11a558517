package evaluation

import (
	"context"
	"slices"
	"strings"

	"github.com/kaiping/kaiping"
)

// CreateVenue validates v and adds it to the directory.
func (s *Service) CreateVenue(ctx context.Context, a kaiping.Actor, v Venue) (Venue, error) {
	if err := v.Validate(); err != nil {
		return Venue{}, err
	}
	v.ID, v.CreatedAt = kaiping.NewID(), a.At
	return v, s.store.CreateVenue(ctx, a, v)
}

// UpdateVenue replaces a venue's record.
func (s *Service) UpdateVenue(ctx context.Context, a kaiping.Actor, id kaiping.ID, v Venue) (Venue, error) {
	old, err := s.store.Venue(ctx, id)
	if err != nil {
		return Venue{}, err
	}
	if err := v.Validate(); err != nil {
		return Venue{}, err
	}
	v.ID, v.CreatedAt = id, old.CreatedAt
	return v, s.store.UpdateVenue(ctx, a, v)
}

// CreateSeat adds a seat to a venue.
func (s *Service) CreateSeat(ctx context.Context, a kaiping.Actor, venue kaiping.ID, st Seat) (Seat, error) {
	if _, err := s.store.Venue(ctx, venue); err != nil {
		return Seat{}, err
	}
	if err := st.Validate(); err != nil {
		return Seat{}, err
	}
	st.ID, st.Venue, st.CreatedAt = kaiping.NewID(), venue, a.At
	return st, s.store.CreateSeat(ctx, a, st)
}

// UpdateSeat changes a seat's equipment and status (its code and venue stay).
func (s *Service) UpdateSeat(ctx context.Context, a kaiping.Actor, id kaiping.ID, st Seat) (Seat, error) {
	old, err := s.store.Seat(ctx, id)
	if err != nil {
		return Seat{}, err
	}
	st.Code = old.Code
	if err := st.Validate(); err != nil {
		return Seat{}, err
	}
	st.ID, st.Venue, st.CreatedAt = id, old.Venue, old.CreatedAt
	return st, s.store.UpdateSeat(ctx, a, st)
}

// AddStaff lets a venue-staff principal see the venue's bookings.
func (s *Service) AddStaff(ctx context.Context, a kaiping.Actor, venue, principal kaiping.ID) error {
	if !principal.Valid() {
		return invalid("venue.staff", "须指定场地工作人员的账号")
	}
	if _, err := s.store.Venue(ctx, venue); err != nil {
		return err
	}
	return s.store.AddVenueStaff(ctx, a, venue, principal)
}

// Book reserves a seat for b's range.
func (s *Service) Book(ctx context.Context, a kaiping.Actor, seat kaiping.ID, b Booking) (Booking, error) {
	if err := b.Validate(a.At); err != nil {
		return Booking{}, err
	}
	b.ID, b.Seat, b.Draw, b.Expert, b.CreatedBy, b.CreatedAt = kaiping.NewID(), seat, "", "", a.Principal, a.At
	return b, s.store.Book(ctx, a, b)
}

// CancelBooking frees a booking, with the reason.
func (s *Service) CancelBooking(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) error {
	if reason = strings.TrimSpace(reason); reason == "" || runes(reason) > maxReasonRunes {
		return invalid("booking.reason", "取消预订须写明原因（不超过 %d 字）", maxReasonRunes)
	}
	return s.store.CancelBooking(ctx, a, id, reason)
}

// DayBookings lists a venue's bookings of one day (Beijing time; "" for today). Venue staff
// see only the venues they staff; host staff and administrators see any.
func (s *Service) DayBookings(ctx context.Context, p kaiping.Principal, venue kaiping.ID, day string) ([]DayBooking, error) {
	from, to, err := DayRange(day, s.clock.Now())
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Venue(ctx, venue); err != nil {
		return nil, err
	}
	if !p.Has(kaiping.RoleHost) && !p.Has(kaiping.RoleAdmin) {
		mine, err := s.store.StaffVenues(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(mine, venue) {
			return nil, kaiping.E(kaiping.KindForbidden, "venue.not_staff", "您不是该场地的工作人员")
		}
	}
	return s.store.Bookings(ctx, venue, from, to)
}

// MyDayBookings lists the bookings of one day at every venue the principal staffs.
func (s *Service) MyDayBookings(ctx context.Context, p kaiping.Principal, day string) ([]DayBooking, error) {
	from, to, err := DayRange(day, s.clock.Now())
	if err != nil {
		return nil, err
	}
	mine, err := s.store.StaffVenues(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	out := []DayBooking{}
	for _, v := range mine {
		bs, err := s.store.Bookings(ctx, v, from, to)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

// Dispatch seats every current member of a drawn committee who has no seat yet at the
// nearest venue (haversine from the expert's home) with a seat free for the whole session,
// all or nothing, and tells each expert where to go. It can run again after replacements.
func (s *Service) Dispatch(ctx context.Context, a kaiping.Actor, id kaiping.ID) ([]SeatAssignment, error) {
	d, err := s.drawn(ctx, id)
	if err != nil {
		return nil, err
	}
	members, err := s.store.Members(ctx, id)
	if err != nil {
		return nil, err
	}
	assigned, err := s.store.Assignments(ctx, id)
	if err != nil {
		return nil, err
	}
	seated := map[kaiping.ID]bool{}
	for _, as := range assigned {
		seated[as.Expert] = true
	}
	venues, err := s.store.Venues(ctx)
	if err != nil {
		return nil, err
	}
	var plans []SeatPlan
	for _, m := range members {
		if !m.State.current() || seated[m.Expert] {
			continue
		}
		e, err := s.store.Expert(ctx, m.Expert)
		if err != nil {
			return nil, err
		}
		plans = append(plans, SeatPlan{Expert: e.ID, Venues: rankVenues(e.Lat, e.Lon, venues, string(d.HostVenue))})
	}
	if len(plans) == 0 {
		return assigned, nil
	}
	got, err := s.store.Dispatch(ctx, a, id, plans)
	if err != nil {
		return nil, err
	}
	for _, as := range got {
		s.notifyAssigned(ctx, d, as)
	}
	return s.store.Assignments(ctx, id)
}

// Override moves an expert to another venue (and seat, if given), with the reason.
func (s *Service) Override(ctx context.Context, a kaiping.Actor, id, expert, venue, seat kaiping.ID, reason string) (SeatAssignment, error) {
	if reason = strings.TrimSpace(reason); reason == "" || runes(reason) > maxReasonRunes {
		return SeatAssignment{}, invalid("dispatch.reason", "调整工位须写明原因（不超过 %d 字）", maxReasonRunes)
	}
	d, err := s.drawn(ctx, id)
	if err != nil {
		return SeatAssignment{}, err
	}
	v, err := s.store.Venue(ctx, venue)
	if err != nil {
		return SeatAssignment{}, err
	}
	e, err := s.store.Expert(ctx, expert)
	if err != nil {
		return SeatAssignment{}, err
	}
	plan := SeatPlan{Expert: expert, Seat: seat, Venues: rankVenues(e.Lat, e.Lon, []Venue{v}, string(d.HostVenue))}
	as, err := s.store.Override(ctx, a, id, plan, reason)
	if err != nil {
		return SeatAssignment{}, err
	}
	s.notifyAssigned(ctx, d, as)
	return as, nil
}

func (s *Service) drawn(ctx context.Context, id kaiping.ID) (Draw, error) {
	d, err := s.store.Draw(ctx, id)
	if err != nil {
		return Draw{}, err
	}
	if d.Status != DrawDrawn {
		return Draw{}, kaiping.Errorf(kaiping.KindConflict, "draw.state", "该抽取当前状态为 %s，尚未产生专家名单", d.Status)
	}
	return d, nil
}

func (s *Service) notifyAssigned(ctx context.Context, d Draw, as SeatAssignment) {
	e, ok := s.addressee(ctx, d, as.Expert)
	if !ok {
		return
	}
	v, err := s.store.Venue(ctx, as.Venue)
	if err != nil {
		s.log.Error("notify: read venue", "draw_id", d.ID, "venue_id", as.Venue, "err", err)
		return
	}
	sess := d.Request.Session
	s.notify(ctx, Notice{Kind: NoticeAssigned, Draw: d.ID, Expert: e.ID, ExpertName: e.Name, Phone: e.Phone, Email: e.Email, Principal: e.Principal,
		Start: sess.Start, End: sess.End, Venue: v.Name, Address: v.Address, Seat: as.SeatCode,
		Text: assignedText(e.Name, v.Name, v.Address, as.SeatCode, sess.Start)})
}

// ExpertDraws lists the draws the expert logged in as principal was drawn in, with seats.
func (s *Service) ExpertDraws(ctx context.Context, principal kaiping.ID) ([]ExpertDraw, error) {
	me, err := s.Me(ctx, principal)
	if err != nil {
		return nil, err
	}
	return s.store.ExpertDraws(ctx, me.ID)
}

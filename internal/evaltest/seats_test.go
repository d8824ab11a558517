package evaltest_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

func TestDispatchNearestFreeSeat(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	d := s.mustDraw(t)
	got, err := s.Service.Dispatch(ctx, s.Actor(s.Host), d.ID)
	must(t, err)
	ms, err := s.Store.Members(ctx, d.ID)
	must(t, err)
	if len(got) != len(ms) {
		t.Fatalf("%d assignments for %d members", len(got), len(ms))
	}
	// The oracle: members in draw order each take the nearest venue with a seat left.
	venues := []evaluation.Venue{s.kf, s.zz, s.pds}
	left := map[kaiping.ID]int{s.kf.ID: 4, s.zz.ID: 4, s.pds.ID: 4}
	want := map[kaiping.ID]kaiping.ID{}
	for _, m := range ms {
		x := s.experts[m.ExpertCode]
		byDistance := slices.Clone(venues)
		slices.SortFunc(byDistance, func(a, b evaluation.Venue) int {
			return cmp.Compare(evaluation.DistanceKm(x.Lat, x.Lon, a.Lat, a.Lon), evaluation.DistanceKm(x.Lat, x.Lon, b.Lat, b.Lon))
		})
		for _, v := range byDistance {
			if left[v.ID] > 0 {
				left[v.ID]--
				want[m.Expert] = v.ID
				break
			}
		}
	}
	seats := map[kaiping.ID]bool{}
	for _, as := range got {
		if as.Venue != want[as.Expert] {
			t.Errorf("expert %s seated at %s, want %s", as.Expert, as.VenueCode, want[as.Expert])
		}
		if as.Host != (as.Venue == s.kf.ID) {
			t.Errorf("assignment %+v: host flag wrong", as)
		}
		if seats[as.Seat] {
			t.Errorf("seat %s given twice", as.SeatCode)
		}
		seats[as.Seat] = true
	}
	n := ledgerSize(t, s.Env)
	again, err := s.Service.Dispatch(ctx, s.Actor(s.Host), d.ID)
	if err != nil || len(again) != len(got) || ledgerSize(t, s.Env) != n {
		t.Fatalf("second dispatch: %d assignments, %v, ledger %d → %d", len(again), err, n, ledgerSize(t, s.Env))
	}
	assigned := 0
	for _, n := range s.Notices.All() {
		if n.Kind == evaluation.NoticeAssigned {
			assigned++
			if n.Seat == "" || n.Address == "" {
				t.Errorf("assignment notice %+v", n)
			}
		}
	}
	if assigned != len(got) {
		t.Errorf("%d assignment notices for %d seats", assigned, len(got))
	}

	// Venue staff see their day; staff of another venue do not.
	staff := s.Principal(t, "开封场地管理员", "开封市公共资源交易中心", kaiping.RoleVenueStaff)
	must(t, s.Service.AddStaff(ctx, s.Actor(s.Admin), s.kf.ID, staff.ID))
	other := s.Principal(t, "郑州场地管理员", "郑州市公共资源交易中心", kaiping.RoleVenueStaff)
	must(t, s.Service.AddStaff(ctx, s.Actor(s.Admin), s.zz.ID, other.ID))
	err = s.Service.AddStaff(ctx, s.Actor(s.Admin), s.kf.ID, s.Host.ID)
	wantCode(t, err, kaiping.KindInvalid, "venue.staff_role")
	day, err := s.Service.DayBookings(ctx, staff, s.kf.ID, "2026-06-02")
	must(t, err)
	for _, b := range day {
		if b.VenueCode != "410200-001" || b.ExpertName == "" || b.Draw != d.ID {
			t.Errorf("day booking %+v", b)
		}
	}
	if hostSeats := countHost(got); len(day) != hostSeats {
		t.Errorf("staff see %d bookings, %d experts are seated at the host site", len(day), hostSeats)
	}
	_, err = s.Service.DayBookings(ctx, other, s.kf.ID, "2026-06-02")
	wantCode(t, err, kaiping.KindForbidden, "venue.not_staff")
	_, err = s.Service.DayBookings(ctx, staff, s.kf.ID, "06/02")
	wantCode(t, err, kaiping.KindInvalid, "booking.date")
	mine, err := s.Service.MyDayBookings(ctx, staff, "")
	if err != nil || len(mine) != 0 {
		t.Errorf("today (the draw's eve) staff see %d bookings, %v", len(mine), err)
	}

	// Override with a reason, ledgered; the old booking is freed.
	moved := got[0]
	_, err = s.Service.Override(ctx, s.Actor(s.Host), d.ID, moved.Expert, s.pds.ID, "", "  ")
	wantCode(t, err, kaiping.KindInvalid, "dispatch.reason")
	to, err := s.Service.Override(ctx, s.Actor(s.Host), d.ID, moved.Expert, s.pds.ID, "", "专家所在单位临时迁址，就近安排")
	if err != nil || to.Venue != s.pds.ID || to.Override == "" {
		t.Fatalf("override: %+v %v", to, err)
	}
	var cancelled int
	must(t, s.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM seat_bookings WHERE id = $1 AND cancelled_at IS NOT NULL`, moved.Booking).Scan(&cancelled))
	if cancelled != 1 {
		t.Error("the overridden booking is still active")
	}
	// Onto a seat already taken: refused, nothing changes.
	taken := seatTaken(got, to)
	if taken != nil {
		_, err = s.Service.Override(ctx, s.Actor(s.Host), d.ID, moved.Expert, taken.Venue, taken.Seat, "换到已占用工位")
		wantCode(t, err, kaiping.KindConflict, "booking.overlap")
	}
	var entries []string
	rec, err := s.Store.DrawRecord(ctx, d.ID)
	must(t, err)
	for _, e := range rec.Entries {
		entries = append(entries, e.Action)
	}
	if !slices.Contains(entries, "draw.dispatch") || !slices.Contains(entries, "draw.override") {
		t.Errorf("ledger %v lacks dispatch or override", entries)
	}

	// A no-show loses the seat; dispatching again seats the replacement.
	dec, err := s.Service.Release(ctx, s.Actor(s.Host), d.ID, moved.Expert, evaluation.MemberNoShow, "未到场")
	must(t, err)
	must(t, s.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM seat_bookings WHERE id = $1 AND cancelled_at IS NOT NULL`, to.Booking).Scan(&cancelled))
	if cancelled != 1 {
		t.Error("the no-show's booking is still active")
	}
	after, err := s.Service.Dispatch(ctx, s.Actor(s.Host), d.ID)
	must(t, err)
	if dec.Replacement == nil || !slices.ContainsFunc(after, func(a evaluation.SeatAssignment) bool { return a.Expert == dec.Replacement.Expert }) {
		t.Fatalf("replacement %+v not seated: %+v", dec.Replacement, after)
	}
	mustVerify(t, s.Env, d.ID)
}

func countHost(as []evaluation.SeatAssignment) int {
	n := 0
	for _, a := range as {
		if a.Host {
			n++
		}
	}
	return n
}

// seatTaken returns an assignment other than to, if any.
func seatTaken(as []evaluation.SeatAssignment, to evaluation.SeatAssignment) *evaluation.SeatAssignment {
	for i := range as {
		if as[i].Expert != to.Expert {
			return &as[i]
		}
	}
	return nil
}

func TestDispatchNoSeatIsAllOrNothing(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	d := s.mustDraw(t)
	// Every seat but one is booked for the session by someone else.
	var seats []evaluation.Seat
	for _, v := range []evaluation.Venue{s.kf, s.zz, s.pds} {
		vs, err := s.Store.Seats(ctx, v.ID)
		must(t, err)
		seats = append(seats, vs...)
	}
	for _, st := range seats[1:] {
		_, err := s.Service.Book(ctx, s.Actor(s.Host), st.ID, evaluation.Booking{
			Start: s.session.Start.Add(-time.Hour), End: s.session.End, Purpose: "其他项目评标"})
		must(t, err)
	}
	before := ledgerSize(t, s.Env)
	_, err := s.Service.Dispatch(ctx, s.Actor(s.Host), d.ID)
	wantCode(t, err, kaiping.KindConflict, "dispatch.no_seat")
	if as, _ := s.Store.Assignments(ctx, d.ID); len(as) != 0 || ledgerSize(t, s.Env) != before {
		t.Fatalf("a refused dispatch left %d assignments and grew the ledger", len(as))
	}
	var active int
	must(t, s.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM seat_bookings WHERE draw_id IS NOT NULL`).Scan(&active))
	if active != 0 {
		t.Fatalf("a refused dispatch left %d bookings", active)
	}
}

func TestBookings(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	seats, err := s.Store.Seats(ctx, s.kf.ID)
	must(t, err)
	seat := seats[0].ID
	at := func(h int) time.Time { return s.session.Start.Add(time.Duration(h) * time.Hour) }
	book := func(from, to int) (evaluation.Booking, error) {
		return s.Service.Book(ctx, s.Actor(s.Host), seat, evaluation.Booking{Start: at(from), End: at(to), Purpose: "评标"})
	}
	first, err := book(0, 3)
	must(t, err)
	if _, err := book(3, 6); err != nil {
		t.Fatalf("a booking touching the end of another: %v", err)
	}
	before := ledgerSize(t, s.Env)
	for _, r := range [][2]int{{2, 4}, {0, 3}, {-1, 1}, {1, 2}, {-2, 8}} {
		_, err := book(r[0], r[1])
		wantCode(t, err, kaiping.KindConflict, "booking.overlap")
	}
	if ledgerSize(t, s.Env) != before {
		t.Fatal("refused bookings grew the ledger")
	}
	err = s.Service.CancelBooking(ctx, s.Actor(s.Host), first.ID, "")
	wantCode(t, err, kaiping.KindInvalid, "booking.reason")
	must(t, s.Service.CancelBooking(ctx, s.Actor(s.Host), first.ID, "项目延期"))
	err = s.Service.CancelBooking(ctx, s.Actor(s.Host), first.ID, "再取消")
	wantCode(t, err, kaiping.KindNotFound, "booking.not_found")
	if _, err := book(1, 2); err != nil {
		t.Fatalf("booking a cancelled range: %v", err)
	}

	_, err = s.Service.UpdateSeat(ctx, s.Actor(s.Admin), seats[1].ID, evaluation.Seat{Status: evaluation.SeatMaintenance})
	must(t, err)
	_, err = s.Service.Book(ctx, s.Actor(s.Host), seats[1].ID, evaluation.Booking{Start: at(0), End: at(1), Purpose: "评标"})
	wantCode(t, err, kaiping.KindConflict, "booking.seat_unavailable")
	_, err = s.Service.Book(ctx, s.Actor(s.Host), kaiping.NewID(), evaluation.Booking{Start: at(0), End: at(1), Purpose: "评标"})
	wantCode(t, err, kaiping.KindNotFound, "seat.not_found")
	for name, b := range map[string]evaluation.Booking{
		"booking.period":   {Start: at(2), End: at(1), Purpose: "评标"},
		"booking.past":     {Start: s.Clock.Now().Add(-2 * time.Hour), End: s.Clock.Now().Add(-time.Hour), Purpose: "评标"},
		"booking.too_long": {Start: at(0), End: at(24 * 8), Purpose: "评标"},
		"booking.purpose":  {Start: at(0), End: at(1)},
	} {
		_, err := s.Service.Book(ctx, s.Actor(s.Host), seat, b)
		wantCode(t, err, kaiping.KindInvalid, name)
	}
}

func TestVenueAndSeatValidation(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	ok := evaluation.Venue{Code: "410200-002", Name: "开封市第二评标室", City: kaifeng, Address: "开封市金明大道", Lat: 34.79, Lon: 114.30}
	tests := []struct {
		name string
		edit func(*evaluation.Venue)
		kind kaiping.Kind
		code string
	}{
		{"code without sequence", func(v *evaluation.Venue) { v.Code = "410200" }, kaiping.KindInvalid, "venue.code"},
		{"sequence zero", func(v *evaluation.Venue) { v.Code = "410200-000" }, kaiping.KindInvalid, "venue.code"},
		{"code of another city", func(v *evaluation.Venue) { v.Code = "410100-002" }, kaiping.KindInvalid, "venue.code_city"},
		{"unknown city", func(v *evaluation.Venue) { v.Code, v.City = "999900-001", "999900" }, kaiping.KindInvalid, "venue.code"},
		{"uncatalogued city", func(v *evaluation.Venue) { v.Code, v.City = "110100-001", "110100" }, kaiping.KindInvalid, "venue.city"},
		{"no coordinates", func(v *evaluation.Venue) { v.Lat, v.Lon = 0, 0 }, kaiping.KindInvalid, "venue.coordinates"},
		{"no address", func(v *evaluation.Venue) { v.Address = " " }, kaiping.KindInvalid, "venue.address"},
		{"code taken", func(v *evaluation.Venue) { v.Code = "410200-001" }, kaiping.KindConflict, "venue.code_taken"},
	}
	for _, tt := range tests {
		v := ok
		tt.edit(&v)
		_, err := s.Service.CreateVenue(ctx, s.Actor(s.Admin), v)
		if kaiping.CodeOf(err) != tt.code || kaiping.KindOf(err) != tt.kind {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	v, err := s.Service.CreateVenue(ctx, s.Actor(s.Admin), ok)
	must(t, err)
	for code, st := range map[string]evaluation.Seat{
		"seat.code":      {Code: "1A"},
		"seat.equipment": {Code: "B01", Equipment: []string{"jukebox"}},
		"seat.status":    {Code: "B02", Status: "broken"},
	} {
		_, err := s.Service.CreateSeat(ctx, s.Actor(s.Admin), v.ID, st)
		wantCode(t, err, kaiping.KindInvalid, code)
	}
	_, err = s.Service.CreateSeat(ctx, s.Actor(s.Admin), v.ID, evaluation.Seat{Code: "b01"})
	must(t, err)
	_, err = s.Service.CreateSeat(ctx, s.Actor(s.Admin), v.ID, evaluation.Seat{Code: "B01"})
	wantCode(t, err, kaiping.KindConflict, "seat.code_taken")
	_, err = s.Service.CreateSeat(ctx, s.Actor(s.Admin), kaiping.NewID(), evaluation.Seat{Code: "B01"})
	wantCode(t, err, kaiping.KindNotFound, "venue.not_found")
}

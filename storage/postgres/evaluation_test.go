package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/ledger"
)

// mustEvaluationStore gives the test its own migrated database with a pool of conns
// connections and the evaluation store on it.
func mustEvaluationStore(tb testing.TB, conns int32) (*DB, *EvaluationStore) {
	tb.Helper()
	url := devenv.Database(tb)
	if _, err := Migrate(context.Background(), url); err != nil {
		tb.Fatal(err)
	}
	db, err := Open(context.Background(), url, conns)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	pem, err := ledger.GenerateKeyPEM(ledger.AlgEd25519)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ledger.ParseSigner(pem)
	if err != nil {
		tb.Fatal(err)
	}
	return db, NewEvaluationStore(db, ledger.New(signer, "ggzy.example.gov.cn/kaiping/ledger"))
}

var bookingBase = time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)

// mustSeats adds a venue with n available seats.
func mustSeats(tb testing.TB, s *EvaluationStore, n int) []kaiping.ID {
	tb.Helper()
	ctx := context.Background()
	a := kaiping.SystemActor(bookingBase.Add(-24 * time.Hour))
	v := evaluation.Venue{ID: kaiping.NewID(), Code: "410200-001", Name: "开封市公共资源交易中心", City: "410200",
		Address: "开封市龙亭区", Lat: 34.79, Lon: 114.30, CanHost: true, CreatedAt: a.At}
	if err := s.CreateVenue(ctx, a, v); err != nil {
		tb.Fatal(err)
	}
	seats := make([]kaiping.ID, n)
	for i := range seats {
		seats[i] = kaiping.NewID()
		err := s.CreateSeat(ctx, a, evaluation.Seat{ID: seats[i], Venue: v.ID, Code: fmt.Sprintf("A%02d", i+1),
			Equipment: []string{"camera"}, Status: evaluation.SeatAvailable, CreatedAt: a.At})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return seats
}

// randomBooking is a booking of a random seat for 1 to 3 hours starting at a random hour of
// the first horizon hours: plenty of overlaps when horizon is small.
func randomBooking(r *rand.Rand, seats []kaiping.ID, horizon int) evaluation.Booking {
	start := bookingBase.Add(time.Duration(r.IntN(horizon)) * time.Hour)
	return evaluation.Booking{ID: kaiping.NewID(), Seat: seats[r.IntN(len(seats))], Start: start,
		End: start.Add(time.Duration(1+r.IntN(3)) * time.Hour), Purpose: "并发预订测试", CreatedAt: bookingBase.Add(-time.Hour)}
}

// TestConcurrentBookingsNeverOverlap races 1,000 bookings of overlapping ranges on 50 seats:
// every booking either commits or is refused with booking.overlap, and no two committed
// bookings of a seat overlap.
func TestConcurrentBookingsNeverOverlap(t *testing.T) {
	db, s := mustEvaluationStore(t, 40)
	seats := mustSeats(t, s, 50)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	bookings := make([]evaluation.Booking, 1000)
	for i := range bookings {
		bookings[i] = randomBooking(r, seats, 24)
	}
	ok, refused, errs := raceBookings(s, bookings)
	for _, err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	overlaps := countOverlaps(t, db)
	var stored, entries int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM seat_bookings`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'booking.create'`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d booked, %d refused as overlapping", ok, refused)
	switch {
	case overlaps != 0:
		t.Fatalf("%d pairs of overlapping bookings: double booking", overlaps)
	case ok+refused != int64(len(bookings)):
		t.Fatalf("%d booked + %d refused ≠ %d", ok, refused, len(bookings))
	case int64(stored) != ok || int64(entries) != ok:
		t.Fatalf("%d stored and %d ledgered for %d accepted", stored, entries, ok)
	case ok < 50 || refused == 0:
		t.Fatalf("%d booked, %d refused: the ranges did not contend", ok, refused)
	}
}

// raceBookings books all of bookings at once, one goroutine each, and counts the accepted
// and the refused as overlapping; anything else is returned.
func raceBookings(s *EvaluationStore, bookings []evaluation.Booking) (ok, refused int64, errs []error) {
	var okN, refusedN atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, len(bookings))
	start := make(chan struct{})
	for _, b := range bookings {
		wg.Go(func() {
			<-start
			err := s.Book(context.Background(), kaiping.SystemActor(b.CreatedAt), b)
			switch {
			case err == nil:
				okN.Add(1)
			case kaiping.CodeOf(err) == "booking.overlap" && kaiping.KindOf(err) == kaiping.KindConflict:
				refusedN.Add(1)
			default:
				errc <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		errs = append(errs, err)
	}
	return okN.Load(), refusedN.Load(), errs
}

// countOverlaps counts the pairs of live bookings of one seat whose times overlap: a double
// booking, which the exclusion constraint must make impossible.
func countOverlaps(tb testing.TB, db *DB) int {
	tb.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM seat_bookings a JOIN seat_bookings b
		ON a.seat_id = b.seat_id AND a.id < b.id AND a.during && b.during
		WHERE a.cancelled_at IS NULL AND b.cancelled_at IS NULL`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkBookingContention is the booking contention scenario: each op races 1,000 bookings of
// overlapping ranges (24 hours, 1–3 h each) on 50 seats, one goroutine each, every booking a
// transaction with its ledger entry. Each op books a day range of its own, so ops do not
// contend with each other. It reports accepted bookings and attempts per second and the
// double bookings found afterwards, which must be 0.
func BenchmarkBookingContention(b *testing.B) {
	db, s := mustEvaluationStore(b, 40)
	seats := mustSeats(b, s, 50)
	r := rand.New(rand.NewPCG(1, 2))
	var ok, ops int64
	var busy time.Duration
	for i := 0; b.Loop(); i++ {
		ops++
		b.StopTimer()
		bookings := make([]evaluation.Booking, 1000)
		for j := range bookings {
			bookings[j] = randomBooking(r, seats, 24)
			shift := time.Duration(i) * 48 * time.Hour
			bookings[j].Start, bookings[j].End = bookings[j].Start.Add(shift), bookings[j].End.Add(shift)
		}
		b.StartTimer()
		started := time.Now()
		n, _, errs := raceBookings(s, bookings)
		busy += time.Since(started)
		for _, err := range errs {
			b.Error(err)
		}
		ok += n
	}
	b.StopTimer()
	b.ReportMetric(float64(ok)/busy.Seconds(), "bookings/s")
	b.ReportMetric(float64(1000*ops)/busy.Seconds(), "attempts/s")
	b.ReportMetric(float64(countOverlaps(b, db)), "double_bookings")
}

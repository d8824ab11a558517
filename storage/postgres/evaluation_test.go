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
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(bookings))
	start := make(chan struct{})
	for _, b := range bookings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := s.Book(ctx, kaiping.SystemActor(b.CreatedAt), b)
			switch {
			case err == nil:
				ok.Add(1)
			case kaiping.CodeOf(err) == "booking.overlap" && kaiping.KindOf(err) == kaiping.KindConflict:
				refused.Add(1)
			default:
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	var overlaps, stored, entries int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM seat_bookings a JOIN seat_bookings b
		ON a.seat_id = b.seat_id AND a.id < b.id AND a.during && b.during
		WHERE a.cancelled_at IS NULL AND b.cancelled_at IS NULL`).Scan(&overlaps); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM seat_bookings`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE action = 'booking.create'`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d booked, %d refused as overlapping", ok.Load(), refused.Load())
	switch {
	case overlaps != 0:
		t.Fatalf("%d pairs of overlapping bookings: double booking", overlaps)
	case ok.Load()+refused.Load() != int64(len(bookings)):
		t.Fatalf("%d booked + %d refused ≠ %d", ok.Load(), refused.Load(), len(bookings))
	case int64(stored) != ok.Load() || int64(entries) != ok.Load():
		t.Fatalf("%d stored and %d ledgered for %d accepted", stored, entries, ok.Load())
	case ok.Load() < 50 || refused.Load() == 0:
		t.Fatalf("%d booked, %d refused: the ranges did not contend", ok.Load(), refused.Load())
	}
}

// BenchmarkBookingContention books random overlapping ranges on 50 seats from many
// goroutines at once, each booking a transaction with its ledger entry; it reports accepted
// bookings per second and attempts (accepted or refused as overlapping) per second.
func BenchmarkBookingContention(b *testing.B) {
	_, s := mustEvaluationStore(b, 40)
	seats := mustSeats(b, s, 50)
	ctx := context.Background()
	horizon := max(24, b.N/25) // about half the attempts collide
	var ok, seed atomic.Uint64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(seed.Add(1), 7))
		for pb.Next() {
			bk := randomBooking(r, seats, horizon)
			err := s.Book(ctx, kaiping.SystemActor(bk.CreatedAt), bk)
			switch {
			case err == nil:
				ok.Add(1)
			case kaiping.CodeOf(err) != "booking.overlap":
				b.Error(err)
			}
		}
	})
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(ok.Load())/secs, "bookings/s")
	b.ReportMetric(float64(b.N)/secs, "attempts/s")
}

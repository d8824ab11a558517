package faults

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
)

// TestOpeningKilledAtEachStep kills kaiping with SIGKILL at each step of one opening and
// starts it again: during check-in (one bidder checked in), mid-unlock (a key handed in
// and its envelope being read from storage), mid-publication (the record being archived)
// and mid-confirmation (one bidder confirmed). What was done before each kill stays done,
// the rest goes on, and every bid opens.
func TestOpeningKilledAtEachStep(t *testing.T) {
	w := newWorld(t, worldOptions{bidders: 3})
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	w.sealedOpening()

	// Check-in: A checked in before the kill is still checked in after it.
	w.openCheckIn()
	w.checkIn(a)
	w.kill()
	w.restart()
	if n := w.board().CheckedIn; n != 1 {
		t.Errorf("after the restart %d bidders are checked in, want A's check-in kept", n)
	}
	w.checkIn(b)
	w.checkIn(c)

	// Mid-unlock: A's key is taken and its envelope is being read back for verification
	// when kaiping dies; the restarted process verifies it (queued keys are taken over).
	keys := w.keys(a)
	w.openWindow()
	hold := w.s3Proxy.Hold("GET /"+w.bids+"/", "versionId=")
	w.handIn(a, keys)
	hold.Wait(t, settle)
	w.kill()
	hold.Drop()
	w.s3Proxy.Restore()
	w.restart()
	w.jumpTo(w.now().Add(childHall().RequeueAfter + time.Second))
	w.unlock(b)
	w.unlock(c)
	w.waitDecrypted(a, b, c)

	// Mid-publication: the record is published and being archived when kaiping dies.
	hold = w.s3Proxy.Hold("PUT /" + w.archive + "/records/")
	published := make(chan error, 1)
	go func() {
		published <- w.host.Do(context.Background(), http.MethodPost, w.hallPath("/transitions"), opening.TransitionRequest{To: opening.HallPublished}, nil)
	}()
	hold.Wait(t, settle)
	w.kill()
	hold.Drop()
	w.s3Proxy.Restore()
	t.Logf("the host's publication when kaiping died: %v", <-published)
	w.restart()
	if st := w.board().State; st != opening.HallPublished {
		w.move(opening.HallPublished) // the host's console tries again
	}

	// Mid-confirmation: A's confirmation is kept.
	w.move(opening.HallConfirming)
	w.confirm(a)
	w.kill()
	w.restart()
	confirmed := 0
	for _, line := range w.board().Board {
		if line.Confirmed != nil {
			confirmed++
		}
	}
	if confirmed != 1 {
		t.Errorf("after the restart %d confirmations, want A's kept", confirmed)
	}
	w.confirmAll()
	w.checkOpened()
}

// TestOpeningStorageFaultsMidUnlock: each bidder hands in its key while object storage
// fails in another way — its connections reset for 5 seconds, slowed, cut for 20 seconds
// (the outage that once failed a tender). Every envelope is verified once storage
// answers again, none is classified against its bidder, and the opening is valid.
func TestOpeningStorageFaultsMidUnlock(t *testing.T) {
	w := newWorld(t, worldOptions{bidders: 3})
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	w.sealedOpening()
	w.openCheckIn()
	for _, x := range w.bidders {
		w.checkIn(x)
	}
	keys := map[*bidderT][]fileKey{}
	for _, x := range w.bidders {
		keys[x] = w.keys(x) // the tools read the headers when they join
	}
	w.openWindow()

	w.s3Proxy.Reset()
	w.handIn(a, keys[a])
	outage(t, w, 5*time.Second)
	w.s3Proxy.Restore()
	w.waitDecrypted(a)

	w.s3Proxy.Slow(300 * time.Millisecond)
	w.handIn(b, keys[b])
	w.waitDecrypted(b)
	w.s3Proxy.Restore()

	w.s3Proxy.Cut()
	w.handIn(c, keys[c])
	outage(t, w, 20*time.Second)
	w.s3Proxy.Restore()
	w.waitDecrypted(c)

	w.finish()
	w.checkOpened()
}

// outage lets a fault last d (the fault's length is what is tested, so this is a wait on
// the clock), logging what the host sees meanwhile.
func outage(t *testing.T, w *world, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	for _, line := range w.board().Board {
		for _, e := range line.Envelopes {
			if e.State != opening.EnvSealed && e.State != opening.EnvDecrypted {
				t.Logf("after %s of outage %s's %s is %s %s", d, line.BidderName, e.Kind, e.State, e.ErrorCode)
			}
		}
	}
}

// TestOpeningStorageCutMidPublication: A and B are decrypted; C hands in its key just as
// object storage is cut for 20 seconds (the outage that once failed a tender), and the window ends during
// the outage, when the platform is to publish the record. The publication waits for C's envelope rather than classify it
// against C for the platform's outage; once storage is back, C's bid is
// decrypted, the record is published and archived under the lock, and every bid opens.
func TestOpeningStorageCutMidPublication(t *testing.T) {
	w := newWorld(t, worldOptions{bidders: 3})
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	w.sealedOpening()
	w.openCheckIn()
	for _, x := range w.bidders {
		w.checkIn(x)
	}
	keys := w.keys(c)
	st := w.openWindow()
	w.unlock(a)
	w.unlock(b)
	w.waitDecrypted(a, b)

	w.s3Proxy.Cut()
	w.handIn(c, keys)
	w.jumpTo(*st.WindowClosesAt) // the platform publishes on its own at the end of the window
	outage(t, w, 20*time.Second)
	t.Logf("the hall during the outage: %s", jsonString(w.board().HallView))
	w.s3Proxy.Restore()
	w.eventually("the platform publishes the record", settle, func() error {
		v := w.board()
		if v.State == opening.HallFailed {
			t.Fatalf("the opening failed (流标) for the platform's outage: %s", v.Reason)
		}
		if v.State != opening.HallPublished {
			return fmt.Errorf("the hall is %s", v.State)
		}
		return nil
	})
	w.confirmAll()
	w.checkOpened()
}

// TestOpeningPostgresFaults: PostgreSQL fails mid-opening in every way — its connections
// reset while A hands in its key, the server stopped in immediate mode (and started again
// two seconds later) while B hands in its key, its connections slowed while C hands in its
// key, cut while the host publishes the record. The opening goes on: every key handed in
// is verified, what was done stays done, and every bid opens.
func TestOpeningPostgresFaults(t *testing.T) {
	w := newWorld(t, worldOptions{bidders: 3, ownPostgres: true})
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	w.sealedOpening()
	w.openCheckIn()
	keys := map[*bidderT][]fileKey{}
	for _, x := range w.bidders {
		w.checkIn(x)
		keys[x] = w.keys(x)
	}
	w.openWindow()

	w.pgProxy.Reset()
	restored := restoreAfter(w.pgProxy, 2*time.Second)
	w.handIn(a, keys[a]) // the tool keeps trying while the platform fails
	<-restored
	w.waitDecrypted(a)

	ctx := context.Background()
	if err := w.pg.StopImmediate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL stopped in immediate mode at %s", time.Now().Format("15:04:05.000"))
	restarted := make(chan error, 1)
	go func() {
		time.Sleep(2 * time.Second) // the outage's length is what is tested
		restarted <- w.pg.Restart(ctx, "synchronous_commit=on")
	}()
	w.handIn(b, keys[b])
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	w.waitDecrypted(a, b)

	w.pgProxy.Slow(20 * time.Millisecond)
	w.handIn(c, keys[c])
	w.waitDecrypted(a, b, c)
	w.pgProxy.Restore()

	w.pgProxy.Cut()
	restored = restoreAfter(w.pgProxy, 2*time.Second)
	w.move(opening.HallPublished) // the host's console tries again
	<-restored
	w.confirmAll()
	w.checkOpened()
}

// restoreAfter restores p after d (the outage's length is what is tested); the channel is
// closed once it is restored.
func restoreAfter(p *devenv.Proxy, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(d)
		p.Restore()
	}()
	return done
}

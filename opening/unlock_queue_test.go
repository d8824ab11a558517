package opening

import (
	"testing"

	"github.com/kaiping/kaiping"
)

// TestVerifyQueue: places are bounded, positions count from the next job, a job taken by a
// worker shows as verifying and frees its place, and an envelope is never queued twice.
func TestVerifyQueue(t *testing.T) {
	q := newVerifyQueue(2)
	ids := []kaiping.ID{kaiping.NewID(), kaiping.NewID(), kaiping.NewID()}
	for _, id := range ids[:2] {
		if !q.reserve() || !q.push(verifyJob{env: HallEnvelope{ID: id}}) {
			t.Fatal("a free place was refused")
		}
	}
	if q.reserve() {
		t.Fatal("a third place in a queue of two")
	}
	if pos, _, _ := q.position(ids[1]); pos != 2 {
		t.Errorf("second job at position %d", pos)
	}
	j := <-q.jobs
	q.take(j)
	if _, verifying, _ := q.position(ids[0]); !verifying {
		t.Error("the job taken is not shown as verifying")
	}
	if pos, _, _ := q.position(ids[1]); pos != 1 {
		t.Errorf("after one was taken the second is at %d", pos)
	}
	if !q.reserve() {
		t.Fatal("taking a job did not free its place")
	}
	if q.push(verifyJob{env: HallEnvelope{ID: ids[1]}}) {
		t.Error("an envelope already waiting was queued twice")
	}
	q.done(j)
	if _, _, known := q.position(ids[0]); known {
		t.Error("a finished job is still tracked")
	}
	if s := q.stats(); s.Waiting != 1 || s.Verifying != 0 || s.Capacity != 2 {
		t.Errorf("stats %+v", s)
	}
}

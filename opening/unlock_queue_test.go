package opening

import (
	"testing"
	"time"

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

// TestVerifyQueueLater: a job our storage failed leaves the worker and its place, stays
// tracked (no requeue takes it, never queued twice) and takes a free place again.
func TestVerifyQueueLater(t *testing.T) {
	q := newVerifyQueue(1)
	id := kaiping.NewID()
	if !q.reserve() || !q.push(verifyJob{env: HallEnvelope{ID: id}}) {
		t.Fatal("a free place was refused")
	}
	j := <-q.jobs
	q.take(j)
	q.later(j)
	if pos, verifying, known := q.position(id); !known || verifying || pos != 0 {
		t.Errorf("a delayed job at %d, verifying %v, known %v", pos, verifying, known)
	}
	if s := q.stats(); s.Retrying != 1 || s.Verifying != 0 || s.Waiting != 0 {
		t.Errorf("stats of a delayed job: %+v", s)
	}
	if !q.reserve() {
		t.Fatal("a delayed job holds its place")
	}
	if q.push(verifyJob{env: HallEnvelope{ID: id}}) {
		t.Error("a delayed envelope was queued twice")
	}
	if !q.again(j) {
		t.Fatal("a delayed job did not take the free place again")
	}
	if q.again(j) {
		t.Error("a job back in line was queued twice")
	}
	if s := q.stats(); s.Retrying != 0 || s.Waiting != 1 {
		t.Errorf("stats once back in line: %+v", s)
	}
}

// TestRetryDelay: the backoff doubles from RetryBase, never passes RetryMax, and is
// jittered within the upper half of each step.
func TestRetryDelay(t *testing.T) {
	c := HallConfig{RetryBase: 100 * time.Millisecond, RetryMax: time.Second}
	for tries, step := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond,
		5: time.Second, 40: time.Second, 1000: time.Second} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := c.retryDelay(tries)
			if d < step/2 || d > step {
				t.Fatalf("try %d waits %s, want %s to %s", tries, d, step/2, step)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("try %d always waits %v: no jitter", tries, seen)
		}
	}
}

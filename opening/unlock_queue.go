package opening

import (
	"sync"

	"github.com/kaiping/kaiping"
)

// verifyQueue is the bounded work queue behind unlocking: a bidder's right key takes one of
// a fixed number of waiting places, a fixed number of workers take jobs in order, and when
// every place is taken the hall answers "hall.busy" at once instead of piling up work, so a
// thousand bidders unlocking in the same minute cannot overload the server. A job our
// storage failed waits outside the line (later) and takes a place again when its backoff
// ends (again): it holds neither a worker nor a place while storage is down.
type verifyQueue struct {
	places chan struct{} // one token per waiting job
	jobs   chan verifyJob

	mu       sync.Mutex
	enqueued uint64                // jobs pushed so far: the next job's sequence number
	started  uint64                // jobs taken by workers so far
	waiting  map[kaiping.ID]uint64 // envelope → its job's sequence number
	active   map[kaiping.ID]bool   // envelopes being verified now
	delayed  map[kaiping.ID]bool   // envelopes our storage failed, waiting to be tried again
}

// verifyJob is one queued envelope to verify.
type verifyJob struct {
	env    HallEnvelope
	fields []SummaryField
	seq    uint64
	tries  int // verifications that failed on our side so far
}

func newVerifyQueue(capacity int) *verifyQueue {
	return &verifyQueue{
		places: make(chan struct{}, capacity), jobs: make(chan verifyJob, capacity),
		waiting: map[kaiping.ID]uint64{}, active: map[kaiping.ID]bool{}, delayed: map[kaiping.ID]bool{},
	}
}

// reserve takes a waiting place without blocking, before anything is recorded; false
// means the queue is full.
func (q *verifyQueue) reserve() bool {
	select {
	case q.places <- struct{}{}:
		return true
	default:
		return false
	}
}

// release gives back a place reserved for a job that was not pushed.
func (q *verifyQueue) release() { <-q.places }

// push queues a job on a reserved place. An envelope already waiting or being verified is
// not queued twice; push then gives the place back and reports false.
func (q *verifyQueue) push(j verifyJob) bool {
	q.mu.Lock()
	if _, ok := q.waiting[j.env.ID]; ok || q.active[j.env.ID] || q.delayed[j.env.ID] {
		q.mu.Unlock()
		q.release()
		return false
	}
	q.enqueued++
	j.seq = q.enqueued
	q.waiting[j.env.ID] = j.seq
	// Never blocks: jobs has as many slots as there are places, and this job holds one.
	// Sending under the lock keeps the channel in sequence order, which positions rely on.
	q.jobs <- j
	q.mu.Unlock()
	return true
}

// take is what a worker does with a job it received: the job leaves the waiting line and
// its place is freed for the next bidder.
func (q *verifyQueue) take(j verifyJob) {
	q.mu.Lock()
	q.started++
	delete(q.waiting, j.env.ID)
	q.active[j.env.ID] = true
	q.mu.Unlock()
	q.release()
}

// done forgets a verified job, or a delayed one that is no longer to be tried.
func (q *verifyQueue) done(j verifyJob) {
	q.mu.Lock()
	delete(q.active, j.env.ID)
	delete(q.delayed, j.env.ID)
	q.mu.Unlock()
}

// later sets aside a job being verified that failed on our side: still tracked (no requeue
// takes it), holding no place, until again.
func (q *verifyQueue) later(j verifyJob) {
	q.mu.Lock()
	delete(q.active, j.env.ID)
	q.delayed[j.env.ID] = true
	q.mu.Unlock()
}

// again puts a delayed job back in line if a place is free, and reports whether it did.
func (q *verifyQueue) again(j verifyJob) bool {
	if !q.reserve() {
		return false
	}
	q.mu.Lock()
	delete(q.delayed, j.env.ID)
	q.mu.Unlock()
	return q.push(j)
}

// position says where an envelope is: its place in line (1 is next), or verifying now, or
// not in this queue at all.
func (q *verifyQueue) position(envelope kaiping.ID) (pos int, verifying, known bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active[envelope] {
		return 0, true, true
	}
	if q.delayed[envelope] {
		return 0, false, true
	}
	seq, ok := q.waiting[envelope]
	if !ok {
		return 0, false, false
	}
	return int(seq - q.started), false, true
}

// tracks reports whether the envelope is waiting or being verified here.
func (q *verifyQueue) tracks(envelope kaiping.ID) bool {
	_, _, known := q.position(envelope)
	return known
}

// QueueStats is the queue as the host's board shows it.
type QueueStats struct {
	Waiting   int `json:"waiting"`
	Verifying int `json:"verifying"`
	// Retrying counts envelopes our storage failed, waiting for their next try.
	Retrying int `json:"retrying"`
	Capacity int `json:"capacity"`
	Workers  int `json:"workers"`
}

func (q *verifyQueue) stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueStats{Waiting: len(q.waiting), Verifying: len(q.active), Retrying: len(q.delayed), Capacity: cap(q.places)}
}

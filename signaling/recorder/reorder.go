package recorder

import (
	"time"

	"github.com/pion/rtp"
)

// reorderSlots is the reorder buffer's size in sequence numbers (a power of two). A packet
// further ahead than half of it is a jump, not a reordering: the buffer starts over there.
const reorderSlots = 512

// maxHeld bounds the packets held behind a hole, whatever the time window says.
const maxHeld = 256

// arrival is when a packet arrived: on the monotonic clock, for measuring silences, and on
// the injected clock, for the manifest.
type arrival struct {
	mono time.Time
	wall time.Time
}

// heldPacket is a copy of a packet waiting for those before it.
type heldPacket struct {
	p   rtp.Packet
	buf []byte
	at  arrival
}

// reorder puts a track's packets back into sequence order. Retransmissions answering the
// receiver's NACKs arrive late and out of order; a hole is waited for up to window (or
// maxHeld packets), then given up and the packets behind it are delivered. Packets arriving
// in order while nothing is held pass straight through without a copy: the common case.
type reorder struct {
	window    time.Duration
	slots     [reorderSlots]*heldPacket
	free      []*heldPacket
	next      uint16 // the sequence number due next
	started   bool
	held      int
	holeSince time.Time // monotonic; zero while nothing is held
	late      uint64    // duplicates and packets older than next
}

// push accepts p (read only during the call) and delivers every packet now due, in order.
func (r *reorder) push(p *rtp.Packet, at arrival, deliver func(*rtp.Packet, arrival)) {
	if !r.started {
		r.started, r.next = true, p.SequenceNumber
	}
	d := int16(p.SequenceNumber - r.next)
	switch {
	case d == 0 && r.held == 0:
		r.next++
		deliver(p, at)
		return
	case d < -reorderSlots/2 || d >= reorderSlots/2:
		// The stream jumped (a publisher restarted its sequence): what is held is delivered,
		// and the stream goes on from p. The jump shows as a gap where it is delivered.
		r.flush(deliver)
		r.next = p.SequenceNumber + 1
		deliver(p, at)
		return
	case d < 0:
		r.late++
		return
	}
	i := p.SequenceNumber % reorderSlots
	if r.slots[i] != nil {
		r.late++
		return
	}
	r.slots[i] = r.hold(p, at)
	r.held++
	if r.holeSince.IsZero() {
		r.holeSince = at.mono
	}
	r.drain(at.mono, deliver)
}

// hold copies what delivery needs of p: the header's scalars and the payload.
func (r *reorder) hold(p *rtp.Packet, at arrival) *heldPacket {
	var h *heldPacket
	if n := len(r.free); n > 0 {
		h, r.free = r.free[n-1], r.free[:n-1]
	} else {
		h = &heldPacket{}
	}
	h.buf = append(h.buf[:0], p.Payload...)
	h.p = rtp.Packet{Header: rtp.Header{
		Version: p.Version, Padding: p.Padding, Marker: p.Marker, PayloadType: p.PayloadType,
		SequenceNumber: p.SequenceNumber, Timestamp: p.Timestamp, SSRC: p.SSRC,
	}, Payload: h.buf}
	h.at = at
	return h
}

// drain delivers what is due and gives up holes older than the window.
func (r *reorder) drain(now time.Time, deliver func(*rtp.Packet, arrival)) {
	for {
		progressed := false
		for h := r.slots[r.next%reorderSlots]; h != nil; h = r.slots[r.next%reorderSlots] {
			r.release(h, deliver)
			progressed = true
		}
		if r.held == 0 {
			r.holeSince = time.Time{}
			return
		}
		if progressed {
			r.holeSince = now
		}
		if now.Sub(r.holeSince) < r.window && r.held < maxHeld {
			return
		}
		r.next++ // lost for good; the gap check counts it from the sequence numbers
	}
}

func (r *reorder) release(h *heldPacket, deliver func(*rtp.Packet, arrival)) {
	r.slots[r.next%reorderSlots] = nil
	r.held--
	r.next++
	deliver(&h.p, h.at)
	r.free = append(r.free, h)
}

// flush delivers everything held, in order, skipping the holes.
func (r *reorder) flush(deliver func(*rtp.Packet, arrival)) {
	for r.held > 0 {
		if h := r.slots[r.next%reorderSlots]; h != nil {
			r.release(h, deliver)
		} else {
			r.next++
		}
	}
	r.holeSince = time.Time{}
}

package embedded

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// keyframeInterval is the least time between two keyframe requests to one publisher track:
// many subscribers asking at once (a room of 300 joining) cost the publisher one keyframe.
const keyframeInterval = 500 * time.Millisecond

// keyframeLimiter throttles keyframe requests: one goes out at once, those that follow
// within keyframeInterval are folded into one sent when the interval ends. A request is
// never dropped: a subscriber that joined just after another would otherwise wait for a
// keyframe it never gets (a browser's decoder asks again; a simpler client may not).
type keyframeLimiter struct {
	mu       sync.Mutex
	last     time.Time // when the last request was sent
	deferred bool      // a request waits for the interval to end
	sent     atomic.Uint64
}

// request says what to do with a request made at now: send it now (0, true), send one
// after wait (wait > 0, true: the caller arms a timer and calls fire), or nothing (a
// request is already deferred and covers this one).
func (k *keyframeLimiter) request(now time.Time) (wait time.Duration, act bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.deferred {
		return 0, false
	}
	since := now.Sub(k.last)
	if k.last.IsZero() || since >= keyframeInterval {
		k.last = now
		k.sent.Add(1)
		return 0, true
	}
	k.deferred = true
	return keyframeInterval - since, true
}

// fire records the deferred request as sent at now.
func (k *keyframeLimiter) fire(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.deferred, k.last = false, now
	k.sent.Add(1)
}

// requestKeyframe asks the publisher for a keyframe (PLI), at most once per keyframeInterval.
func (t *publishedTrack) requestKeyframe() {
	if t.kind != "video" {
		return
	}
	switch wait, act := t.keyframe.request(time.Now()); {
	case !act:
	case wait == 0:
		t.sendPLI()
	default:
		time.AfterFunc(wait, func() {
			t.keyframe.fire(time.Now())
			t.sendPLI()
		})
	}
}

// sendPLI sends a Picture Loss Indication for the track; once the publisher has gone it
// fails, which is harmless.
func (t *publishedTrack) sendPLI() {
	src := t.src.Load()
	pli := &rtcp.PictureLossIndication{MediaSSRC: uint32(src.remote.SSRC())}
	if err := src.pc.WriteRTCP([]rtcp.Packet{pli}); err != nil {
		t.owner.log.Debug("send PLI", "err", err)
	}
}

// readRTCP drains the publisher's RTCP for this source: reading is what drives pion's
// interceptors (sender reports for the receiver-report generator).
func readRTCP(src *trackSource) {
	for {
		if _, _, err := src.recv.ReadRTCP(); err != nil {
			return
		}
	}
}

// readRTCP handles the subscriber's feedback on its copy: keyframe requests (PLI, FIR) go to
// the publisher, throttled; receiver reports feed the subscriber's connection quality. NACKs
// are answered by pion's NACK responder from its buffer before they get here.
func (d *downTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch p := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.track.requestKeyframe()
			case *rtcp.ReceiverReport:
				for _, r := range p.Reports {
					d.sub.observeLoss(r.FractionLost)
				}
			}
		}
	}
}

// lossCounter estimates the fraction of packets lost on the way in from sequence numbers.
type lossCounter struct {
	mu       sync.Mutex
	started  bool
	highest  uint16
	received uint64
	expected uint64
}

func (l *lossCounter) observe(seq uint16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.received++
	if !l.started {
		l.started, l.highest, l.expected = true, seq, 1
		return
	}
	if diff := seq - l.highest; diff != 0 && diff < 1<<15 {
		l.expected += uint64(diff)
		l.highest = seq
	}
}

// take returns the fraction lost since the last call (0 to 1) and resets the counts.
func (l *lossCounter) take() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var f float64
	if l.expected > l.received && l.expected > 0 {
		f = float64(l.expected-l.received) / float64(l.expected)
	}
	l.received, l.expected = 0, 0
	return f
}

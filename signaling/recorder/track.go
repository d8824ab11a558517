package recorder

import (
	"sync"
	"time"

	"github.com/pion/rtp"
)

// trackWriter records one track: packets are put back in order, checked for gaps and
// written to the track's container. Its memory does not grow with the recording: a bounded
// reorder buffer, one frame being assembled, the file's write buffer, and at most maxGaps
// gaps.
type trackWriter struct {
	rec  *Recording
	info TrackInfo
	name string // the file's name

	mu      sync.Mutex
	ended   bool
	c       container
	reorder reorder
	file    ManifestFile // counters and times (Size and SHA256 come at the end)

	have     bool // a packet was delivered: last is set
	lastSeq  uint16
	lastTS   uint32
	lastMono time.Time
	lastWall time.Time
	mutedAt  time.Time // monotonic: the last time the server said the track was muted
	gaps     []Gap
	omitted  int
	writeErr error
}

// WriteRTP implements TrackSink.
func (w *trackWriter) WriteRTP(p *rtp.Packet) {
	at := arrival{mono: time.Now(), wall: w.rec.now()}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	w.file.Packets++
	if w.file.StartedAt.IsZero() {
		w.file.StartedAt = at.wall
	}
	w.reorder.push(p, at, w.deliver)
}

// deliver handles the next packet in sequence order (w.mu held).
func (w *trackWriter) deliver(p *rtp.Packet, at arrival) {
	if w.have {
		w.checkGap(p, at)
	}
	w.have, w.lastSeq, w.lastTS, w.lastMono, w.lastWall = true, p.SequenceNumber, p.Timestamp, at.mono, at.wall
	w.file.LastPacketAt = at.wall
	if w.writeErr != nil {
		return
	}
	if err := w.c.write(p); err != nil {
		// A full or failing disk: the recording goes on without this track's media, and the
		// failure is logged once and leaves the track's counters behind for the manifest.
		w.writeErr = err
		w.rec.log.Error("recording a track failed", "file", w.name, "err", err)
	}
}

// checkGap records a gap between the last delivered packet and p, if there is one.
func (w *trackWriter) checkGap(p *rtp.Packet, at arrival) {
	cfg := w.rec.cfg
	lost := uint64(uint16(p.SequenceNumber-w.lastSeq)) - 1
	if p.SequenceNumber == w.lastSeq {
		lost = 0
	}
	w.file.Lost += lost
	rtpGap := time.Duration(int64(int32(p.Timestamp-w.lastTS)) * int64(time.Second) / int64(max(w.info.ClockRate, 1)))
	silence := at.mono.Sub(w.lastMono)
	jump := rtpGap > cfg.GapThreshold || rtpGap < -cfg.GapThreshold
	if silence <= cfg.GapThreshold && !jump && lost <= uint64(cfg.GapSequenceThreshold) {
		return
	}
	var reason string
	switch {
	case !w.mutedAt.IsZero() && !w.mutedAt.Before(w.lastMono.Add(-time.Second)) && !w.mutedAt.After(at.mono):
		reason = GapMuted
	case w.rec.interruptedBetween(w.lastMono, at.mono):
		reason = GapRecorderReconnecting
	case silence > cfg.GapThreshold:
		reason = GapMediaInterrupted
	case jump:
		reason = GapTimestampJump
	default:
		reason = GapSequenceJump
	}
	if len(w.gaps) >= maxGaps {
		w.omitted++
		return
	}
	w.gaps = append(w.gaps, Gap{
		Participant: w.info.Participant, File: w.name, Start: w.lastWall, End: at.wall,
		Reason: reason, LostPackets: lost, RTPGapMS: rtpGap.Milliseconds(),
	})
}

// Muted notes that the server stopped forwarding the track, so the silence that follows is
// recorded as muted rather than as an interruption.
func (w *trackWriter) muted(on bool) {
	if !on {
		return
	}
	w.mu.Lock()
	w.mutedAt = time.Now()
	w.mu.Unlock()
}

// End implements TrackSink.
func (w *trackWriter) End() { w.close() }

// close delivers what is held and finishes the file; it is idempotent.
func (w *trackWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	w.ended = true
	w.reorder.flush(w.deliver)
	w.file.EndedAt = w.rec.now()
	if err := w.c.close(); err != nil && w.writeErr == nil {
		w.writeErr = err
		w.rec.log.Error("closing a recorded track failed", "file", w.name, "err", err)
	}
}

// flush pushes the buffered media to the spool file (a checkpoint).
func (w *trackWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended && w.writeErr == nil {
		if err := w.c.flush(); err != nil {
			w.writeErr = err
			w.rec.log.Error("recording a track failed", "file", w.name, "err", err)
		}
	}
}

// snapshot returns the track's manifest entry and gaps so far.
func (w *trackWriter) snapshot() (ManifestFile, []Gap, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.file
	f.Late = w.reorder.late
	f.Frames, f.DroppedFrames, f.Width, f.Height = w.c.counts()
	if w.writeErr != nil {
		f.WriteError = w.writeErr.Error()
	}
	return f, append([]Gap(nil), w.gaps...), w.omitted
}

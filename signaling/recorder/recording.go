package recorder

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// Recording is one room being recorded: a hidden participant writing every track it
// receives into the spool, then storing the files when it ends. It implements
// signaling.Recording and is the Sink of its session.
type Recording struct {
	rec     *Recorder
	cfg     Config
	log     *slog.Logger
	id      kaiping.ID
	room    string
	dir     string
	started time.Time
	backend string
	self    string // the recorder's identity in the room

	mu         sync.Mutex
	parts      map[string]*ManifestParticipant
	order      []string // identities in the order first seen
	tracks     []*trackWriter
	byTrack    map[string]*trackWriter // by backend track ID, while the track lasts
	gaps       []Gap
	unrecorded []UnrecordedTrack
	down       time.Time // monotonic: since when the recorder's connection is down
	downWall   time.Time
	interrupts []interval // the recorder's own outages (the last maxInterrupts)
	endReason  string

	conn   Conn
	ended  chan struct{} // closed when the session is over
	endMu  sync.Once
	done   chan struct{} // closed when the recording is stored (or failed to be)
	stored Stored
	err    error
}

// interval is a stretch of monotonic time.
type interval struct{ from, to time.Time }

// maxInterrupts bounds the outages remembered for classifying gaps.
const maxInterrupts = 64

var _ signaling.Recording = (*Recording)(nil)
var _ Sink = (*Recording)(nil)

// ID is the recording's ID.
func (r *Recording) ID() kaiping.ID { return r.id }

// Room is the recorded room.
func (r *Recording) Room() string { return r.room }

// Done is closed once the recording has ended and its files are stored (or storing failed;
// then they stay in the spool for Recover).
func (r *Recording) Done() <-chan struct{} { return r.done }

// Result is what was stored; valid after Done.
func (r *Recording) Result() (Stored, error) {
	<-r.done
	return r.stored, r.err
}

// Stop implements signaling.Recording: it leaves the room, finishes the files and stores
// them. Storing goes on if ctx ends first (Stop then returns CodeStorePending).
func (r *Recording) Stop(ctx context.Context) error {
	r.end("stopped")
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return kaiping.E(kaiping.KindUnavailable, CodeStorePending, "录像仍在保存中，稍后将自动完成归档")
	}
}

// Left implements signaling.Recording: closed once the session has ended (the files may
// still be being stored; Done says when that is over).
func (r *Recording) Left() <-chan struct{} { return r.ended }

// end ends the session once, for reason.
func (r *Recording) end(reason string) {
	r.endMu.Do(func() {
		r.mu.Lock()
		r.endReason = reason
		r.mu.Unlock()
		close(r.ended)
	})
}

func (r *Recording) now() time.Time { return r.rec.clock.Now().UTC() }

// run checkpoints the manifest until the session ends, then finishes and stores.
func (r *Recording) run() {
	defer close(r.done)
	defer r.rec.forget(r)
	tick := time.NewTicker(r.cfg.CheckpointInterval)
	defer tick.Stop()
	for wait := true; wait; {
		select {
		case <-r.ended:
			wait = false
		case <-tick.C:
			r.checkpoint()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.LeaveTimeout)
	if err := r.conn.Leave(ctx); err != nil {
		r.log.Warn("leaving the room", "err", err)
	}
	cancel()
	r.mu.Lock()
	tracks := append([]*trackWriter(nil), r.tracks...)
	r.mu.Unlock()
	for _, t := range tracks {
		t.close()
	}
	m := r.manifest()
	m.EndedAt = r.now()
	r.mu.Lock()
	m.EndReason = r.endReason
	r.mu.Unlock()
	if _, err := writeManifest(r.dir, m); err != nil {
		r.err = kaiping.Internal("recorder.finish", err)
		r.log.Error("writing the recording's manifest", "err", err)
		return
	}
	r.log.Info("recording ended", "reason", m.EndReason, "files", len(m.Files), "gaps", len(m.Gaps))
	if r.rec.archive == nil {
		_, _, r.err = r.rec.finalize(r.dir) // spool only
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), r.cfg.StoreTimeout)
	defer cancel()
	r.stored, r.err = r.rec.storeDir(sctx, r.dir)
	if r.err != nil {
		r.log.Error("storing the recording failed; it stays in the spool and is tried again", "dir", r.dir, "err", r.err)
	}
}

// checkpoint flushes the files and rewrites the manifest, so a crash loses little.
func (r *Recording) checkpoint() {
	r.mu.Lock()
	tracks := append([]*trackWriter(nil), r.tracks...)
	r.mu.Unlock()
	for _, t := range tracks {
		t.flush()
	}
	if _, err := writeManifest(r.dir, r.manifest()); err != nil {
		r.log.Error("checkpointing the recording's manifest", "err", err)
	}
}

// manifest builds the manifest as it stands.
func (r *Recording) manifest() Manifest {
	now := r.now()
	m := Manifest{
		Version: ManifestVersion, Recording: r.id, Room: r.room, Backend: r.backend, Identity: r.self,
		StartedAt: r.started, CheckpointAt: now,
		GapThresholdMS: r.cfg.GapThreshold.Milliseconds(), GapSequenceThreshold: r.cfg.GapSequenceThreshold,
		Participants: []ManifestParticipant{}, Files: []ManifestFile{},
	}
	r.mu.Lock()
	tracks := append([]*trackWriter(nil), r.tracks...)
	for _, id := range r.order {
		p := *r.parts[id]
		p.Sessions = append([]Session(nil), p.Sessions...)
		m.Participants = append(m.Participants, p)
	}
	names := map[string]string{}
	for id, p := range r.parts {
		names[id] = p.Name
	}
	m.Gaps = append([]Gap{}, r.gaps...)
	m.Unrecorded = append(m.Unrecorded, r.unrecorded...)
	if !r.down.IsZero() {
		// Still down at this checkpoint: say so, up to now.
		m.Gaps = append(m.Gaps, Gap{Start: r.downWall, End: now, Reason: GapRecorderReconnecting})
	}
	r.mu.Unlock()
	for _, t := range tracks {
		f, gaps, omitted := t.snapshot()
		f.ParticipantName = names[f.Participant]
		m.Files = append(m.Files, f)
		m.Gaps = append(m.Gaps, gaps...)
		m.GapsOmitted += omitted
	}
	sort.SliceStable(m.Gaps, func(i, j int) bool { return m.Gaps[i].Start.Before(m.Gaps[j].Start) })
	if len(m.Gaps) > maxGaps {
		m.GapsOmitted += len(m.Gaps) - maxGaps
		m.Gaps = m.Gaps[:maxGaps]
	}
	return m
}

// Participant implements Sink.
func (r *Recording) Participant(identity, name string) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.participantLocked(identity, now)
	if name != "" {
		p.Name = name
	}
	last := &p.Sessions[len(p.Sessions)-1]
	if last.Until.IsZero() {
		return // already present (a resume repeats the list)
	}
	r.addGapLocked(Gap{Participant: identity, Start: last.Until, End: now, Reason: GapParticipantAbsent, Detail: last.LeftReason})
	p.Sessions = append(p.Sessions, Session{From: now})
}

// participantLocked returns identity's entry, creating it (present from now) if new.
func (r *Recording) participantLocked(identity string, now time.Time) *ManifestParticipant {
	p, ok := r.parts[identity]
	if !ok {
		p = &ManifestParticipant{Identity: identity, Sessions: []Session{{From: now}}}
		r.parts[identity] = p
		r.order = append(r.order, identity)
	}
	return p
}

// ParticipantLeft implements Sink.
func (r *Recording) ParticipantLeft(identity, reason string) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.parts[identity]
	if !ok {
		return
	}
	if last := &p.Sessions[len(p.Sessions)-1]; last.Until.IsZero() {
		last.Until, last.LeftReason = now, reason
	}
}

func (r *Recording) addGapLocked(g Gap) {
	if len(r.gaps) < maxGaps {
		r.gaps = append(r.gaps, g)
	}
}

// Track implements Sink: it opens the track's file in the spool.
func (r *Recording) Track(info TrackInfo, keyframe func()) TrackSink {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.ended:
		return discard{}
	default:
	}
	p := r.participantLocked(info.Participant, now)
	unrecorded := func(reason string) TrackSink {
		if len(r.unrecorded) < maxGaps {
			r.unrecorded = append(r.unrecorded, UnrecordedTrack{Participant: info.Participant, Kind: info.Kind,
				TrackID: info.ID, Codec: info.MimeType, At: now, Reason: reason})
		}
		return discard{}
	}
	ext := fileExtension(info.MimeType)
	if ext == "" {
		r.log.Warn("not recording a track of an unsupported codec", "codec", info.MimeType, "participant", info.Participant)
		return unrecorded("codec_unsupported")
	}
	name := fmt.Sprintf("%03d-%s-%s.%s", len(r.tracks)+1, fileSafe(info.Participant), info.Kind, ext)
	c, err := newContainer(filepath.Join(r.dir, name), info, throttle(keyframe, keyframeInterval))
	if err != nil {
		r.log.Error("opening a track's file", "file", name, "err", err)
		return unrecorded("file_error")
	}
	t := &trackWriter{rec: r, info: info, name: name, c: c,
		reorder: reorder{window: r.cfg.ReorderWindow},
		file: ManifestFile{
			Name: name, Key: objectPrefix(r.room, r.id) + name, Participant: info.Participant, ParticipantName: p.Name,
			Kind: info.Kind, TrackID: info.ID, Codec: info.MimeType, ClockRate: info.ClockRate,
		}}
	r.tracks = append(r.tracks, t)
	r.byTrack[info.ID] = t
	return t
}

// Muted implements Sink.
func (r *Recording) Muted(trackID string, muted bool) {
	r.mu.Lock()
	t := r.byTrack[trackID]
	r.mu.Unlock()
	if t != nil {
		t.muted(muted)
	}
}

// Interrupted implements Sink.
func (r *Recording) Interrupted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down.IsZero() {
		r.down, r.downWall = time.Now(), r.now()
	}
}

// Resumed implements Sink.
func (r *Recording) Resumed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down.IsZero() {
		return
	}
	r.addGapLocked(Gap{Start: r.downWall, End: r.now(), Reason: GapRecorderReconnecting})
	r.interrupts = append(r.interrupts, interval{r.down, time.Now()})
	if len(r.interrupts) > maxInterrupts {
		r.interrupts = r.interrupts[1:]
	}
	r.down = time.Time{}
}

// interruptedBetween reports whether the recorder's connection was down at some time
// between from and to (monotonic).
func (r *Recording) interruptedBetween(from, to time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.down.IsZero() && r.down.Before(to) {
		return true
	}
	for _, iv := range r.interrupts {
		if iv.from.Before(to) && iv.to.After(from) {
			return true
		}
	}
	return false
}

// Ended implements Sink.
func (r *Recording) Ended(reason string) {
	r.mu.Lock()
	if !r.down.IsZero() {
		r.addGapLocked(Gap{Start: r.downWall, End: r.now(), Reason: GapRecorderReconnecting})
		r.down = time.Time{}
	}
	r.mu.Unlock()
	r.end(reason)
}

// keyframeInterval spaces the recorder's key frame requests for one track: after a lost
// frame the next key frame repairs the picture, and asking more often only loads the
// publisher.
const keyframeInterval = 500 * time.Millisecond

// throttle returns f called at most once per interval (a nil f: a no-op).
func throttle(f func(), interval time.Duration) func() {
	if f == nil {
		return func() {}
	}
	var mu sync.Mutex
	var last time.Time
	return func() {
		mu.Lock()
		now := time.Now()
		due := now.Sub(last) >= interval
		if due {
			last = now
		}
		mu.Unlock()
		if due {
			f()
		}
	}
}

// discard is the sink of a track that is not recorded.
type discard struct{}

func (discard) WriteRTP(*rtp.Packet) {}
func (discard) End()                 {}

// fileSafe keeps identity's characters that are safe in file names and object keys.
func fileSafe(identity string) string {
	b := []byte(identity)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// objectPrefix is where a recording's objects live in the archive.
func objectPrefix(room string, id kaiping.ID) string {
	return "recordings/" + room + "/" + string(id) + "/"
}

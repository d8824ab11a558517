package signaling

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kaiping/kaiping"
)

// Recorder records a room by joining it with a grant, as any participant would: the grant
// Recordings hands it is hidden and subscribes to everyone, so the recorder works the same on
// every backend (Grant.Backend says which client protocol to speak). The recorder package
// provides one.
type Recorder interface {
	// Record joins with g and records until the returned Recording is stopped or the room
	// closes. ctx bounds joining only, not the recording.
	Record(ctx context.Context, g Grant) (Recording, error)
}

// Recording is a recording in progress.
type Recording interface {
	// Stop leaves the room and finishes the recording (writing and storing its files).
	Stop(ctx context.Context) error
	// Left is closed once the recorder has left the room, for whatever reason: Stop, the
	// room closing, the server removing it, or a connection it could not resume.
	Left() <-chan struct{}
}

// RecorderName is the display name of the recorder's hidden participant.
const RecorderName = "录制服务"

// Recordings keeps the recordings in progress, one per room. Backends use it to implement
// StartRecording and StopRecording; a nil Recorder makes both fail cleanly.
//
// A recording that ends without StopRecording or CloseRoom (the server removed the
// recorder, its connection could not be resumed) is started again at once, as a new
// recording: rooms are recorded by law, and a room left marked as recording with nobody
// recording it would stay unrecorded and refuse StartRecording. The time between the two
// is a gap between their manifests, not hidden; restarting stops when the room is gone.
type Recordings struct {
	rec    Recorder
	log    *slog.Logger
	mu     sync.Mutex
	active map[string]Recording
}

// RestartDelay is how long Recordings waits before recording a room again whose recording
// ended by itself, so that a recorder refused at once does not spin.
const RestartDelay = time.Second

// NewRecordings returns a registry that records with rec (nil: recording unavailable) and
// logs the recordings it starts again to log.
func NewRecordings(rec Recorder, log *slog.Logger) *Recordings {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recordings{rec: rec, log: log, active: map[string]Recording{}}
}

// Start has the recorder join room with a hidden subscribe-all grant from m.
func (r *Recordings) Start(ctx context.Context, m Media, room string) error {
	if r.rec == nil {
		return kaiping.E(kaiping.KindUnavailable, CodeRecordingUnavailable, "未配置录制服务，无法录制")
	}
	r.mu.Lock()
	if _, ok := r.active[room]; ok {
		r.mu.Unlock()
		return kaiping.Errorf(kaiping.KindConflict, CodeRecordingActive, "房间 %s 已在录制", room)
	}
	r.active[room] = nil // reserved while joining
	r.mu.Unlock()
	rec, err := r.join(ctx, m, room)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		delete(r.active, room)
		return err
	}
	r.active[room] = rec
	go r.watch(m, room, rec)
	return nil
}

// watch starts room's recording again should rec leave the room while still the room's
// recording (Stop and StopIfActive take it out first).
func (r *Recordings) watch(m Media, room string, rec Recording) {
	<-rec.Left()
	r.mu.Lock()
	current := r.active[room] == rec
	if current {
		delete(r.active, room)
	}
	r.mu.Unlock()
	if !current {
		return
	}
	r.log.Warn("recorder left the room by itself; recording it again", "room", room)
	time.Sleep(RestartDelay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch err := r.Start(ctx, m, room); kaiping.CodeOf(err) {
	case "", CodeRecordingActive:
	case CodeRoomNotFound:
		r.log.Info("room closed before its recording could restart", "room", room)
	default:
		r.log.Error("recording could not restart: the room is not being recorded", "room", room, "err", err)
	}
}

func (r *Recordings) join(ctx context.Context, m Media, room string) (Recording, error) {
	who := kaiping.Principal{ID: kaiping.NewID(), Name: RecorderName}
	g, err := m.Grant(ctx, room, who, Permissions{Subscribe: Subscription{All: true}, Hidden: true})
	if err != nil {
		return nil, err
	}
	return r.rec.Record(ctx, g)
}

// Stop stops the recording of room.
func (r *Recordings) Stop(ctx context.Context, room string) error {
	r.mu.Lock()
	rec, ok := r.active[room]
	if ok && rec != nil {
		delete(r.active, room)
	}
	r.mu.Unlock()
	if !ok || rec == nil {
		return kaiping.Errorf(kaiping.KindConflict, CodeRecordingNotActive, "房间 %s 未在录制", room)
	}
	return rec.Stop(ctx)
}

// StopIfActive stops the recording of room if there is one (CloseRoom uses it).
func (r *Recordings) StopIfActive(ctx context.Context, room string) error {
	err := r.Stop(ctx, room)
	if kaiping.CodeOf(err) == CodeRecordingNotActive {
		return nil
	}
	return err
}

package embedded

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// nextEvent returns the next event of type typ, skipping others.
func nextEvent(t *testing.T, events <-chan signaling.RoomEvent, typ signaling.EventType) signaling.RoomEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream closed while waiting for %s", typ)
			}
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

func TestEvents(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	mustRoom(t, srv, "other")
	ctx, cancel := context.WithCancel(context.Background())
	room, err := srv.Events(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	all, err := srv.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	g := mustGrant(t, srv, "r", "a", publisher)
	a := startSeat(t, g)
	ev := nextEvent(t, room, signaling.EventJoined)
	if ev.Participant != g.Identity || ev.Room != "r" || ev.At.IsZero() {
		t.Errorf("joined event %+v", ev)
	}
	kinds := map[signaling.TrackKind]bool{}
	for i := 0; i < 2; i++ {
		ev := nextEvent(t, room, signaling.EventTrackPublished)
		kinds[ev.Track.Kind] = true
	}
	if !kinds[signaling.Audio] || !kinds[signaling.Video] {
		t.Errorf("published kinds %v", kinds)
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, room, signaling.EventTrackUnpublished)
	if ev := nextEvent(t, room, signaling.EventLeft); ev.Reason != "left" {
		t.Errorf("left event %+v", ev)
	}
	if ev := nextEvent(t, all, signaling.EventJoined); ev.Room != "r" {
		t.Errorf("all-rooms stream: %+v", ev)
	}
	cancel()
	waitFor(t, 5*time.Second, "the stream to close", func() bool {
		for {
			select {
			case _, ok := <-room:
				if !ok {
					return true
				}
			default:
				return false
			}
		}
	})
	if _, err := srv.Events(context.Background(), "bad room"); kaiping.CodeOf(err) != signaling.CodeRoomInvalid {
		t.Errorf("Events on a bad name: %v", err)
	}
}

func TestRemoveMuteAndClose(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	ctx := context.Background()
	a, b, _, gb := startPair(t, srv, "r")

	// Muting b's audio stops it reaching a; b's video goes on.
	if err := srv.MuteParticipant(ctx, "r", gb.Identity, signaling.Audio, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	audio := func() uint64 {
		for _, tr := range a.Stats().From(gb.Identity) {
			if tr.Kind == signaling.Audio {
				return tr.Packets
			}
		}
		return 0
	}
	video := packetsFrom(a.Agent, gb.Identity) - audio()
	before := audio()
	time.Sleep(time.Second)
	if got := audio(); got != before {
		t.Errorf("muted audio still arrives: %d then %d packets", before, got)
	}
	if got := packetsFrom(a.Agent, gb.Identity) - audio(); got <= video {
		t.Errorf("video stopped too: %d then %d", video, got)
	}
	ps, _ := srv.Participants(ctx, "r")
	for _, p := range ps {
		for _, tr := range p.Tracks {
			if p.Identity == gb.Identity && tr.Kind == signaling.Audio && !tr.Muted {
				t.Errorf("Participants does not show b's audio muted")
			}
		}
	}
	if err := srv.MuteParticipant(ctx, "r", gb.Identity, signaling.Audio, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "audio to flow again", func() bool { return audio() > before+10 })

	tests := []struct {
		name string
		err  error
		code string
	}{
		{"mute bad kind", srv.MuteParticipant(ctx, "r", gb.Identity, "screen", true), signaling.CodeTrackKindInvalid},
		{"mute unknown participant", srv.MuteParticipant(ctx, "r", "nobody", signaling.Audio, true), signaling.CodeParticipantNotFound},
		{"remove unknown participant", srv.RemoveParticipant(ctx, "r", "nobody"), signaling.CodeParticipantNotFound},
		{"remove in unknown room", srv.RemoveParticipant(ctx, "nope", gb.Identity), signaling.CodeRoomNotFound},
	}
	for _, tt := range tests {
		if got := kaiping.CodeOf(tt.err); got != tt.code {
			t.Errorf("%s: code %s (%v), want %s", tt.name, got, tt.err, tt.code)
		}
	}

	if err := srv.RemoveParticipant(ctx, "r", gb.Identity); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(); err == nil || b.Stats().Bye == nil || b.Stats().Bye.Reason != "removed" {
		t.Errorf("removed seat: err %v, bye %+v", err, b.Stats().Bye)
	}
	waitFor(t, 5*time.Second, "a to hear b left", func() bool { _, ok := a.Stats().Peers[gb.Identity]; return !ok })

	if err := srv.CloseRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := a.wait(); err == nil || a.Stats().Bye == nil || a.Stats().Bye.Reason != "room_closed" {
		t.Errorf("closed room: err %v, bye %+v", err, a.Stats().Bye)
	}
	if _, err := srv.Participants(ctx, "r"); kaiping.CodeOf(err) != signaling.CodeRoomNotFound {
		t.Errorf("Participants of a closed room: %v", err)
	}
	if err := srv.CloseRoom(ctx, "r"); kaiping.CodeOf(err) != signaling.CodeRoomNotFound {
		t.Errorf("closing twice: %v", err)
	}
}

// seatRecorder is a Recorder that joins with a seat agent: the real recorder writes files,
// this one only counts what it receives.
type seatRecorder struct {
	mu     sync.Mutex
	grants []signaling.Grant
	seats  []*running
}

func (r *seatRecorder) Record(_ context.Context, g signaling.Grant) (signaling.Recording, error) {
	s := launchSeat(g)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.grants = append(r.grants, g)
	r.seats = append(r.seats, s)
	return seatRecording{s}, nil
}

type seatRecording struct{ s *running }

func (r seatRecording) Stop(context.Context) error { return r.s.stop() }

func (r seatRecording) Left() <-chan struct{} { return r.s.left }

func TestRecordingHook(t *testing.T) {
	rec := &seatRecorder{}
	srv := mustServer(t, kaiping.SystemClock{})
	srv.recs = signaling.NewRecordings(rec, testLog())
	mustRoom(t, srv, "r")
	ctx := context.Background()
	ga := mustGrant(t, srv, "r", "a", publisher)
	a := startSeat(t, ga)
	if err := srv.StartRecording(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartRecording(ctx, "r"); kaiping.CodeOf(err) != signaling.CodeRecordingActive {
		t.Errorf("second start: %v", err)
	}
	g := rec.grants[0]
	if !g.Permissions.Hidden || !g.Permissions.Subscribe.All || g.Permissions.PublishAudio || g.Backend != Backend {
		t.Errorf("recorder grant %+v", g)
	}
	waitFor(t, 20*time.Second, "the recorder to receive a", func() bool { return receivesFrom(rec.seats[0].Agent, ga.Identity, 20) })
	if _, seen := a.Stats().Peers[g.Identity]; seen {
		t.Errorf("the recorder was announced")
	}
	// Removed by the server, the recorder leaves; the room is recorded again at once.
	if err := srv.RemoveParticipant(ctx, "r", g.Identity); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "a second recorder", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.grants) == 2 && rec.grants[1].Identity != g.Identity
	})
	// Until the second Record call has returned, the recording is starting: not active.
	waitFor(t, 10*time.Second, "StopRecording of the second recorder", func() bool {
		err := srv.StopRecording(ctx, "r")
		if err != nil && kaiping.CodeOf(err) != signaling.CodeRecordingNotActive {
			t.Fatal(err)
		}
		return err == nil
	})
	if err := srv.StopRecording(ctx, "r"); kaiping.CodeOf(err) != signaling.CodeRecordingNotActive {
		t.Errorf("second stop: %v", err)
	}
	// CloseRoom stops a recording in progress.
	if err := srv.StartRecording(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CloseRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := rec.seats[2].stop(); err != nil {
		t.Errorf("recorder stopped by CloseRoom: %v", err)
	}

	plain := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, plain, "r")
	if err := plain.StartRecording(ctx, "r"); kaiping.CodeOf(err) != signaling.CodeRecordingUnavailable {
		t.Errorf("without a recorder: %v", err)
	}
	if err := plain.StartRecording(ctx, "nope"); kaiping.CodeOf(err) != signaling.CodeRoomNotFound {
		t.Errorf("unknown room: %v", err)
	}
}

// TestKeyframeThrottle: the first request goes at once; those within the interval fold
// into one deferred to its end, never dropped.
func TestKeyframeThrottle(t *testing.T) {
	var k keyframeLimiter
	t0 := time.Now()
	type answer struct {
		wait time.Duration
		act  bool
	}
	at := func(d time.Duration) answer {
		w, a := k.request(t0.Add(d))
		return answer{w, a}
	}
	steps := []struct {
		at   time.Duration
		want answer
	}{
		{0, answer{0, true}}, // sent
		{100 * time.Millisecond, answer{400 * time.Millisecond, true}}, // deferred to +500 ms
		{300 * time.Millisecond, answer{0, false}},                     // covered by the deferred one
	}
	for _, s := range steps {
		if got := at(s.at); got != s.want {
			t.Errorf("request at +%s = %+v, want %+v", s.at, got, s.want)
		}
	}
	k.fire(t0.Add(500 * time.Millisecond))
	if got := at(700 * time.Millisecond); got != (answer{300 * time.Millisecond, true}) {
		t.Errorf("request after the deferred one fired: %+v", got)
	}
	k.fire(t0.Add(time.Second))
	if got := at(1600 * time.Millisecond); got != (answer{0, true}) {
		t.Errorf("request a whole interval later: %+v", got)
	}
	if k.sent.Load() != 4 {
		t.Errorf("sent %d, want 4", k.sent.Load())
	}
}

func TestManySubscribersOneKeyframeRequest(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	ga := mustGrant(t, srv, "r", "host", publisher)
	startSeat(t, ga)
	waitFor(t, 10*time.Second, "the host's video", func() bool {
		ps, _ := srv.Participants(context.Background(), "r")
		return len(ps) == 1 && len(ps[0].Tracks) == 2
	})
	r, _ := srv.room("r")
	host, _ := r.get(ga.Identity)
	var video *publishedTrack
	host.mu.Lock()
	for _, tr := range host.published {
		if tr.kind == signaling.Video {
			video = tr
		}
	}
	host.mu.Unlock()
	time.Sleep(keyframeInterval) // past the request the host's own publishing made
	before := video.keyframe.sent.Load()
	start := time.Now()
	var subs []*running
	for i := 0; i < 6; i++ {
		subs = append(subs, startSeat(t, mustGrant(t, srv, "r", "bidder", subscriber)))
	}
	for _, s := range subs {
		waitFor(t, 20*time.Second, "subscribers to get a key frame", func() bool { return receivesFrom(s.Agent, ga.Identity, 5) })
	}
	sent := video.keyframe.sent.Load() - before
	allowed := uint64(time.Since(start)/keyframeInterval) + 1
	t.Logf("6 subscribers: %d keyframe requests in %s", sent, time.Since(start).Round(time.Millisecond))
	if sent == 0 || sent > allowed {
		t.Errorf("%d keyframe requests in %s, want between 1 and %d", sent, time.Since(start), allowed)
	}
}

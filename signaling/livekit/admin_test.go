package livekit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	seatlk "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/signaling"
)

// TestRemoveParticipant: a removed participant is disconnected, the others and Events hear of
// it, and it is no longer listed.
func TestRemoveParticipant(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	evs := events(t, c, room)
	ga := mustGrant(t, c, room, "专家甲", publisher)
	gb := mustGrant(t, c, room, "专家乙", publisher)
	a := startSeat(t, ga)
	b := startSeat(t, gb)
	waitFor(t, 20*time.Second, "a to receive b", func() bool { return receivesFrom(a.Agent, gb.Identity, 20) })
	ctx := context.Background()
	if err := c.RemoveParticipant(ctx, room, gb.Identity); err != nil {
		t.Fatal(err)
	}
	var ended *seatlk.EndedError
	if err := b.ended(t, 10*time.Second); !errors.As(err, &ended) || ended.Reason != "removed by server" {
		t.Fatalf("removed agent ended with %v", err)
	}
	waitFor(t, 10*time.Second, "a to see b leave", func() bool { _, there := a.Stats().Peers[gb.Identity]; return !there })
	ev := awaitEvent(t, evs, "b left", func(ev signaling.RoomEvent) bool { return ev.Type == signaling.EventLeft })
	if ev.Participant != gb.Identity || ev.Reason != "removed" {
		t.Errorf("left event %+v", ev)
	}
	ps, err := c.Participants(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(ps, gb.Identity); ok || len(ps) != 1 {
		t.Errorf("after removal, participants %+v", ps)
	}
	tests := []struct {
		name, room, identity, code string
	}{
		{"gone", room, gb.Identity, signaling.CodeParticipantNotFound},
		{"unknown room", "nope", gb.Identity, signaling.CodeRoomNotFound},
		{"bad identity", room, "a b", signaling.CodeIdentityInvalid},
		{"bad room", "房间", gb.Identity, signaling.CodeRoomInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.RemoveParticipant(ctx, tt.room, tt.identity); kaiping.CodeOf(err) != tt.code {
				t.Fatalf("RemoveParticipant error %v, want %s", err, tt.code)
			}
		})
	}
}

// TestMuteParticipant: a muted kind stops reaching the others and is listed muted; unmuting
// resumes it.
func TestMuteParticipant(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	ga := mustGrant(t, c, room, "专家甲", publisher)
	gb := mustGrant(t, c, room, "专家乙", subscriber)
	startSeat(t, ga)
	b := startSeat(t, gb)
	waitFor(t, 20*time.Second, "b to receive a", func() bool { return receivesFrom(b.Agent, ga.Identity, 20) })
	ctx := context.Background()
	kindFrom := func(kind signaling.TrackKind) uint64 {
		for _, tr := range b.Stats().From(ga.Identity) {
			if tr.Kind == kind {
				return tr.Packets
			}
		}
		return 0
	}
	mutedIn := func(kind signaling.TrackKind) bool {
		ps, err := c.Participants(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := find(ps, ga.Identity)
		for _, tr := range p.Tracks {
			if tr.Kind == kind {
				return tr.Muted
			}
		}
		t.Fatalf("no %s track in %+v", kind, p)
		return false
	}
	if err := c.MuteParticipant(ctx, room, ga.Identity, signaling.Video, true); err != nil {
		t.Fatal(err)
	}
	if !mutedIn(signaling.Video) || mutedIn(signaling.Audio) {
		t.Error("after muting video: video not listed muted, or audio is")
	}
	time.Sleep(500 * time.Millisecond) // packets in flight
	video, audio := kindFrom(signaling.Video), kindFrom(signaling.Audio)
	time.Sleep(time.Second)
	if got := kindFrom(signaling.Video); got != video {
		t.Errorf("muted video still forwarded: %d packets, then %d", video, got)
	}
	if got := kindFrom(signaling.Audio); got <= audio {
		t.Errorf("audio stopped too: %d packets, then %d", audio, got)
	}
	if err := c.MuteParticipant(ctx, room, ga.Identity, signaling.Video, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "video to resume", func() bool { return kindFrom(signaling.Video) > video+20 })
	if mutedIn(signaling.Video) {
		t.Error("video still listed muted")
	}
	tests := []struct {
		name, room, identity string
		kind                 signaling.TrackKind
		code                 string
	}{
		{"bad kind", room, ga.Identity, "screen", signaling.CodeTrackKindInvalid},
		{"unknown participant", room, "nobody", signaling.Video, signaling.CodeParticipantNotFound},
		{"unknown room", "nope", ga.Identity, signaling.Video, signaling.CodeRoomNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.MuteParticipant(ctx, tt.room, tt.identity, tt.kind, true); kaiping.CodeOf(err) != tt.code {
				t.Fatalf("MuteParticipant error %v, want %s", err, tt.code)
			}
		})
	}
}

// TestCloseRoom: closing disconnects everyone with room_closed, and the room is gone for
// every method.
func TestCloseRoom(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c)
	ctx := context.Background()
	// Creating it again is not an error.
	if err := c.CreateRoom(ctx, room, signaling.RoomOptions{MaxParticipants: 3}); err != nil {
		t.Fatal(err)
	}
	evs := events(t, c, room)
	g := mustGrant(t, c, room, "专家", publisher)
	a := startSeat(t, g)
	<-a.Joined()
	if err := c.CloseRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	var ended *seatlk.EndedError
	if err := a.ended(t, 10*time.Second); !errors.As(err, &ended) {
		t.Fatalf("agent in a closed room ended with %v", err)
	}
	ev := awaitEvent(t, evs, "left", func(ev signaling.RoomEvent) bool { return ev.Type == signaling.EventLeft })
	if ev.Reason != "room_closed" {
		t.Errorf("left event %+v", ev)
	}
	who := kaiping.Principal{ID: kaiping.NewID()}
	calls := map[string]func() error{
		"CloseRoom":         func() error { return c.CloseRoom(ctx, room) },
		"Participants":      func() error { _, err := c.Participants(ctx, room); return err },
		"Grant":             func() error { _, err := c.Grant(ctx, room, who, publisher); return err },
		"RemoveParticipant": func() error { return c.RemoveParticipant(ctx, room, g.Identity) },
		"StartRecording":    func() error { return c.StartRecording(ctx, room) },
	}
	for name, call := range calls {
		if err := call(); kaiping.CodeOf(err) != signaling.CodeRoomNotFound {
			t.Errorf("%s on a closed room: %v, want %s", name, err, signaling.CodeRoomNotFound)
		}
	}
	for name, call := range map[string]func() error{
		"CreateRoom": func() error { return c.CreateRoom(ctx, "a/b", signaling.RoomOptions{}) },
		"Events":     func() error { _, err := c.Events(ctx, "a b"); return err },
	} {
		if err := call(); kaiping.CodeOf(err) != signaling.CodeRoomInvalid {
			t.Errorf("%s with a bad room name: %v", name, err)
		}
	}
}

// TestRoomFull: RoomOptions.MaxParticipants bounds a room. The LiveKit client reports the
// refusal only as a failed signaling connection, without the reason.
func TestRoomFull(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	room := mustRoom(t, c) + "x"
	ctx := context.Background()
	if err := c.CreateRoom(ctx, room, signaling.RoomOptions{MaxParticipants: 1}); err != nil {
		t.Fatal(err)
	}
	a := startSeat(t, mustGrant(t, c, room, "甲", subscriber))
	<-a.Joined()
	g := mustGrant(t, c, room, "乙", subscriber)
	if err := seatlk.Run(ctx, seatlk.Config{URL: g.URL, Token: g.Token, Log: testLog()}); err == nil {
		t.Fatal("a second participant joined a room for one")
	}
	ps, err := c.Participants(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Errorf("participants of a room for one: %+v", ps)
	}
}

// seatRecorder records by joining as a LiveKit seat agent with the grant it is given: what
// the recorder package does, minus writing files.
type seatRecorder struct {
	mu     sync.Mutex
	grants []signaling.Grant
	agents []*running
	tb     testing.TB
}

func (r *seatRecorder) Record(_ context.Context, g signaling.Grant) (signaling.Recording, error) {
	a := startSeat(r.tb, g)
	r.mu.Lock()
	r.grants, r.agents = append(r.grants, g), append(r.agents, a)
	r.mu.Unlock()
	return a, nil
}

// Stop implements signaling.Recording.
func (r *running) Stop(context.Context) error { return r.stop() }

// Left implements signaling.Recording.
func (r *running) Left() <-chan struct{} { return r.left }

// TestRecording: the recorder joins with a hidden grant that subscribes to everyone, unseen;
// the recording stops on StopRecording and on CloseRoom.
func TestRecording(t *testing.T) {
	rec := &seatRecorder{tb: t}
	c := mustClient(t, kaiping.SystemClock{}, rec)
	room := mustRoom(t, c)
	ctx := context.Background()
	ga := mustGrant(t, c, room, "专家甲", publisher)
	a := startSeat(t, ga)
	if err := c.StartRecording(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := c.StartRecording(ctx, room); kaiping.CodeOf(err) != signaling.CodeRecordingActive {
		t.Errorf("second StartRecording: %v", err)
	}
	g, r := rec.grants[0], rec.agents[0]
	if g.Backend != Backend || !g.Permissions.Hidden || !g.Permissions.Subscribe.All || g.Permissions.PublishAudio || g.Permissions.PublishVideo {
		t.Errorf("recorder grant %+v", g)
	}
	waitFor(t, 20*time.Second, "the recorder to receive a", func() bool { return receivesFrom(r.Agent, ga.Identity, 20) })
	if _, seen := a.Stats().Peers[g.Identity]; seen {
		t.Error("the recorder is visible")
	}
	ps, err := c.Participants(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := find(ps, g.Identity); !ok || !p.Hidden || p.Name != signaling.RecorderName {
		t.Errorf("recorder listed as %+v", p)
	}
	if err := c.StopRecording(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := r.ended(t, 10*time.Second); err != nil {
		t.Errorf("recorder: %v", err)
	}
	if err := c.StopRecording(ctx, room); kaiping.CodeOf(err) != signaling.CodeRecordingNotActive {
		t.Errorf("StopRecording again: %v", err)
	}
	if err := c.StartRecording(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := rec.agents[1].ended(t, 10*time.Second); err != nil {
		t.Errorf("second recorder: %v", err)
	}
	t.Run("no recorder", func(t *testing.T) {
		c := mustClient(t, kaiping.SystemClock{})
		room := mustRoom(t, c)
		if err := c.StartRecording(ctx, room); kaiping.CodeOf(err) != signaling.CodeRecordingUnavailable {
			t.Errorf("StartRecording without a recorder: %v", err)
		}
	})
}

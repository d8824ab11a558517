package recorder

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// TestRecordEmbedded records two publishing seats through the embedded SFU while one of
// them drops off the network for a while and resumes: every track is in a file that pion's
// readers parse, the manifest names the participants, and the drop is a gap.
func TestRecordEmbedded(t *testing.T) {
	ctx := context.Background()
	clock := kaiping.NewManualClock(time.Now().Truncate(time.Second))
	r := mustSpoolRecorder(t, clock)
	srv := mustSFU(t, r, clock)
	if err := srv.CreateRoom(ctx, "hall", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	nb := cutNet(t)
	a := startSeat(t, srv, "hall", "主场专家")
	b := startSeat(t, srv, "hall", "副场专家", nb.Tune)
	waitFor(t, 20*time.Second, "media both ways", func() bool {
		return packetsFrom(a.Agent, b.grant.Identity) > 20 && packetsFrom(b.Agent, a.grant.Identity) > 20
	})
	if err := srv.StartRecording(ctx, "hall"); err != nil {
		t.Fatal(err)
	}
	ps, err := srv.Participants(ctx, "hall")
	if err != nil {
		t.Fatal(err)
	}
	var recorder string
	for _, p := range ps {
		if p.Name == signaling.RecorderName {
			recorder = p.Identity
			if !p.Hidden {
				t.Errorf("the recorder is not hidden: %+v", p)
			}
		}
	}
	if recorder == "" {
		t.Fatalf("no recorder among %+v", ps)
	}
	time.Sleep(2 * time.Second)

	start := outage(nb, clock)
	before := packetsFrom(a.Agent, b.grant.Identity)
	waitFor(t, 20*time.Second, "b's media again", func() bool { return packetsFrom(a.Agent, b.grant.Identity) > before+50 })
	time.Sleep(time.Second)
	if err := srv.StopRecording(ctx, "hall"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*running{a, b} {
		if _, seen := s.Stats().Peers[recorder]; seen {
			t.Errorf("a seat saw the recorder: %v", s.Stats().Peers)
		}
	}

	dir, m := spooledRecording(t, r, "hall")
	if m.EndReason != "stopped" || m.Backend != "embedded" || m.Identity != recorder {
		t.Errorf("manifest %+v", m)
	}
	names := map[string]string{}
	for _, p := range m.Participants {
		names[p.Identity] = p.Name
	}
	if names[a.grant.Identity] != "主场专家" || names[b.grant.Identity] != "副场专家" || len(names) != 2 {
		t.Errorf("participants %+v", m.Participants)
	}
	kinds := map[string]int{}
	for _, f := range m.Files {
		kinds[f.Participant+"/"+string(f.Kind)]++
		got := countFrames(t, filepath.Join(dir, f.Name))
		if got == 0 || uint64(got) != f.Frames || f.ParticipantName != names[f.Participant] || f.SHA256 == "" {
			t.Errorf("%s: %d frames in the file, manifest %+v", f.Name, got, f)
		}
		if st, err := os.Stat(filepath.Join(dir, f.Name)); err != nil || st.Size() != f.Size {
			t.Errorf("%s: size %v, manifest %d", f.Name, st, f.Size)
		}
	}
	for _, id := range []string{a.grant.Identity, b.grant.Identity} {
		if kinds[id+"/audio"] != 1 || kinds[id+"/video"] != 1 {
			t.Errorf("files per track %v, want one audio and one video of %s", kinds, id)
		}
	}
	dropped := map[string]bool{}
	for _, g := range m.Gaps {
		if g.Participant == b.grant.Identity && g.Reason == GapMediaInterrupted && !g.Start.After(start) && !g.End.Before(start.Add(30*time.Second)) {
			dropped[g.File] = true
		}
	}
	if len(dropped) != 2 {
		t.Errorf("b's drop is a gap in %d of its files, want 2: %+v", len(dropped), m.Gaps)
	}
}

// TestRecordingEndsWithTheSession: when the server ends the recorder's session (here the
// host removes it), the recording finishes by itself with that reason, and the room is
// recorded again by a new recording at once (a room is never left marked as recording with
// nobody recording it); StopRecording stops the new one, and the two manifests leave the
// time between them visible.
func TestRecordingEndsWithTheSession(t *testing.T) {
	ctx := context.Background()
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	srv := mustSFU(t, r, kaiping.SystemClock{})
	if err := srv.CreateRoom(ctx, "s", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	a := startSeat(t, srv, "s", "甲")
	waitFor(t, 20*time.Second, "a to join", func() bool { return !a.Stats().JoinedAt.IsZero() })
	if err := srv.StartRecording(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	recorderOf := func() string {
		ps, _ := srv.Participants(ctx, "s")
		for _, p := range ps {
			if p.Hidden {
				return p.Identity
			}
		}
		return ""
	}
	first := recorderOf()
	if first == "" {
		t.Fatal("no recorder in the room")
	}
	if err := srv.RemoveParticipant(ctx, "s", first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "a new recorder to join", func() bool { again := recorderOf(); return again != "" && again != first })
	// The new recorder is in the room a moment before its Record call returns; until then
	// the room's recording is still starting and reports not active.
	waitFor(t, 10*time.Second, "StopRecording of the new recording", func() bool {
		err := srv.StopRecording(ctx, "s")
		if err != nil && kaiping.CodeOf(err) != signaling.CodeRecordingNotActive {
			t.Fatalf("StopRecording of the new recording: %v", err)
		}
		return err == nil
	})
	var ms []Manifest
	waitFor(t, 20*time.Second, "both recordings' final manifests", func() bool {
		dirs, _ := filepath.Glob(filepath.Join(r.cfg.SpoolDir, "s", "*"))
		ms = ms[:0]
		for _, dir := range dirs {
			if m, _, err := ReadManifest(dir); err == nil && m.Final {
				ms = append(ms, m)
			}
		}
		return len(ms) == 2
	})
	slices.SortFunc(ms, func(x, y Manifest) int { return x.StartedAt.Compare(y.StartedAt) })
	if ms[0].EndReason != "removed" || ms[1].EndReason != "stopped" || ms[1].StartedAt.Before(ms[0].EndedAt) {
		t.Errorf("recordings: %s %s–%s, then %s %s–%s", ms[0].EndReason, ms[0].StartedAt, ms[0].EndedAt,
			ms[1].EndReason, ms[1].StartedAt, ms[1].EndedAt)
	}
	if err := srv.StopRecording(ctx, "s"); kaiping.CodeOf(err) != signaling.CodeRecordingNotActive {
		t.Errorf("StopRecording twice: %v", err)
	}
	if err := srv.StartRecording(ctx, "s"); err != nil {
		t.Errorf("a new recording: %v", err)
	}
}

// TestRecordRefused: grants the recorder cannot use are refused with their codes, and leave
// nothing in the spool.
func TestRecordRefused(t *testing.T) {
	ctx := context.Background()
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	srv := mustSFU(t, r, kaiping.SystemClock{})
	if err := srv.CreateRoom(ctx, "r", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	g, err := srv.Grant(ctx, "r", kaiping.Principal{ID: kaiping.NewID(), Name: signaling.RecorderName},
		signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	forged := g
	forged.Token = g.Token[:len(g.Token)-4] + "AAAA"
	closed := g
	if err := srv.CloseRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		grant signaling.Grant
		code  string
	}{
		{"unknown backend", signaling.Grant{Backend: "janus", Room: "r", URL: g.URL, Token: g.Token}, CodeBackendUnsupported},
		{"bad room name", signaling.Grant{Backend: "embedded", Room: "../x", URL: g.URL, Token: g.Token}, signaling.CodeRoomInvalid},
		{"forged token", forged, signaling.CodeGrantInvalid},
		{"closed room", closed, signaling.CodeRoomNotFound},
		{"nobody listening", signaling.Grant{Backend: "embedded", Room: "r", URL: "ws://127.0.0.1:1/media/ws", Token: g.Token}, CodeJoinFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Record(ctx, tt.grant)
			if kaiping.CodeOf(err) != tt.code {
				t.Errorf("err = %v, want code %s", err, tt.code)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(r.cfg.SpoolDir, "*", "*")); len(left) != 0 {
		t.Errorf("refused recordings left %v in the spool", left)
	}
}

// TestRecorderResumes: the recorder's own network drops for a while; it resumes its
// session, and the outage is a gap of the whole recording and of every track.
func TestRecorderResumes(t *testing.T) {
	ctx := context.Background()
	clock := kaiping.NewManualClock(time.Now().Truncate(time.Second))
	nr := cutNet(t)
	var through seat.Config // the recorder's sockets go through nr, as a seat's would
	nr.Tune(&through)
	r := mustSpoolRecorder(t, clock)
	WithJoiner(embeddedBackend, embeddedJoiner{loopback: true, log: testLog(), dial: through.Dial, udp: through.UDPConn})(r)
	srv := mustSFU(t, r, clock)
	if err := srv.CreateRoom(ctx, "drop", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	a := startSeat(t, srv, "drop", "甲")
	waitFor(t, 20*time.Second, "a to publish", func() bool { return a.Stats().Sent[signaling.Video] > 20 })
	if err := srv.StartRecording(ctx, "drop"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	start := outage(nr, clock)
	waitFor(t, 30*time.Second, "media to reach the recorder again", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, rec := range r.active {
			m := rec.manifest()
			return len(m.Files) == 2 && m.Files[0].LastPacketAt.After(start) && m.Files[1].LastPacketAt.After(start)
		}
		return false
	})
	time.Sleep(time.Second)
	if err := srv.StopRecording(ctx, "drop"); err != nil {
		t.Fatal(err)
	}
	dir, m := spooledRecording(t, r, "drop")
	if !hasGap(m, "", GapRecorderReconnecting) {
		t.Errorf("no gap of the whole recording: %+v", m.Gaps)
	}
	tracks := map[string]bool{}
	for _, g := range m.Gaps {
		if g.File != "" && g.Reason == GapRecorderReconnecting && !g.End.Before(start.Add(30*time.Second)) {
			tracks[g.File] = true
		}
	}
	if len(tracks) != 2 {
		t.Errorf("the outage is a gap in %d tracks, want 2: %+v", len(tracks), m.Gaps)
	}
	for _, f := range m.Files {
		if n := countFrames(t, filepath.Join(dir, f.Name)); f.LastPacketAt.Before(start.Add(30*time.Second)) || n == 0 {
			t.Errorf("%s: %d frames, last packet %s: media did not come back", f.Name, n, f.LastPacketAt)
		}
	}
}

// TestRecordingsLeaveNothing: after recordings start and stop, the recorder's goroutines
// are gone (the room's other participants go on).
func TestRecordingsLeaveNothing(t *testing.T) {
	ctx := context.Background()
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	srv := mustSFU(t, r, kaiping.SystemClock{})
	if err := srv.CreateRoom(ctx, "leak", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	a := startSeat(t, srv, "leak", "甲")
	waitFor(t, 20*time.Second, "a to publish", func() bool { return a.Stats().Sent[signaling.Video] > 20 })
	time.Sleep(time.Second)
	base := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		if err := srv.StartRecording(ctx, "leak"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if err := srv.StopRecording(ctx, "leak"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > base+3 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the recordings:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

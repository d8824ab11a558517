package recorder

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	seatlk "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/livekit"
)

// TestRecordLiveKit records two publishing seats in a room of a real livekit-server,
// through the LiveKit backend's StartRecording and StopRecording: the same recorder, the
// LiveKit joiner.
func TestRecordLiveKit(t *testing.T) {
	ctx := context.Background()
	lk, err := devenv.StartLiveKit(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lk.Stop)
	r := mustSpoolRecorder(t, kaiping.SystemClock{})
	m, err := livekit.New(livekit.Config{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret}, r, kaiping.SystemClock{}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if err := m.CreateRoom(ctx, "lk-hall", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	var seats []*seatlk.Agent
	var ids []string
	for _, name := range []string{"主场专家", "副场专家"} {
		g, err := m.Grant(ctx, "lk-hall", kaiping.Principal{ID: kaiping.NewID(), Name: name}, publisher)
		if err != nil {
			t.Fatal(err)
		}
		cfg := seatlk.ConfigFromGrant(g)
		cfg.FPS, cfg.VideoBitrate = 20, 200_000
		a := seatlk.New(cfg)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = a.Run(runCtx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		seats, ids = append(seats, a), append(ids, g.Identity)
	}
	waitFor(t, 30*time.Second, "media both ways", func() bool {
		return len(seats[0].Stats().From(ids[1])) == 2 && len(seats[1].Stats().From(ids[0])) == 2
	})
	if err := m.StartRecording(ctx, "lk-hall"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	var peers []map[string]string // what the seats see while the recorder is in the room
	for _, a := range seats {
		peers = append(peers, a.Stats().Peers)
	}
	if err := m.StopRecording(ctx, "lk-hall"); err != nil {
		t.Fatal(err)
	}
	dir, man := spooledRecording(t, r, "lk-hall")
	for i, p := range peers {
		if _, seen := p[man.Identity]; seen || len(p) != 1 {
			t.Errorf("seat %d saw %v, want only the other seat", i, p)
		}
	}
	if man.Backend != "livekit" || man.EndReason != "stopped" {
		t.Errorf("manifest %+v", man)
	}
	names := map[string]string{}
	for _, p := range man.Participants {
		names[p.Identity] = p.Name
	}
	if names[ids[0]] != "主场专家" || names[ids[1]] != "副场专家" {
		t.Errorf("participants %+v", man.Participants)
	}
	kinds := map[string]int{}
	for _, f := range man.Files {
		t.Logf("%s: %d packets, %d frames, %d bytes, %s to %s", f.Name, f.Packets, f.Frames, f.Size, f.StartedAt.Format(time.TimeOnly), f.EndedAt.Format(time.TimeOnly))
		kinds[f.Participant+"/"+string(f.Kind)]++
		if got := countFrames(t, filepath.Join(dir, f.Name)); got == 0 || uint64(got) != f.Frames {
			t.Errorf("%s: %d frames in the file, manifest %+v", f.Name, got, f)
		}
	}
	for _, id := range ids {
		if kinds[id+"/audio"] != 1 || kinds[id+"/video"] != 1 {
			t.Errorf("files per track %v, want one audio and one video of %s", kinds, id)
		}
	}
}

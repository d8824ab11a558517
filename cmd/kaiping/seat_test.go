package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	lkseat "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/signaling"
	lksignal "github.com/kaiping/kaiping/signaling/livekit"
)

// TestSeatJoinCommand: `kaiping seat join` joins a room of the server's SFU with a grant
// file, receives a publishing agent's audio and video, and prints what it received.
func TestSeatJoinCommand(t *testing.T) {
	w := mustBidWorld(t)
	ctx := context.Background()
	media := w.app.Media
	if err := media.CreateRoom(ctx, "kp-seat", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	pub, err := media.Grant(ctx, "kp-seat", kaiping.Principal{ID: kaiping.NewID(), Name: "主场"},
		signaling.Permissions{PublishAudio: true, PublishVideo: true})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := media.Grant(ctx, "kp-seat", kaiping.Principal{ID: kaiping.NewID(), Name: "副场"},
		signaling.Permissions{Subscribe: signaling.Subscription{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := seat.ConfigFromGrant(pub)
	cfg.Loopback = true
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = seat.Run(runCtx, cfg) }()

	grant := filepath.Join(w.dir, "grant.json")
	b, _ := json.Marshal(sub)
	os.WriteFile(grant, b, 0o600)
	out, err := run(t, "seat", "join", "--grant", grant, "--loopback", "--duration", "4s")
	if err != nil {
		t.Fatalf("seat join: %v\n%s", err, out)
	}
	var st seat.Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("output: %v\n%s", err, out)
	}
	got := st.From(pub.Identity)
	if len(got) != 2 || got[0].Packets == 0 || got[1].Packets == 0 {
		t.Errorf("received from the publisher: %+v", got)
	}
	bad := filepath.Join(w.dir, "bad.json")
	os.WriteFile(bad, []byte(`{"url":""}`), 0o600)
	if _, err := run(t, "seat", "join", "--grant", bad); err == nil {
		t.Error("a grant without url and token was accepted")
	}
}

// TestSeatJoinLiveKit: a grant the LiveKit backend issued makes `kaiping seat join` speak
// LiveKit's protocol (server-sdk-go's client): it receives a publishing LiveKit agent's
// audio and video from a real livekit-server. A grant of an unknown backend is refused.
func TestSeatJoinLiveKit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := devenv.MkdirTemp("kaiping-seat-lk-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := devenv.StartLiveKit(ctx, filepath.Join(dir, "livekit"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	media, err := lksignal.New(lksignal.Config{URL: srv.URL, APIKey: srv.APIKey, APISecret: srv.APISecret},
		nil, kaiping.SystemClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = media.Close() })
	if err := media.CreateRoom(ctx, "kp-seat-lk", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	pub, err := media.Grant(ctx, "kp-seat-lk", kaiping.Principal{ID: kaiping.NewID(), Name: "主场"},
		signaling.Permissions{PublishAudio: true, PublishVideo: true})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := media.Grant(ctx, "kp-seat-lk", kaiping.Principal{ID: kaiping.NewID(), Name: "副场"},
		signaling.Permissions{Subscribe: signaling.Subscription{All: true}})
	if err != nil || sub.Backend != "livekit" {
		t.Fatalf("grant: backend %q, %v", sub.Backend, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = lkseat.New(lkseat.ConfigFromGrant(pub)).Run(runCtx) }()

	grant := filepath.Join(dir, "grant.json")
	b, _ := json.Marshal(sub)
	os.WriteFile(grant, b, 0o600)
	out, err := run(t, "seat", "join", "--grant", grant, "--duration", "6s")
	if err != nil {
		t.Fatalf("seat join: %v\n%s", err, out)
	}
	var st lkseat.Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("output: %v\n%s", err, out)
	}
	if got := st.From(pub.Identity); len(got) != 2 || got[0].Packets == 0 || got[1].Packets == 0 {
		t.Errorf("received from the publisher: %+v", got)
	}

	sub.Backend = "janus"
	b, _ = json.Marshal(sub)
	os.WriteFile(grant, b, 0o600)
	if _, err := run(t, "seat", "join", "--grant", grant); err == nil || !strings.Contains(err.Error(), "janus") {
		t.Errorf("a grant of an unknown backend: %v", err)
	}
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
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

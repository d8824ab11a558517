package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// TestMediaWired: the app runs the embedded SFU on its configured UDP port and serves its
// signaling at /media/ws of the public URL; two seat agents exchange audio and video through
// it, and Shutdown says bye to them.
func TestMediaWired(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	if err := ta.Media.CreateRoom(ctx, "kp-test", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	all := signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}
	var agents []*seat.Agent
	var grants []signaling.Grant
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	for _, name := range []string{"主场", "副场"} {
		g, err := ta.Media.Grant(ctx, "kp-test", kaiping.Principal{ID: kaiping.NewID(), Name: name}, all)
		if err != nil {
			t.Fatal(err)
		}
		if g.URL != "ws://"+strings.TrimPrefix(ta.base, "http://")+"/media/ws" {
			t.Fatalf("grant URL %s, want the app's public URL", g.URL)
		}
		cfg := seat.ConfigFromGrant(g)
		cfg.Loopback = true
		ag := seat.New(cfg)
		go func() { _ = ag.Run(runCtx) }()
		agents, grants = append(agents, ag), append(grants, g)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i, ag := range agents {
		other := grants[1-i].Identity
		for {
			got := ag.Stats().From(other)
			if len(got) == 2 && got[0].Packets > 10 && got[1].Packets > 10 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent %d received %+v from %s", i, got, other)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ps, err := ta.Media.Participants(ctx, "kp-test")
	if err != nil || len(ps) != 2 {
		t.Errorf("participants %+v, %v", ps, err)
	}
}

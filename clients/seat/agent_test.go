package seat

import (
	"context"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// TestPublishFromFiles runs two agents through a real embedded SFU: one plays an IVF and an
// Ogg file, the other receives both tracks.
func TestPublishFromFiles(t *testing.T) {
	srv := mustSFU(t)
	ctx := context.Background()
	if err := srv.CreateRoom(ctx, "r", signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	grant := func(perms signaling.Permissions) signaling.Grant {
		g, err := srv.Grant(ctx, "r", kaiping.Principal{ID: kaiping.NewID(), Name: "seat"}, perms)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	pub := grant(signaling.Permissions{PublishAudio: true, PublishVideo: true})
	sub := grant(signaling.Permissions{Subscribe: signaling.Subscription{Only: []string{pub.Identity}}})

	pcfg := ConfigFromGrant(pub)
	pcfg.Loopback, pcfg.VideoFile, pcfg.AudioFile = true, writeTestIVF(t, 10), writeTestOgg(t, 10)
	scfg := ConfigFromGrant(sub)
	scfg.Loopback = true
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	publisher, receiver := New(pcfg), New(scfg)
	done := make(chan error, 2)
	go func() { done <- publisher.Run(runCtx) }()
	go func() { done <- receiver.Run(runCtx) }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		got := receiver.Stats().From(pub.Identity)
		if len(got) == 2 && got[0].Packets > 20 && got[1].Packets > 20 && got[1].Keyframes > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %+v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := publisher.Stats(); s.Sent[signaling.Video] == 0 || s.Sent[signaling.Audio] == 0 {
		t.Errorf("publisher sent %v", s.Sent)
	}
	stop()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
}

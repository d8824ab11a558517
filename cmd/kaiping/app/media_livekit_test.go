package app

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	lkseat "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/livekit"
)

// mustLiveKitApp starts the app with media.backend: livekit, against a real livekit-server
// configured as a deployment runs it (rooms created only through the API, webhooks posted to
// the app), stopped after the app.
func mustLiveKitApp(tb testing.TB) *testApp {
	tb.Helper()
	dir, err := devenv.MkdirTemp("kaiping-app-livekit-*")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return mustAppWith(tb, func(cfg *Config) {
		lk, err := devenv.StartLiveKit(ctx, filepath.Join(dir, "livekit"), devenv.LiveKitAsKaipingNeeds(cfg.PublicURL+LiveKitWebhookPath))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(lk.Stop) // after the app's shutdown, registered later
		secret := filepath.Join(dir, "livekit.secret")
		if err := os.WriteFile(secret, []byte(lk.APISecret+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
		cfg.Media.Backend = MediaLiveKit
		cfg.Media.LiveKit = LiveKitConfig{URL: lk.URL, APIKey: lk.APIKey, APISecretFile: secret}
	})
}

// TestLiveKitBackend: with media.backend: livekit the app's rooms live on the LiveKit server:
// grants name it, a hidden watcher receives the host's audio and video through it, the
// server's signed webhooks reach the app's event stream (a forged one is refused), and the
// recorder records the room, stored locked and ledgered like on the embedded SFU.
func TestLiveKitBackend(t *testing.T) {
	ta := mustLiveKitApp(t)
	if _, ok := ta.Media.(*livekit.Client); !ok {
		t.Fatalf("media backend %T, want the LiveKit client", ta.Media)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const room = "kp-lk-app"
	events, err := ta.Media.Events(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if err := ta.Media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ta.Media.StartRecording(ctx, room); err != nil {
		t.Fatal(err)
	}
	host, err := ta.Media.Grant(ctx, room, kaiping.Principal{ID: kaiping.NewID(), Name: "主持人"},
		signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := ta.Media.Grant(ctx, room, kaiping.Principal{ID: kaiping.NewID(), Name: "投标人"},
		signaling.Permissions{Hidden: true, Subscribe: signaling.Subscription{All: true}})
	if err != nil || watcher.Backend != "livekit" || !strings.HasPrefix(watcher.URL, "ws://127.0.0.1:") {
		t.Fatalf("watcher's grant: %+v, %v", watcher, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = lkseat.New(lkseat.ConfigFromGrant(host)).Run(runCtx) }()
	w := lkseat.New(lkseat.ConfigFromGrant(watcher))
	go func() { _ = w.Run(runCtx) }()

	joined := false
	for deadline := time.After(30 * time.Second); !joined; {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("event stream closed")
			}
			joined = e.Type == signaling.EventJoined && e.Participant == host.Identity
		case <-deadline:
			t.Fatal("no joined event for the host: the server's webhook did not reach the app")
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got := w.Stats().From(host.Identity)
		if len(got) == 2 && got[0].Packets > 50 && got[1].Packets > 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher received %+v from the host", got)
		}
	}

	req, _ := http.NewRequest(http.MethodPost, ta.base+LiveKitWebhookPath, strings.NewReader(`{"event":"room_finished"}`))
	req.Header.Set("Authorization", "forged")
	req.Header.Set("Content-Type", "application/webhook+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged webhook: %d, want 401", resp.StatusCode)
	}

	stop()
	if err := ta.Media.StopRecording(ctx, room); err != nil {
		t.Fatal(err)
	}
	sr := ta.mustStoredRecording(t, room)
	if got := sr.files(); got["主持人/audio"] != 1 || got["主持人/video"] != 1 || len(got) != 2 {
		t.Errorf("recorded files %v, want the host's audio and video", got)
	}
}

package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	lkseat "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/signaling"
)

// TestSessionOnLiveKit runs a committee's room on the LiveKit backend: grants taken through the
// session's routes name the LiveKit server, two confirmed members publish from their seats, the
// host hears and sees both, the seats' presence reaches the session through LiveKit's webhooks,
// and voiding the session closes the room with its recording stored.
func TestSessionOnLiveKit(t *testing.T) {
	w := mustSessionWorldOn(t, mustEvalWorldOn(t, mustLiveKitApp(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// LiveKit checks a token's times against its own (real) clock: the world's manual clock
	// moved past the tender's deadline; bring it back to the wall clock before any grant.
	w.clock.Set(time.Now())
	base := "/api/v1/sessions/" + string(w.sess.ID)
	if err := w.host.Do(ctx, http.MethodPost, base+"/checkin", nil, nil); err != nil {
		t.Fatalf("check-in: %v", err)
	}
	codes := []string{"ZZ-01", "LY-01"}
	seats := map[string]string{} // identity in the room → code
	for _, code := range codes {
		w.mustReady(t, code)
		var g evaluation.SessionMediaGrant
		if err := w.memberClient(t, code).Do(ctx, http.MethodPost, "/api/v1/expert/sessions/"+string(w.sess.ID)+"/media", nil, &g); err != nil {
			t.Fatalf("%s's grant: %v", code, err)
		}
		if g.Grant.Backend != "livekit" || !g.Grant.Permissions.PublishVideo {
			t.Fatalf("%s's grant: %+v", code, g.Grant)
		}
		seats[g.Grant.Identity] = code
		go func() { _ = lkseat.New(lkseat.ConfigFromGrant(g.Grant)).Run(ctx) }()
	}
	var hg evaluation.SessionMediaGrant
	if err := w.host.Do(ctx, http.MethodPost, base+"/media", nil, &hg); err != nil {
		t.Fatalf("host's grant: %v", err)
	}
	host := lkseat.New(lkseat.ConfigFromGrant(hg.Grant))
	go func() { _ = host.Run(ctx) }()

	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		heard := 0
		for identity := range seats {
			audio, video := false, false
			for _, tr := range host.Stats().From(identity) {
				audio = audio || tr.Kind == signaling.Audio && tr.Packets > 20
				video = video || tr.Kind == signaling.Video && tr.Packets > 20
			}
			if audio && video {
				heard++
			}
		}
		online := 0
		for _, m := range w.mustSession(t).Members {
			if m.Presence != nil && m.Presence.State == evaluation.SeatOnline {
				online++
			}
		}
		if heard == len(seats) && online >= len(seats) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the host hears and sees %d of %d seats; %d seats online in the session", heard, len(seats), online)
		}
	}

	if err := w.host.Do(ctx, http.MethodPost, base+"/void", evaluation.ReasonRequest{Reason: "测试结束"}, nil); err != nil {
		t.Fatalf("void: %v", err)
	}
	room := evaluation.SessionRoom(w.sess.ID, w.sess.Groups[0].ID)
	sr := w.mustStoredRecording(t, room)
	if got := sr.files(); len(got) < 4 {
		t.Errorf("recorded files %v, want both seats' audio and video", got)
	}
}

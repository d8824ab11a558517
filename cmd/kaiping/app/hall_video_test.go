package app

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/opening"
)

// frameVideo is what a hall page's embedded room (#video iframe) shows of its first peer.
type frameVideo struct {
	Frames   int    `json:"frames"` // the video element's getVideoPlaybackQuality().totalVideoFrames
	Width    int    `json:"width"`  // its videoWidth
	Identity string `json:"identity"`
	Role     string `json:"role"` // the route's role the frame was made for
}

const frameJS = `document.querySelector("#video iframe")`

// frameVideo reads the video element of the first peer tile in the page's embedded room.
func (p *page) frameVideo() frameVideo {
	p.tb.Helper()
	var v frameVideo
	p.eval(`(() => {
		const f = `+frameJS+`;
		const v = f && f.contentDocument && f.contentDocument.querySelector(".tile.peer video");
		if (!v) return {frames: 0, width: 0, identity: "", role: f ? f.dataset.role : ""};
		return {frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth,
			identity: v.closest(".tile").dataset.identity, role: f.dataset.role};
	})()`, &v)
	return v
}

// waitFrameVideo waits until the embedded room plays identity's video and its frames
// advance by more than 10 while the test watches.
func (p *page) waitFrameVideo(identity string) frameVideo {
	p.tb.Helper()
	first := waitFor(p.tb, "the embedded room to show "+identity+"'s video", p.frameVideo, func(v frameVideo) bool {
		return v.Identity == identity && v.Width > 0 && v.Frames > 0
	})
	return waitFor(p.tb, "the embedded room's video frames to advance", p.frameVideo, func(v frameVideo) bool {
		return v.Identity == identity && v.Frames > first.Frames+10
	})
}

// frameStats is the embedded room's window.kaipingRoom.stats(); zero before the frame and
// its script are there.
func (p *page) frameStats() roomStats {
	p.tb.Helper()
	var s roomStats
	p.run(chromedp.Evaluate(`(async () => {
		const f = `+frameJS+`;
		const room = f && f.contentWindow && f.contentWindow.kaipingRoom;
		return room ? room.stats() : {phase: ""};
	})()`, &s, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams {
		return ep.WithAwaitPromise(true)
	}))
	return s
}

// frameSound is the embedded room's first peer audio and its 点击开启声音 control, with the
// control's centre in the page's coordinates.
type frameSound struct {
	Paused, Shown bool
	X, Y          float64
}

// mustFrameSound checks the autoplay control: shown exactly while the browser refuses to
// play the host's sound, and a click on it (a real one: a user gesture) plays it.
func (p *page) mustFrameSound() {
	p.tb.Helper()
	read := func() frameSound {
		var s frameSound
		p.eval(`(() => {
			const f = `+frameJS+`, d = f.contentDocument;
			const a = d.querySelector(".tile.peer audio"), b = d.querySelector("#sound");
			const fr = f.getBoundingClientRect(), br = b.getBoundingClientRect();
			return {Paused: !a || !a.srcObject || a.paused, Shown: !b.hidden && br.width > 0,
				X: fr.left + br.left + br.width / 2, Y: fr.top + br.top + br.height / 2};
		})()`, &s)
		return s
	}
	s := waitFor(p.tb, "the host's sound to play or 点击开启声音 to show", read, func(s frameSound) bool { return !s.Paused || s.Shown })
	if !s.Paused {
		if s.Shown {
			p.tb.Error("点击开启声音 is shown while the sound plays")
		}
		return
	}
	p.tb.Log("the browser refused to play the host's sound until a click; clicking 点击开启声音")
	p.run(chromedp.MouseClickXY(s.X, s.Y))
	waitFor(p.tb, "a click on 点击开启声音 to play the sound", read, func(s frameSound) bool { return !s.Paused && !s.Shown })
}

// waitEnabled waits until the button matching sel can be clicked.
func (p *page) waitEnabled(sel string) {
	p.tb.Helper()
	waitFor(p.tb, sel+" to be enabled", func() bool {
		var ok bool
		p.eval(`(() => { const b = document.querySelector(`+jsString(sel)+`); return !!b && !b.disabled && !b.hidden; })()`, &ok)
		return ok
	}, func(ok bool) bool { return ok })
}

// TestHallVideo drives the hall's live video (开标直播) in headless Chromium against the app:
// before check-in the bidder's hall says when it starts; once the hall is live the page,
// never reloaded, fetches a grant and its embedded room decodes the host's video (a Go seat
// agent); the host console streams Chromium's fake camera to a bidder's seat agent and
// stops; a grant that expired before it was used is fetched again; the route's refusal
// shows its message and code; when the hall closes the video goes with the room.
func TestHallVideo(t *testing.T) {
	w := mustMediaWorld(t)
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	br := mustBrowser(t)
	query := "?tender=" + string(w.tender.ID) + "&section=BD1"
	w.sealNow(t)
	hostID := string(w.hostID(t))

	bidder := br.open(t, web.LoginLink(w.ta.base, "hall/bidder.html"+query, a.c.Token))
	bidder.eval(`window.kaipingStayed = true`, nil)
	refused := br.open(t, web.LoginLink(w.ta.base, "hall/bidder.html"+query, c.c.Token))

	// Before check-in. (Steps, not subtests: they share pages opened on t.)
	{
		bidder.waitText("#head", "已截标封存")
		bidder.waitText("#video", "开标直播将在签到开始后开启")
		if n := bidder.count("#video iframe"); n != 0 {
			t.Errorf("%d frames in the video before check-in", n)
		}
		if _, code := w.hallRoomParticipants(t); code == "" {
			t.Error("the broadcast room exists before check-in")
		}
	}

	// c's tab loses its session (a forged token) while it follows the hall: the route's
	// refusal at check-in must show on the page.
	refused.waitText("#live", "实时连接正常")
	refused.eval(`sessionStorage.setItem("kaiping.session", sessionStorage.getItem("kaiping.session").slice(0, -4) + "AAAA"), true`, new(bool))

	w.mustMove(t, opening.HallCheckingIn, 0)

	// Bidder watches the host's seat agent.
	{
		host := mustGrantSeat(t, w.mustMediaGrant(t, w.host, opening.MediaHost), "开标主持人")
		v := bidder.waitFrameVideo(hostID)
		if v.Role != "bidder" || v.Width != 320 {
			t.Errorf("the bidder's frame (role %q) shows video %d pixels wide; want role bidder, 320", v.Role, v.Width)
		}
		bidder.mustFrameSound()
		st := bidder.frameStats()
		if st.Phase != "joined" || st.Local.Audio || st.Local.Video || len(st.Sent) != 0 || len(st.Errors) != 0 {
			t.Errorf("the bidder's room reports %+v; want joined, publishing nothing, no errors", st)
		}
		if st.Identity != string(a.id) {
			t.Errorf("the bidder joined as %s, want its principal %s", st.Identity, a.id)
		}
		if _, seen := host.Stats().Peers[st.Identity]; seen {
			t.Error("the host sees the bidder: bidders watch unseen")
		}
		var kept string
		bidder.eval(`sessionStorage.getItem("kaiping.room.grant") || ""`, &kept)
		if kept != "" {
			t.Error("the embedded room kept its grant in the tab's sessionStorage")
		}
		// The host's agent leaves: its tile goes, the bidder stays in the room for the next
		// stream.
		host.leave()
		waitFor(t, "the host's tile to go", bidder.frameVideo, func(v frameVideo) bool { return v.Identity == "" })
		if st := bidder.frameStats(); st.Phase != "joined" {
			t.Errorf("the bidder's room is %q after the host left, want still joined", st.Phase)
		}
	}

	// The route's refusal shows its code.
	{
		refused.waitText("#video", "登录凭证无效", "auth.token_invalid")
		refused.waitText("#video .video-retry", "重新连接直播")
		if n := refused.count("#video iframe"); n != 0 {
			t.Errorf("%d frames without a grant", n)
		}
	}

	// Host console streams the camera.
	{
		console := br.open(t, web.LoginLink(w.ta.base, "hall/host.html"+query, w.host.Token))
		console.waitText("#head", "签到中")
		console.waitText("#media-start", "开始直播")
		console.waitEnabled("#media-start")
		if n := console.count("#video iframe"); n != 0 {
			t.Errorf("%d frames before 开始直播: the camera must wait for the host's click", n)
		}
		// b watches before the host starts, as bidders do.
		watcher := mustGrantSeat(t, w.mustMediaGrant(t, b.c, opening.MediaBidder), b.name)
		select {
		case <-watcher.Joined():
		case <-time.After(mediaWait):
			t.Fatal("b's seat agent did not join the broadcast room")
		}
		console.click("#media-start")
		st := waitFor(t, "the host's room to publish the camera", console.frameStats, func(s roomStats) bool {
			return s.Phase == "joined" && s.Local.Video && s.Local.Audio && len(s.Sent) == 2
		})
		if st.Identity != hostID {
			t.Errorf("the console joined as %s, want the host %s", st.Identity, hostID)
		}
		console.waitText("#media-hint", "直播中")
		console.waitText("#media-stop", "结束直播")

		// Packets, not key frames: the SFU drops a keyframe request made within 500 ms of
		// another, and a seat agent, unlike a browser's decoder, never asks again, so an
		// agent bound just after the first key frame may see none (1 run in 10). The
		// bidder's page below decodes the same camera.
		got := waitAgent(t, watcher.Agent, "receive the console's camera and microphone", func(s seat.Stats) bool {
			audio, video, _ := received(s, hostID)
			return audio > 10 && video > 10
		})
		_, _, keyframes := received(got, hostID)
		t.Logf("b's seat agent: %d key frames of the console's camera so far", keyframes)
		// The bidder's page, open since before check-in, plays the camera too.
		bidder.waitFrameVideo(hostID)

		console.click("#media-stop")
		console.waitCount("#video iframe", 0)
		console.waitText("#media-start", "开始直播")
		waitAgent(t, watcher.Agent, "see the host leave", func(s seat.Stats) bool {
			_, ok := s.Peers[hostID]
			return !ok
		})
		ps, _ := w.hallRoomParticipants(t)
		for _, p := range ps {
			if p.Identity == hostID {
				t.Errorf("the host is still in the room after 结束直播: %+v", ps)
			}
		}
	}

	// An expired grant is fetched again.
	{
		// The first grant is held back until it has expired: the page's join is refused
		// with signaling.grant_expired, and it asks for another.
		p := br.open(t, "about:blank")
		var mu sync.Mutex
		grants := 0
		chromedp.ListenTarget(p.ctx, func(ev any) {
			e, ok := ev.(*fetch.EventRequestPaused)
			if !ok {
				return
			}
			go func() {
				mu.Lock()
				grants++
				if grants == 1 {
					w.ta.clock.Advance(6 * time.Minute)
				}
				mu.Unlock()
				ctx := cdp.WithExecutor(p.ctx, chromedp.FromContext(p.ctx).Target)
				_ = fetch.ContinueRequest(e.RequestID).Do(ctx)
			}()
		})
		p.run(fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: "*/hall/media", RequestStage: fetch.RequestStageResponse}}))
		p.run(chromedp.Navigate(web.LoginLink(w.ta.base, "hall/bidder.html"+query, b.c.Token)))
		st := waitFor(t, "the page to join with a second grant", p.frameStats, func(s roomStats) bool { return s.Phase == "joined" })
		mu.Lock()
		n := grants
		mu.Unlock()
		if n != 2 || st.Identity != string(b.id) {
			t.Errorf("the page asked for %d grants and joined as %s; want 2, as %s", n, st.Identity, b.id)
		}
		var stale bool
		p.eval(`document.querySelector("#video").innerText.includes("grant_expired")`, &stale)
		if stale {
			t.Error("the page shows the expired grant's error after joining with a new one")
		}
	}

	// The video closes with the hall.
	{
		w.mustPublishAll(t)
		bidder.waitText("#head", "已公布开标记录")
		if n := bidder.count("#video iframe"); n != 1 {
			t.Errorf("%d frames while the record is out, want the room still on", n)
		}
		w.mustCloseRound(t)
		bidder.waitText("#head", "开标结束")
		bidder.waitText("#video", "开标已结束，直播已关闭")
		bidder.waitCount("#video iframe", 0)
		var stayed bool
		bidder.eval(`window.kaipingStayed === true`, &stayed)
		if !stayed {
			t.Error("the bidder's page was reloaded: it must follow the hall live")
		}
		if text := bidder.text("main"); strings.Contains(text, "signaling.") {
			t.Errorf("the closed hall shows a media error:\n%s", text)
		}
	}
}

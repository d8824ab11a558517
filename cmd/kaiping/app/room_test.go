package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// mediaWait bounds each wait for media to flow; Chromium and the SFU share two cores with
// the race detector.
const mediaWait = 30 * time.Second

// roomStats is what the room page's window.kaipingRoom.stats() reports.
type roomStats struct {
	Phase         string   `json:"phase"`
	Identity      string   `json:"identity"`
	Resumes       int      `json:"resumes"`
	Glares        int      `json:"glares"`
	Connection    string   `json:"connection"`
	JoinClickedMS *float64 `json:"joinClickedMs"`
	FirstFrameMS  *float64 `json:"firstFrameMs"`
	Local         struct {
		Audio        bool `json:"audio"`
		Video        bool `json:"video"`
		VideoEnabled bool `json:"videoEnabled"`
	} `json:"local"`
	Errors []struct{ Code, Message string } `json:"errors"`
	Peers  []struct {
		Identity, Name, State string
	} `json:"peers"`
	Tracks []struct {
		Participant     string `json:"participant"`
		Kind            string `json:"kind"`
		PacketsReceived int    `json:"packetsReceived"`
		FramesDecoded   int    `json:"framesDecoded"`
		FrameWidth      int    `json:"frameWidth"`
	} `json:"tracks"`
	Sent []struct {
		Kind        string `json:"kind"`
		PacketsSent int    `json:"packetsSent"`
	} `json:"sent"`
}

// decoded is the frames decoded of participant's video (packets received for audio).
func (s roomStats) decoded(participant, kind string) int {
	n := 0
	for _, t := range s.Tracks {
		if t.Participant == participant && t.Kind == kind {
			n += t.FramesDecoded
			if kind == "audio" {
				n += t.PacketsReceived
			}
		}
	}
	return n
}

// roomLink is the address of the room page for g: the grant travels in the fragment.
func roomLink(base string, g signaling.Grant) string {
	b, err := json.Marshal(g)
	if err != nil {
		panic(err)
	}
	return base + "/room/room.html#grant=" + base64.RawURLEncoding.EncodeToString(b)
}

// gumCounter counts the page's calls of getUserMedia (window.gumCalls); it runs before the
// page's own scripts.
const gumCounter = `(() => {
	window.gumCalls = 0;
	const md = navigator.mediaDevices;
	if (!md) return;
	const orig = md.getUserMedia.bind(md);
	md.getUserMedia = (c) => { window.gumCalls++; return orig(c); };
})()`

// openRoom opens link in a new tab of b with getUserMedia counted.
func openRoom(t *testing.T, b *browser, link string) *page {
	t.Helper()
	p := b.open(t, "about:blank")
	p.run(chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := cdppage.AddScriptToEvaluateOnNewDocument(gumCounter).Do(ctx)
		return err
	}), chromedp.Navigate(link), chromedp.WaitReady("#join", chromedp.ByQuery))
	return p
}

func (p *page) roomStats() roomStats {
	p.tb.Helper()
	var s roomStats
	p.run(chromedp.Evaluate(`window.kaipingRoom.stats()`, &s, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams {
		return ep.WithAwaitPromise(true)
	}))
	return s
}

// waitRoom polls the page's statistics until ok holds.
func (p *page) waitRoom(what string, ok func(roomStats) bool) roomStats {
	p.tb.Helper()
	return waitFor(p.tb, "the page to "+what, p.roomStats, ok)
}

// waitFor polls get until ok holds, failing the test after mediaWait.
func waitFor[T any](tb testing.TB, what string, get func() T, ok func(T) bool) T {
	tb.Helper()
	deadline := time.Now().Add(mediaWait)
	for {
		v := get()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s; it reports %+v", mediaWait, what, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *page) gumCalls() int {
	p.tb.Helper()
	var n int
	p.eval(`window.gumCalls`, &n)
	return n
}

// waitAgent polls the agent's statistics until ok holds.
func waitAgent(tb testing.TB, ag *seat.Agent, what string, ok func(seat.Stats) bool) seat.Stats {
	tb.Helper()
	return waitFor(tb, "the seat agent to "+what, ag.Stats, ok)
}

// received reports the agent's packets and key frames from participant, per kind.
func received(s seat.Stats, participant string) (audio, video, keyframes uint64) {
	for _, t := range s.From(participant) {
		switch t.Kind {
		case signaling.Audio:
			audio += t.Packets
		case signaling.Video:
			video += t.Packets
			keyframes += t.Keyframes
		}
	}
	return audio, video, keyframes
}

func mustRoomGrant(tb testing.TB, ta *testApp, room, name string, perms signaling.Permissions) signaling.Grant {
	tb.Helper()
	g, err := ta.Media.Grant(context.Background(), room, kaiping.Principal{ID: kaiping.NewID(), Name: name}, perms)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// mustRoomAgent runs a seat agent publishing synthetic VP8 and Opus in room until the test
// ends.
func mustRoomAgent(tb testing.TB, ta *testApp, room, name string) (*seat.Agent, signaling.Grant) {
	tb.Helper()
	g := mustRoomGrant(tb, ta, room, name, allMedia)
	cfg := seat.ConfigFromGrant(g)
	cfg.Loopback = true
	ag := seat.New(cfg)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	tb.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			tb.Errorf("seat agent: %v", err)
		}
	})
	select {
	case <-ag.Joined():
	case err := <-done:
		tb.Fatalf("seat agent did not join: %v", err)
	case <-time.After(mediaWait):
		tb.Fatal("seat agent did not join")
	}
	return ag, g
}

var allMedia = signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}

// roomEvents records the media plane's events of a room.
type roomEvents struct {
	mu  sync.Mutex
	evs []signaling.RoomEvent
}

func mustRoomEvents(tb testing.TB, ta *testApp, room string) *roomEvents {
	tb.Helper()
	ctx, stop := context.WithCancel(context.Background())
	ch, err := ta.Media.Events(ctx, room)
	if err != nil {
		stop()
		tb.Fatal(err)
	}
	r := &roomEvents{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			r.mu.Lock()
			r.evs = append(r.evs, ev)
			r.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { stop(); <-done })
	return r
}

// left lists the reasons identity was seen leaving.
func (r *roomEvents) left(identity string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.evs {
		if ev.Type == signaling.EventLeft && ev.Participant == identity {
			out = append(out, ev.Reason)
		}
	}
	return out
}

// TestRoomPage joins the room page in headless Chromium (fake camera and microphone) to the
// app's embedded SFU beside a seat agent publishing synthetic VP8 and Opus: the browser
// decodes the agent's video, the agent receives the browser's, a dropped socket resumes,
// leaving is seen by the agent, and refused grants show their Chinese message and code.
func TestRoomPage(t *testing.T) {
	ta := mustApp(t)
	b := mustBrowser(t)
	ctx := context.Background()
	const room = "kp-room-page"
	if err := ta.Media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
		t.Fatal(err)
	}
	events := mustRoomEvents(t, ta, room)
	agent, agentGrant := mustRoomAgent(t, ta, room, "郑州副场 A01 工位")
	agentID := agentGrant.Identity

	t.Run("publish and subscribe", func(t *testing.T) {
		g := mustRoomGrant(t, ta, room, "开封主场主持人", allMedia)
		p := openRoom(t, b, roomLink(ta.base, g))
		var href, kept string
		p.eval(`location.href`, &href)
		p.eval(`sessionStorage.getItem("kaiping.room.grant") || ""`, &kept)
		if strings.Contains(href, "grant") || kept == "" {
			t.Errorf("the grant stays in the address bar (%s) or is not kept in the tab (%q)", href, kept)
		}
		p.waitText("#grant-info", room, "发布声音", "发布画面")
		p.waitText("#phase", "未加入")
		p.click("#join")

		st := p.waitRoom("decode more than 10 frames of the agent's video", func(s roomStats) bool {
			return s.decoded(agentID, "video") > 10 && s.decoded(agentID, "audio") > 0
		})
		if st.Phase != "joined" || st.Connection != "connected" || st.Identity != g.Identity || st.Glares != 0 || len(st.Errors) != 0 {
			t.Errorf("page reports phase %q, connection %q, identity %q, %d glares, errors %+v", st.Phase, st.Connection, st.Identity, st.Glares, st.Errors)
		}
		for _, tr := range st.Tracks {
			if tr.Kind == "video" && tr.FrameWidth != 320 {
				t.Errorf("decoded video is %d pixels wide, the agent sends 320", tr.FrameWidth)
			}
		}
		s := waitAgent(t, agent, "receive the browser's audio and a video key frame", func(s seat.Stats) bool {
			a, v, k := received(s, g.Identity)
			return a > 10 && v > 10 && k > 0
		})
		if s.Peers[g.Identity] != "开封主场主持人" {
			t.Errorf("the agent knows the browser as %q", s.Peers[g.Identity])
		}
		if n := p.gumCalls(); n != 1 {
			t.Errorf("getUserMedia called %d times, want once", n)
		}
		if !st.Local.Audio || !st.Local.Video || len(st.Sent) != 2 {
			t.Errorf("local media %+v, sending %+v; want camera and microphone published", st.Local, st.Sent)
		}
		tile := `.tile[data-identity="` + agentID + `"]`
		p.waitText(tile, "郑州副场 A01 工位", "音频正常", "视频正常", "已连接")
		p.waitText("#phase", "已加入")
		p.waitText("#connection", "媒体已连接")

		// The camera button disables the local track, and enables it again.
		p.click("#mute-cam")
		p.waitText("#mute-cam", "打开摄像头")
		if st := p.roomStats(); st.Local.VideoEnabled {
			t.Error("camera still enabled after 关闭摄像头")
		}
		p.click("#mute-cam")
		p.waitText("#mute-cam", "关闭摄像头")

		// A dropped socket resumes without a new grant; media goes on.
		frames := p.roomStats().decoded(agentID, "video")
		_, sent, _ := received(agent.Stats(), g.Identity)
		p.eval(`window.kaipingRoom.dropSocket(), true`, new(bool))
		p.waitRoom("resume after the socket dropped", func(s roomStats) bool {
			return s.Resumes == 1 && s.Phase == "joined" && s.decoded(agentID, "video") > frames+25
		})
		waitAgent(t, agent, "receive the browser's video after the resume", func(s seat.Stats) bool {
			_, v, _ := received(s, g.Identity)
			return v > sent+25
		})
		p.waitText("#messages", "已重新连接")
		if reasons := events.left(g.Identity); len(reasons) > 0 {
			t.Errorf("the browser was seen leaving (%v) on a resumable drop", reasons)
		}
		if _, ok := agent.Stats().Peers[g.Identity]; !ok {
			t.Error("the agent lost the browser during the resume")
		}

		p.click("#leave")
		p.waitText("#messages", "您已离开房间")
		p.waitText("#phase", "已离开")
		waitAgent(t, agent, "see the browser leave", func(s seat.Stats) bool {
			_, ok := s.Peers[g.Identity]
			return !ok
		})
		if reasons := events.left(g.Identity); !slices.Equal(reasons, []string{"left"}) {
			t.Errorf("left events of the browser %v, want [left]", reasons)
		}
		if st := p.roomStats(); st.Phase != "left" || st.Local.Video || st.Connection != "" {
			t.Errorf("after leaving the page reports %+v; want camera stopped and no connection", st)
		}
		ps, err := ta.Media.Participants(ctx, room)
		if err != nil || len(ps) != 1 || ps[0].Identity != agentID {
			t.Errorf("participants after leave %+v, %v; want only the agent", ps, err)
		}
	})

	t.Run("subscribe only", func(t *testing.T) {
		g := mustRoomGrant(t, ta, room, "监督人员", signaling.Permissions{Subscribe: signaling.Subscription{All: true}})
		p := openRoom(t, b, roomLink(ta.base, g))
		p.waitText("#grant-info", "不会使用摄像头和麦克风")
		p.click("#join")
		st := p.waitRoom("decode the agent's video without publishing", func(s roomStats) bool {
			return s.decoded(agentID, "video") > 10
		})
		if n := p.gumCalls(); n != 0 {
			t.Errorf("a subscribe-only grant called getUserMedia %d times", n)
		}
		if st.Local.Audio || st.Local.Video || len(st.Sent) != 0 {
			t.Errorf("a subscribe-only page publishes: %+v %+v", st.Local, st.Sent)
		}
		if n := p.count("#mute-cam:not([hidden]), #mute-mic:not([hidden])"); n != 0 {
			t.Errorf("%d mute buttons shown without local media", n)
		}
		p.waitText("#local-state", "仅观看")
		waitAgent(t, agent, "see the watcher join", func(s seat.Stats) bool { return s.Peers[g.Identity] == "监督人员" })
		if got := agent.Stats().From(g.Identity); len(got) != 0 {
			t.Errorf("the agent receives %+v from a subscribe-only page", got)
		}
		p.click("#leave")
		waitAgent(t, agent, "see the watcher leave", func(s seat.Stats) bool {
			_, ok := s.Peers[g.Identity]
			return !ok
		})
	})

	t.Run("first frame", func(t *testing.T) {
		const runs = 5
		var load, click []float64
		for i := range runs {
			g := mustRoomGrant(t, ta, room, fmt.Sprintf("计时参会人 %d", i+1), allMedia)
			p := openRoom(t, b, roomLink(ta.base, g))
			p.click("#join")
			st := p.waitRoom("show a first frame", func(s roomStats) bool {
				return s.FirstFrameMS != nil && s.decoded(agentID, "video") > 0
			})
			load = append(load, *st.FirstFrameMS)
			click = append(click, *st.FirstFrameMS-*st.JoinClickedMS)
			p.click("#leave")
			p.waitText("#phase", "已离开")
		}
		slices.Sort(load)
		slices.Sort(click)
		t.Logf("page load → first decoded frame over %d runs (ms): %.0f; median %.0f", runs, load, load[runs/2])
		t.Logf("join click → first decoded frame (ms): %.0f; median %.0f", click, click[runs/2])
	})

	t.Run("refused", func(t *testing.T) {
		const closed = "kp-room-closed"
		if err := ta.Media.CreateRoom(ctx, closed, signaling.RoomOptions{}); err != nil {
			t.Fatal(err)
		}
		closedGrant := mustRoomGrant(t, ta, closed, "迟到的专家", allMedia)
		if err := ta.Media.CloseRoom(ctx, closed); err != nil {
			t.Fatal(err)
		}
		forged := mustRoomGrant(t, ta, room, "伪造者", allMedia)
		forged.Token = forged.Token[:len(forged.Token)-4] + "AAAA"
		livekit := mustRoomGrant(t, ta, room, "错误后端", allMedia)
		livekit.Backend = "livekit"
		expired := mustRoomGrant(t, ta, room, "过期的专家", signaling.Permissions{Subscribe: signaling.Subscription{All: true}})
		for _, tc := range []struct {
			name, link, code, text string
			join                   bool
			before                 func()
		}{
			{"no grant", ta.base + "/room/room.html", "room.grant_missing", "请使用交易中心发给您的入会链接", false, nil},
			{"malformed grant", ta.base + "/room/room.html#grant=bm90IGpzb24", "room.grant_malformed", "入会链接不完整或已损坏", false, nil},
			{"livekit grant", roomLink(ta.base, livekit), "room.backend_unsupported", "本页面暂不支持", false, nil},
			{"forged grant", roomLink(ta.base, forged), "signaling.grant_invalid", "入会凭证无效", true, nil},
			{"closed room", roomLink(ta.base, closedGrant), "signaling.room_not_found", "不存在或已关闭", true, nil},
			// Last: it moves the app's clock past every grant issued so far.
			{"expired grant", roomLink(ta.base, expired), "signaling.grant_expired", "入会凭证已过期，请重新获取", true,
				func() { ta.clock.Advance(6 * time.Minute) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.before != nil {
					tc.before()
				}
				p := openRoom(t, b, tc.link)
				if tc.join {
					p.click("#join")
				} else if n := p.count("#join:disabled"); n != 1 {
					t.Error("join is possible without a usable grant")
				}
				p.waitText("#messages .error", tc.text, tc.code)
				p.waitText("#phase", "未能加入")
				st := p.roomStats()
				if st.Phase != "failed" || len(st.Errors) != 1 || st.Errors[0].Code != tc.code {
					t.Errorf("page reports phase %q, errors %+v; want failed with %s", st.Phase, st.Errors, tc.code)
				}
				if st.Local.Audio || st.Local.Video {
					t.Error("the camera stays on after a refused join")
				}
				if ps, err := ta.Media.Participants(ctx, room); err != nil || len(ps) != 1 || ps[0].Identity != agentID {
					t.Errorf("participants after a refused join %+v, %v; want only the agent", ps, err)
				}
			})
		}
	})
}

package embedded

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// TestResumeResendsUnansweredOffer: a server offer still unanswered when the socket drops
// is sent again after the resume, so media comes back; restart_ice is then answered with an
// ICE-restart offer.
func TestResumeResendsUnansweredOffer(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	ga := mustGrant(t, srv, "r", "a", subscriber)
	a := newPeerClient(t, srv.cfg.URL, wire.Join{V: wire.Version, Token: ga.Token})
	gb := mustGrant(t, srv, "r", "b", publisher)
	startSeat(t, gb)

	// b publishes: the server offers b's tracks to a, which never sees the offer arrive.
	a.expectOffer(10 * time.Second)
	a.drop()

	start := a.markNow()
	if j := a.connect(wire.Join{V: wire.Version, Resume: a.resume}); !j.Resumed {
		t.Fatalf("joined %+v, want resumed", j)
	}
	a.answer(a.expectOffer(5 * time.Second))
	a.answerUntil(10*time.Second, "b's video after the resume", func() bool {
		return !a.firstSince(gb.Identity, signaling.Video).IsZero()
	})
	t.Logf("resume to first forwarded video packet: %s", a.firstSince(gb.Identity, signaling.Video).Sub(start).Round(time.Millisecond))

	before := ufragOf(a.pc.CurrentRemoteDescription().SDP)
	a.send(wire.RestartICE{})
	for {
		o := a.expectOffer(5 * time.Second)
		a.answer(o)
		if ufragOf(o.SDP) != before {
			break // the ICE restart (offers queued before it are answered on the way)
		}
	}
	n := a.received(gb.Identity, signaling.Video)
	waitFor(t, 10*time.Second, "video after the ICE restart", func() bool {
		return a.received(gb.Identity, signaling.Video) > n+20
	})
}

// TestFreshResumeKeepsTracks: a publisher that closes its peer connection and drops keeps
// its tracks published; it resumes with "fresh" and a new peer connection, offers first
// (no glare), and its tracks come back to the subscriber under the same ids, while what it
// subscribes to is offered on the new connection.
func TestFreshResumeKeepsTracks(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	events, err := srv.Events(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	gs := mustGrant(t, srv, "r", "s", publisher)
	s := startSeat(t, gs)
	gp := mustGrant(t, srv, "r", "p", publisher)
	p := newPeerClient(t, srv.cfg.URL, wire.Join{V: wire.Version, Token: gp.Token, OfferFirst: true})
	p.publishAndOffer()
	p.answerUntil(20*time.Second, "media both ways", func() bool {
		return receivesFrom(s.Agent, gp.Identity, 20) && p.received(gs.Identity, signaling.Video) > 20
	})
	ids := trackIDs(t, srv, gp.Identity)

	// The client loses its peer connection (closing it tells the server) and its socket.
	if err := p.pc.Close(); err != nil {
		t.Fatal(err)
	}
	p.drop()
	sp := serverPeer(t, srv, "r", gp.Identity)
	waitFor(t, 5*time.Second, "the server to see the connection closed", func() bool {
		return sp.peer().SignalingState() == webrtc.SignalingStateClosed
	})
	waitFor(t, 5*time.Second, "the server to notice the tracks stopped", func() bool {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		for _, tr := range sp.published {
			if tr.lostAt.IsZero() {
				return false
			}
		}
		return true
	})
	if got := trackIDs(t, srv, gp.Identity); !slices.Equal(got, ids) {
		t.Fatalf("tracks while the connection is lost %v, want still %v", got, ids)
	}

	p.replacePC()
	start := p.markNow()
	if j := p.connect(wire.Join{V: wire.Version, Resume: p.resume, Fresh: true, OfferFirst: true}); !j.Resumed {
		t.Fatalf("joined %+v, want resumed", j)
	}
	sFrom := packetsFrom(s.Agent, gp.Identity)
	p.publishAndOffer()
	p.answerUntil(10*time.Second, "s's video on the new connection", func() bool {
		return !p.firstSince(gs.Identity, signaling.Video).IsZero()
	})
	t.Logf("fresh resume to first forwarded video packet: %s", p.firstSince(gs.Identity, signaling.Video).Sub(start).Round(time.Millisecond))
	waitFor(t, 10*time.Second, "p's media to reach s again", func() bool {
		return packetsFrom(s.Agent, gp.Identity) > sFrom+50
	})
	if got := trackIDs(t, srv, gp.Identity); !slices.Equal(got, ids) {
		t.Errorf("tracks after the fresh resume %v, want the same %v", got, ids)
	}
	for _, tr := range s.Stats().From(gp.Identity) {
		if !slices.Contains(ids, tr.TrackID) {
			t.Errorf("s receives p's track %s, not one of %v", tr.TrackID, ids)
		}
	}
	for {
		select {
		case ev := <-events:
			if ev.Type == signaling.EventTrackUnpublished {
				t.Fatalf("track unpublished: %+v", ev)
			}
			continue
		default:
		}
		break
	}
}

// TestLostTrackExpires: a track whose connection is lost and that no new connection takes
// over is unpublished once the resume window has passed, though its publisher is back.
func TestLostTrackExpires(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{}, func(c *Config) { c.ResumeWindow = 2 * time.Second })
	mustRoom(t, srv, "r")
	gp := mustGrant(t, srv, "r", "p", publisher)
	p := newPeerClient(t, srv.cfg.URL, wire.Join{V: wire.Version, Token: gp.Token, OfferFirst: true})
	p.publishAndOffer()
	waitFor(t, 10*time.Second, "two tracks published", func() bool { return len(trackIDs(t, srv, gp.Identity)) == 2 })
	p.drop()
	start := time.Now()
	p.replacePC()
	p.connect(wire.Join{V: wire.Version, Resume: p.resume, Fresh: true})
	if got := trackIDs(t, srv, gp.Identity); len(got) != 2 {
		t.Fatalf("tracks just after the fresh resume %v, want both kept", got)
	}
	waitFor(t, 10*time.Second, "the lost tracks to be unpublished", func() bool { return len(trackIDs(t, srv, gp.Identity)) == 0 })
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("lost tracks unpublished after %s, before the 2 s window", d)
	}
}

// TestEarlyCandidatesOfRestartKept: candidates of a new ICE generation that reach the server
// before the restart offer introducing them are kept and applied with it, not lost.
func TestEarlyCandidatesOfRestartKept(t *testing.T) {
	srv := mustServer(t, kaiping.SystemClock{})
	mustRoom(t, srv, "r")
	gp := mustGrant(t, srv, "r", "p", publisher)
	p := newPeerClient(t, srv.cfg.URL, wire.Join{V: wire.Version, Token: gp.Token, OfferFirst: true})
	p.publishAndOffer()
	sp := serverPeer(t, srv, "r", gp.Identity)
	waitFor(t, 10*time.Second, "the media connection", func() bool {
		return sp.peer().ICEConnectionState() == webrtc.ICEConnectionStateConnected
	})

	// The restart offer's candidates are gathered completely, then sent before the offer.
	p.mu.Lock()
	p.hold = true
	p.mu.Unlock()
	o, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	p.mu.Lock()
	early := p.gathered
	p.hold = false
	p.mu.Unlock()
	if len(early) == 0 {
		t.Fatal("no candidates gathered")
	}
	var ports []int
	for _, c := range early {
		c.UsernameFragment = ptr(ufragOf(o.SDP))
		p.sendCandidate(c)
		if f := strings.Fields(c.Candidate); len(f) > 5 {
			port, _ := strconv.Atoi(f[5])
			ports = append(ports, port)
		}
	}
	p.send(wire.Offer{SDP: o.SDP})
	p.expectAnswer(5 * time.Second)
	waitFor(t, 10*time.Second, "the early candidates to be among the server's remote candidates", func() bool {
		for _, st := range sp.peer().GetStats() {
			if c, ok := st.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeRemoteCandidate &&
				c.CandidateType == webrtc.ICECandidateTypeHost && slices.Contains(ports, int(c.Port)) {
				return true
			}
		}
		return false
	})
	waitFor(t, 10*time.Second, "the media connection after the restart", func() bool {
		return sp.peer().ICEConnectionState() == webrtc.ICEConnectionStateConnected
	})
}

// trackIDs lists identity's published tracks as the server reports them, sorted.
func trackIDs(tb testing.TB, srv *Server, identity string) []string {
	tb.Helper()
	ps, err := srv.Participants(context.Background(), "r")
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, p := range ps {
		if p.Identity == identity {
			for _, tr := range p.Tracks {
				ids = append(ids, tr.ID)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

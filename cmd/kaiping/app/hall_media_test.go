package app

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/signaling"
)

// mediaGrant asks the hall's media route for c's grant to the broadcast room.
func (w *hallWorld) mediaGrant(c *apiclient.Client) (opening.HallMediaGrant, error) {
	var g opening.HallMediaGrant
	err := c.Do(context.Background(), http.MethodPost, w.hallPath("/media"), nil, &g)
	return g, err
}

func (w *hallWorld) mustMediaGrant(t *testing.T, c *apiclient.Client, role opening.MediaRole) signaling.Grant {
	t.Helper()
	g, err := w.mediaGrant(c)
	if err != nil || g.Role != role || g.Grant.Room != opening.HallRoom(w.section.ID) {
		t.Fatalf("media grant as %s: %+v, %v", role, g, err)
	}
	return g.Grant
}

// mustGrantSeat runs a seat agent joining with g (publishing what g allows, unless adjust
// says otherwise) until the test ends.
func mustGrantSeat(tb testing.TB, g signaling.Grant, name string, adjust ...func(*seat.Config)) *roomSeat {
	tb.Helper()
	cfg := seat.ConfigFromGrant(g)
	cfg.Loopback, cfg.FPS, cfg.VideoBitrate = true, 20, 200_000
	for _, f := range adjust {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &roomSeat{Agent: seat.New(cfg), who: kaiping.Principal{ID: kaiping.ID(g.Identity), Name: name}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.Run(ctx) // ends with the room's closing
	}()
	tb.Cleanup(s.leave)
	return s
}

// hallRoomParticipants lists the section's broadcast room, or returns the media plane's
// error code.
func (w *hallWorld) hallRoomParticipants(t *testing.T) ([]signaling.Participant, string) {
	t.Helper()
	ps, err := w.ta.Media.Participants(context.Background(), opening.HallRoom(w.section.ID))
	if err != nil {
		return nil, kaiping.CodeOf(err)
	}
	return ps, ""
}

// mustRecordingRoom checks that the broadcast room exists with the hidden recorder in it.
func (w *hallWorld) mustRecordingRoom(t *testing.T) {
	t.Helper()
	ps, code := w.hallRoomParticipants(t)
	if code != "" || len(ps) != 1 || !ps[0].Hidden || ps[0].Name != signaling.RecorderName {
		t.Fatalf("broadcast room at check-in: %+v, %s; want the hidden recorder alone", ps, code)
	}
}

// mustMediaWorld is a hall world of three bidders who have each submitted a summary, its
// bid set sealed.
func mustMediaWorld(t *testing.T) *hallWorld {
	t.Helper()
	w := mustHallWorld(t, 3, nil)
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(1_000_000+i), 100))
	}
	return w
}

// TestHallMediaBroadcast: while the opening runs, the host publishes with a grant from the
// hall's route and every bidder receives the host's audio and video unseen (hidden, unable
// to publish, never seeing another bidder), next to the hidden recorder; the route refuses
// what it must with its code; when the hall closes the room is gone and its recording
// stored.
func TestHallMediaBroadcast(t *testing.T) {
	w := mustPublishedHall(t)
	ta := w.ta
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	admin := ta.mustLogin(t, ta.setup.Admin)
	supervisor := w.mustAssignSupervisor(t, ta.mustLogin(t, ta.mustRegister(t, admin, devpki.ECDSA, "监督人员", kaiping.RoleSupervisor)))
	stranger := ta.mustLogin(t, ta.mustRegister(t, admin, devpki.SM2, "未报名公司", kaiping.RoleBidder))
	unknown := func(tender, section string) func() error {
		return func() error {
			return w.host.Do(context.Background(), http.MethodPost, "/api/v1/tenders/"+tender+"/sections/"+section+"/hall/media", nil, nil)
		}
	}
	for _, tc := range []struct {
		name, code string
		status     int
		do         func() error
	}{
		{"admin", "auth.role_forbidden", http.StatusForbidden, func() error { return second(w.mediaGrant(admin)) }},
		{"bidder not registered", "hall.not_bidder", http.StatusForbidden, func() error { return second(w.mediaGrant(stranger)) }},
		{"unknown section", "tender.section_not_found", http.StatusNotFound, unknown(string(w.tender.ID), "BD9")},
		{"unknown tender", "tender.not_found", http.StatusNotFound, unknown(string(kaiping.NewID()), "BD1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.refused(t, tc.name, tc.code, tc.do)
			if e, ok := tc.do().(*apiclient.Error); !ok || e.Status != tc.status {
				t.Errorf("%s: %v, want status %d", tc.name, e, tc.status)
			}
		})
	}

	hostGrant := w.mustMediaGrant(t, w.host, opening.MediaHost)
	if p := hostGrant.Permissions; !p.PublishAudio || !p.PublishVideo || !p.Subscribe.All || p.Hidden || hostGrant.Identity != string(w.hostID(t)) {
		t.Errorf("host grant %+v", hostGrant)
	}
	watching := signaling.Permissions{Hidden: true, Subscribe: signaling.Subscription{All: true}}
	aGrant, bGrant := w.mustMediaGrant(t, a.c, opening.MediaBidder), w.mustMediaGrant(t, b.c, opening.MediaBidder)
	supGrant := w.mustMediaGrant(t, supervisor, opening.MediaSupervisor)
	for _, g := range []signaling.Grant{aGrant, bGrant, supGrant} {
		if g.Permissions.Hidden != watching.Hidden || g.Permissions.PublishAudio || g.Permissions.PublishVideo || !g.Permissions.Subscribe.All || g.Permissions.Data {
			t.Errorf("watcher's grant %+v, want %+v", g.Permissions, watching)
		}
	}
	if aGrant.Identity != string(a.id) {
		t.Errorf("bidder's identity in the room %s, want its principal %s", aGrant.Identity, a.id)
	}

	host := mustGrantSeat(t, hostGrant, "开标主持人")
	aSeat := mustGrantSeat(t, aGrant, a.name)
	// b's agent tries to publish anyway: the SFU refuses it, and b still watches.
	bSeat := mustGrantSeat(t, bGrant, b.name, func(c *seat.Config) { c.PublishAudio, c.PublishVideo = true, true })
	supSeat := mustGrantSeat(t, supGrant, "监督人员")
	for _, s := range []*roomSeat{aSeat, bSeat, supSeat} {
		receiving(t, s, 2, host)
	}
	waitAgent(t, bSeat.Agent, "be refused publishing", func(s seat.Stats) bool { return s.HasError(signaling.CodePublishForbidden) })
	ps, _ := w.hallRoomParticipants(t)
	hidden := 0
	for _, p := range ps {
		if p.Hidden {
			hidden++
		}
	}
	if len(ps) != 5 || hidden != 4 {
		t.Errorf("room has %d participants (%d hidden), want the host and, hidden, the recorder, two bidders and the supervisor", len(ps), hidden)
	}
	for _, s := range []*roomSeat{host, aSeat, bSeat, supSeat} {
		st := s.Stats()
		for id, name := range st.Peers {
			if id != string(host.who.ID) {
				t.Errorf("%s sees %s (%s) in the room", s.who.Name, name, id)
			}
		}
		for _, o := range []*roomSeat{aSeat, bSeat, supSeat} {
			if got := st.From(string(o.who.ID)); len(got) != 0 {
				t.Errorf("%s receives %+v from %s", s.who.Name, got, o.who.Name)
			}
		}
	}

	time.Sleep(time.Second) // a little more recorded
	w.mustMove(t, opening.HallConfirming, 0)
	w.mustMediaGrant(t, c.c, opening.MediaBidder) // still broadcast while bidders confirm
	w.mustMove(t, opening.HallClosed, 0)
	if _, code := w.hallRoomParticipants(t); code != signaling.CodeRoomNotFound {
		t.Errorf("broadcast room after the hall closed: %s, want %s", code, signaling.CodeRoomNotFound)
	}
	w.refused(t, "grant after closing", "hall.media_not_open", func() error { return second(w.mediaGrant(w.host)) })
	sr := ta.mustStoredRecording(t, opening.HallRoom(w.section.ID))
	if got := sr.files(); len(got) != 2 || got["开标主持人/audio"] != 1 || got["开标主持人/video"] != 1 {
		t.Errorf("recorded files %v, want the host's audio and video only", got)
	}
}

// TestHallMediaEnds: there is no broadcast before check-in; from check-in the room exists
// and is recorded; a hall that fails (流标: nobody decrypted) closes its room and stores the
// recording; and a media plane that is down never holds a transition back, while the grant
// route reports it.
func TestHallMediaEnds(t *testing.T) {
	w := mustMediaWorld(t)
	w.refused(t, "grant while bidding", "hall.media_not_open", func() error { return second(w.mediaGrant(w.host)) })
	w.sealNow(t)
	for _, c := range []*apiclient.Client{w.host, w.bidders[0].c} {
		_, err := w.mediaGrant(c)
		if e, ok := err.(*apiclient.Error); !ok || e.Code != "hall.media_not_open" || e.Status != http.StatusConflict {
			t.Errorf("grant while sealed: %v, want 409 hall.media_not_open", err)
		}
	}
	if _, code := w.hallRoomParticipants(t); code != signaling.CodeRoomNotFound {
		t.Fatalf("broadcast room before check-in: %s, want %s", code, signaling.CodeRoomNotFound)
	}
	w.mustMove(t, opening.HallCheckingIn, 0)
	w.mustRecordingRoom(t)
	w.mustMove(t, opening.HallDecrypting, 5)
	w.ta.clock.Advance(6 * time.Minute)
	w.relogin(t)
	if st, err := w.move(w.host, opening.HallPublished, 0); err != nil || st.State != opening.HallFailed {
		t.Fatalf("publishing with no bid decrypted: %+v, %v; want failed", st, err)
	}
	if _, code := w.hallRoomParticipants(t); code != signaling.CodeRoomNotFound {
		t.Errorf("broadcast room after the hall failed: %s, want %s", code, signaling.CodeRoomNotFound)
	}
	if sr := w.ta.mustStoredRecording(t, opening.HallRoom(w.section.ID)); len(sr.manifest.Files) != 0 {
		t.Errorf("recorded files %v of a hall nobody published in", sr.files())
	}

	down := mustMediaWorld(t)
	down.sealNow(t)
	down.ta.Media.Close()
	down.mustMove(t, opening.HallCheckingIn, 0) // the transition stands
	_, err := down.mediaGrant(down.bidders[0].c)
	if e, ok := err.(*apiclient.Error); !ok || e.Code != signaling.CodeClosed || e.Status != http.StatusServiceUnavailable {
		t.Errorf("grant with the media plane down: %v, want 503 %s", err, signaling.CodeClosed)
	}
}

package evaltest_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// TestSessionAPI drives a session over HTTP behind the real authentication, role and duty
// checks: only the tender's evaluation host runs it, only its staff watch it, venue staff
// confirm at their own venue only, a member sees their own votes only, and nobody but a
// member reaches the bid reader.
func TestSessionAPI(t *testing.T) {
	s := mustSessionScene(t)
	a := mustAPI(t, s.scene)
	ctx := context.Background()
	host := a.as(s.Host)
	otherHost := s.Principal(t, "另一主持人", "某市公共资源交易中心", kaiping.RoleHost)
	bidder := s.Principal(t, bidderA, "", kaiping.RoleBidder)

	var sess evaluation.Session
	if err := a.as(otherHost).Do(ctx, http.MethodPost, "/api/v1/sessions", s.request, &sess); !hasCode(err, 403, "tender.not_assigned") {
		t.Fatalf("an unassigned host creates a session: %v", err)
	}
	if err := host.Do(ctx, http.MethodPost, "/api/v1/sessions", s.request, &sess); err != nil || sess.State != evaluation.SessionScheduled {
		t.Fatalf("create: %v", err)
	}
	base := "/api/v1/sessions/" + string(sess.ID)
	if err := a.as(otherHost).Do(ctx, http.MethodPost, base+"/checkin", nil, nil); !hasCode(err, 403, "tender.not_assigned") {
		t.Fatalf("an unassigned host opens check-in: %v", err)
	}
	if err := a.as(s.Supervisor).Do(ctx, http.MethodPost, base+"/checkin", nil, nil); !hasCode(err, 403, "auth.role_forbidden") {
		t.Fatalf("a supervisor opens check-in: %v", err)
	}
	s.Clock.Set(s.session.Start.Add(-30 * 60e9))
	if err := host.Do(ctx, http.MethodPost, base+"/checkin", nil, &sess); err != nil || sess.State != evaluation.SessionCheckingIn {
		t.Fatalf("check-in: %v", err)
	}
	var watched evaluation.Session
	if err := a.as(s.Supervisor).Do(ctx, http.MethodGet, base, nil, &watched); err != nil || watched.Version != sess.Version {
		t.Fatalf("the supervisor watches: %v", err)
	}

	// Venue staff see their own seats only, and confirm there only.
	m := sess.Members[0]
	staff := a.as(s.staff[m.Venue])
	var view evaluation.VenueSessionView
	if err := staff.Do(ctx, http.MethodGet, "/api/v1/venue/sessions/"+string(sess.ID), nil, &view); err != nil || len(view.Seats) == 0 {
		t.Fatalf("venue view: %v", err)
	}
	for _, sc := range view.Seats {
		if sc.Venue != m.Venue {
			t.Errorf("staff of %s see a seat at %s", m.VenueCode, sc.VenueCode)
		}
	}
	confirm := "/api/v1/venue/sessions/" + string(sess.ID) + "/members/" + string(m.ID) + "/confirm"
	for v, p := range s.staff {
		if v != m.Venue {
			if err := a.as(p).Do(ctx, http.MethodPost, confirm, evaluation.ConfirmRequest{Seat: m.Seat}, nil); !hasCode(err, 403, "session.not_venue_staff") {
				t.Fatalf("staff of another venue confirm: %v", err)
			}
		}
	}
	if err := staff.Do(ctx, http.MethodPost, confirm, evaluation.ConfirmRequest{Seat: m.Seat}, &view); err != nil {
		t.Fatalf("confirm: %v", err)
	}

	// Nobody but a member reaches the reader: a bidder, the host and the supervisor are
	// refused by role, a member not yet pledged by the session.
	reader := "/api/v1/expert/sessions/" + string(sess.ID) + "/bids"
	for _, p := range []kaiping.Principal{bidder, s.Host, s.Supervisor} {
		if err := a.as(p).Do(ctx, http.MethodGet, reader+"/"+string(kaiping.NewID()), nil, nil); !hasCode(err, 403, "auth.role_forbidden") {
			t.Errorf("%s reads a bid: %v", p.Name, err)
		}
	}
	me := a.as(s.logins[m.ID].Principal)
	if err := me.Do(ctx, http.MethodGet, reader, nil, nil); !hasCode(err, 403, "session.not_pledged") {
		t.Fatalf("reading before the pledge: %v", err)
	}
	var mine evaluation.MemberSessionView
	if err := me.Do(ctx, http.MethodGet, "/api/v1/expert/sessions/"+string(sess.ID), nil, &mine); err != nil || mine.Me.ID != m.ID ||
		mine.Me.Stage() != evaluation.StageConfirmed {
		t.Fatalf("member view: %+v %v", mine.Me, err)
	}
	stranger := s.stranger(t)
	if err := a.as(stranger.Principal).Do(ctx, http.MethodGet, "/api/v1/expert/sessions/"+string(sess.ID), nil, nil); !hasCode(err, 403, "session.not_member") {
		t.Fatalf("a stranger reads the session: %v", err)
	}
	var pledge evaluation.PledgeView
	if err := me.Do(ctx, http.MethodGet, "/api/v1/expert/pledge", nil, &pledge); err != nil || pledge.Digest != evaluation.PledgeDigest() {
		t.Fatalf("pledge text: %v", err)
	}
}

func hasCode(err error, status int, code string) bool {
	st, c := apiCode(err)
	return st == status && c == code
}

// TestSeatPhotoAndMessages stores an expert's photo, which only the staff of the venue where
// they sit (and the session's overseers) can fetch, and sends the seats a message.
func TestSeatPhotoAndMessages(t *testing.T) {
	s := mustSessionScene(t)
	a := mustAPI(t, s.scene)
	ctx := context.Background()
	sess := s.mustSession(t)
	var m evaluation.SessionMember
	for _, x := range sess.Members {
		if x.Kind == evaluation.MemberDrawn {
			m = x
		}
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	status, body := a.rawPut(t, s.Admin, "/api/v1/experts/"+string(m.ID)+"/photo", "image/png", []byte("GIF89a"))
	if status != 400 || !bytes.Contains(body, []byte("expert.photo_type")) {
		t.Fatalf("a GIF: %d %s", status, body)
	}
	if status, body = a.rawPut(t, s.Admin, "/api/v1/experts/"+string(m.ID)+"/photo", "image/png", png); status != 204 {
		t.Fatalf("photo: %d %s", status, body)
	}
	path := "/api/v1/venue/sessions/" + string(sess.ID) + "/members/" + string(m.ID) + "/photo"
	for v, p := range s.staff {
		status, body := a.get(t, p, path)
		switch {
		case v == m.Venue && (status != 200 || !bytes.Equal(body, png)):
			t.Errorf("staff of the member's venue: %d", status)
		case v != m.Venue && status != 403:
			t.Errorf("staff of another venue: %d %s", status, body)
		}
	}
	if status, _ := a.get(t, s.Supervisor, "/api/v1/sessions/"+string(sess.ID)+"/members/"+string(m.ID)+"/photo"); status != 200 {
		t.Errorf("the supervisor: %d", status)
	}

	var out evaluation.Session
	if err := a.as(s.Host).Do(ctx, http.MethodPost, "/api/v1/sessions/"+string(sess.ID)+"/messages",
		evaluation.MessageRequest{Text: "请各工位检查摄像头", Member: m.ID}, &out); err != nil {
		t.Fatal(err)
	}
	mine, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Member: m.ID}, 100)
	must(t, err)
	other, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Member: sess.Members[0].ID}, 100)
	must(t, err)
	if mine[len(mine)-1].Type != evaluation.ActionSessionMemberMessage || len(other) != len(mine)-1 {
		t.Fatalf("a message to one member: they see %s, another sees %d of %d", mine[len(mine)-1].Type, len(other), len(mine))
	}
}

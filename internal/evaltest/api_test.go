package evaltest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/internal/evaltest"
	"github.com/kaiping/kaiping/storage/postgres"
)

// api serves the evaluation routes on loopback behind the real authentication and role
// checks, with session tokens issued for the scene's principals.
type api struct {
	*scene
	base   string
	tokens *identity.Tokens
}

func mustAPI(tb testing.TB, s *scene) *api {
	tb.Helper()
	return mustAPIWith(tb, s, nil)
}

// mustAPIWith is mustAPI with the routes more(auth) mounted too.
func mustAPIWith(tb testing.TB, s *scene, more func(httpapi.Authenticator) []httpapi.Route) *api {
	tb.Helper()
	tokens, err := identity.NewTokens(bytes.Repeat([]byte("s"), 32))
	must(tb, err)
	auth := identity.NewService(nil, nil, tokens, s.Clock, time.Hour, time.Minute)
	f := fiber.New(fiber.Config{ErrorHandler: httpapi.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil))),
		DisableStartupMessage: true})
	reg := httpapi.Registry{Staff: s.Staff, Refusals: postgres.NewRefusalLog(s.DB, s.Ledger, s.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	reg.Mount(f, auth, s.Service.Routes()...)
	if more != nil {
		reg.Mount(f, auth, more(auth)...)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	go func() { _ = f.Listener(ln) }()
	tb.Cleanup(func() { _ = f.Shutdown() })
	return &api{scene: s, base: "http://" + ln.Addr().String(), tokens: tokens}
}

// as returns a client logged in as p for the next two days of the scene's clock.
func (a *api) as(p kaiping.Principal) *apiclient.Client {
	c := apiclient.New(a.base)
	now := a.Clock.Now()
	c.Token = a.tokens.IssueSession(identity.Claims{Session: kaiping.NewID(), Principal: p.ID, Name: p.Name, Org: p.Org,
		Roles: p.Roles, Issued: now.Unix(), Expires: now.Add(48 * time.Hour).Unix()})
	return c
}

// raw posts body with content type as p and returns the status and the body.
func (a *api) raw(tb testing.TB, p kaiping.Principal, path, contentType string, body []byte) (int, []byte) {
	tb.Helper()
	return a.send(tb, p, http.MethodPost, path, contentType, body)
}

// rawPut puts body with content type as p.
func (a *api) rawPut(tb testing.TB, p kaiping.Principal, path, contentType string, body []byte) (int, []byte) {
	tb.Helper()
	return a.send(tb, p, http.MethodPut, path, contentType, body)
}

// get reads path as p.
func (a *api) get(tb testing.TB, p kaiping.Principal, path string) (int, []byte) {
	tb.Helper()
	return a.send(tb, p, http.MethodGet, path, "", nil)
}

func (a *api) send(tb testing.TB, p kaiping.Principal, method, path, contentType string, body []byte) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	must(tb, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+a.as(p).Token)
	resp, err := http.DefaultClient.Do(req)
	must(tb, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func apiCode(err error) (int, string) {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		return ae.Status, ae.Code
	}
	return 0, ""
}

func TestAPI(t *testing.T) {
	s := mustScene(t)
	a := mustAPI(t, s)
	ctx := context.Background()
	bidder := s.Principal(t, bidderA, "", kaiping.RoleBidder)
	staff := s.Principal(t, "开封场地管理员", "", kaiping.RoleVenueStaff)
	must(t, s.Service.AddStaff(ctx, s.Actor(s.Admin), s.kf.ID, staff.ID))
	admin, host, sup := a.as(s.Admin), a.as(s.Host), a.as(s.Supervisor)

	var specs struct{ Specialties []evaluation.Specialty }
	if err := a.as(bidder).Do(ctx, http.MethodGet, "/api/v1/specialties", nil, &specs); err != nil || len(specs.Specialties) < 60 {
		t.Fatalf("specialties: %d %v", len(specs.Specialties), err)
	}

	// CSV import over HTTP: one error per bad row, nothing imported; then a good file.
	status, body := a.raw(t, s.Admin, "/api/v1/experts/import", "text/csv", mustRead(t, "experts_bad.csv"))
	var failure evaluation.ImportFailure
	if err := json.Unmarshal(body, &failure); err != nil || status != 400 || failure.Error.Code != "expert.import_rows" || len(failure.Rows) != 10 {
		t.Fatalf("bad import: %d %s", status, body)
	}
	status, body = a.raw(t, s.Admin, "/api/v1/experts/import", "text/csv", mustRead(t, "experts_ok.csv"))
	if status != 201 || !bytes.Contains(body, []byte(`"imported":4`)) {
		t.Fatalf("import: %d %s", status, body)
	}
	if status, _ := a.raw(t, s.Host, "/api/v1/experts/import", "text/csv", mustRead(t, "experts_ok.csv")); status != 403 {
		t.Fatalf("host imports: %d", status)
	}

	s.Clock.Set(s.Clock.Now().Add(time.Hour))
	req := s.request()
	even := req
	even.CommitteeSize = 6
	var d evaluation.Draw
	if err := host.Do(ctx, http.MethodPost, "/api/v1/draws", req, &d); err != nil || d.Status != evaluation.DrawDrawn {
		t.Fatalf("draw: %+v %v", d, err)
	}
	var ms struct{ Members []evaluation.Member }
	if err := sup.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/members", nil, &ms); err != nil || len(ms.Members) != 5 {
		t.Fatalf("supervisor reads members: %v", err)
	}
	loginAs := func(m evaluation.Member) kaiping.Principal {
		x, err := s.Store.Expert(ctx, m.Expert)
		must(t, err)
		return s.ExpertLogin(t, x)
	}
	member, late := loginAs(ms.Members[0]), loginAs(ms.Members[1])
	outsider := s.ExpertLogin(t, s.experts["KF06"])
	var mine struct{ Draws []evaluation.ExpertDraw }
	if err := a.as(member).Do(ctx, http.MethodGet, "/api/v1/expert/draws", nil, &mine); err != nil || len(mine.Draws) != 1 ||
		mine.Draws[0].TenderCode != s.tender.Code || mine.Draws[0].State != evaluation.MemberPending {
		t.Fatalf("expert's draws: %+v %v", mine, err)
	}
	if err := a.as(member).Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(d.ID)+"/accept", nil, nil); err != nil {
		t.Fatalf("accept: %v", err)
	}
	var as struct{ Assignments []evaluation.SeatAssignment }
	if err := host.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/dispatch", nil, &as); err != nil || len(as.Assignments) != 5 {
		t.Fatalf("dispatch: %v", err)
	}
	seat := as.Assignments[0].Seat
	booking := map[string]any{"start": s.session.Start, "end": s.session.End, "purpose": "临时会议"}
	later := map[string]any{"start": s.session.End, "end": s.session.End.Add(time.Hour), "purpose": "评标后复核"}
	var day struct{ Bookings []evaluation.DayBooking }
	if err := a.as(staff).Do(ctx, http.MethodGet, "/api/v1/venue/bookings?date=2026-06-02", nil, &day); err != nil || len(day.Bookings) != countHost(as.Assignments) {
		t.Fatalf("venue staff's day: %+v %v", day, err)
	}
	tendererHost := a.as(s.Principal(t, "招标人经办人", tenderer, kaiping.RoleHost))
	stranger := a.as(s.Principal(t, "其他项目主持人", "某代理公司", kaiping.RoleHost))
	strangerSup := a.as(s.Principal(t, "其他项目监督", "某监督局", kaiping.RoleSupervisor))
	// The moved (and later released) expert must not be the two whose answers are tested
	// below: dispatch order does not follow the members' order.
	var moved evaluation.SeatAssignment
	for _, x := range as.Assignments {
		if x.Expert != ms.Members[0].Expert && x.Expert != ms.Members[1].Expert {
			moved = x
		}
	}
	overridePath := "/api/v1/draws/" + string(d.ID) + "/assignments/" + string(moved.Expert)
	var to evaluation.SeatAssignment
	if err := host.Do(ctx, http.MethodPut, overridePath, evaluation.OverrideRequest{Venue: s.pds.ID, Reason: "专家临时在平顶山出差"}, &to); err != nil ||
		to.Venue != s.pds.ID || to.Override == "" {
		t.Fatalf("override: %+v %v", to, err)
	}
	releasePath := "/api/v1/draws/" + string(d.ID) + "/members/" + string(moved.Expert) + "/release"
	var dec evaluation.Decision
	if err := host.Do(ctx, http.MethodPost, releasePath, evaluation.ReleaseRequest{Outcome: evaluation.MemberNoShow, Reason: "未到场"}, &dec); err != nil ||
		dec.State != evaluation.MemberNoShow {
		t.Fatalf("release: %+v %v", dec, err)
	}
	s.Clock.Advance(31 * time.Minute)

	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"bidder draws", a.as(bidder).Do(ctx, http.MethodPost, "/api/v1/draws", req, nil), 403, "auth.role_forbidden"},
		{"venue staff draws", a.as(staff).Do(ctx, http.MethodPost, "/api/v1/draws", req, nil), 403, "auth.role_forbidden"},
		{"expert lists the pool", a.as(member).Do(ctx, http.MethodGet, "/api/v1/experts", nil, nil), 403, "auth.role_forbidden"},
		{"host adds an expert", host.Do(ctx, http.MethodPost, "/api/v1/experts", evaluation.Expert{}, nil), 403, "auth.role_forbidden"},
		{"admin adds a bad expert", admin.Do(ctx, http.MethodPost, "/api/v1/experts", evaluation.Expert{Code: "X1"}, nil), 400, "expert.name"},
		{"host books for an expert's calendar", host.Do(ctx, http.MethodPost, "/api/v1/expert/unavailability", nil, nil), 403, "auth.role_forbidden"},
		{"even committee", host.Do(ctx, http.MethodPost, "/api/v1/draws", even, nil), 400, "draw.committee_size"},
		{"bidder reads members", a.as(bidder).Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/members", nil, nil), 403, "draw.identities_sealed"},
		{"bidder reads seats", a.as(bidder).Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/assignments", nil, nil), 403, "draw.identities_sealed"},
		{"bidder reads exclusions", a.as(bidder).Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/exclusions", nil, nil), 403, "auth.role_forbidden"},
		{"expert accepts after the deadline", a.as(late).Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(d.ID)+"/accept", nil, nil), 410, "draw.response_deadline_passed"},
		{"expert not drawn accepts", a.as(outsider).Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(d.ID)+"/accept", nil, nil), 404, "draw.not_member"},
		{"overlapping booking", host.Do(ctx, http.MethodPost, "/api/v1/seats/"+string(seat)+"/bookings", booking, nil), 409, "booking.overlap"},
		{"cancel a dispatched booking", host.Do(ctx, http.MethodPost, "/api/v1/bookings/"+string(as.Assignments[0].Booking)+"/cancel",
			evaluation.ReasonRequest{Reason: "x"}, nil), 409, "booking.dispatched"},
		{"malformed draw id", host.Do(ctx, http.MethodGet, "/api/v1/draws/xyz", nil, nil), 404, "draw.not_found"},
		{"unknown field", host.Do(ctx, http.MethodPost, "/api/v1/draws", map[string]any{"tender_id": s.tender.ID, "committee": 7}, nil), 400, "request.unknown_field"},
		{"draw without a tender", host.Do(ctx, http.MethodPost, "/api/v1/draws", map[string]any{"committee_size": 7}, nil), 400, "request.tender"},
		{"unassigned host draws", stranger.Do(ctx, http.MethodPost, "/api/v1/draws", req, nil), 403, "tender.not_assigned"},
		{"unassigned host lists draws", stranger.Do(ctx, http.MethodGet, "/api/v1/draws?tender="+string(s.tender.ID), nil, nil), 403, "tender.not_assigned"},
		{"unassigned host reads members", stranger.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/members", nil, nil), 403, "draw.identities_sealed"},
		{"unassigned host reads exclusions", stranger.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/exclusions", nil, nil), 403, "tender.not_assigned"},
		{"unassigned host dispatches", stranger.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/dispatch", nil, nil), 403, "tender.not_assigned"},
		{"unassigned host publishes", stranger.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/publish", nil, nil), 403, "tender.not_assigned"},
		{"unassigned supervisor reads the snapshot", strangerSup.Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/snapshot", nil, nil), 403, "tender.not_assigned"},
		{"supervisor publishes", sup.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/publish", nil, nil), 403, "auth.role_forbidden"},
		{"admin draws", admin.Do(ctx, http.MethodPost, "/api/v1/draws", req, nil), 403, "auth.role_forbidden"},
		{"other venue's staff", a.as(staff).Do(ctx, http.MethodGet, "/api/v1/venues/"+string(s.zz.ID)+"/bookings", nil, nil), 403, "venue.not_staff"},
		{"unassigned tenderer's host moves an expert", tendererHost.Do(ctx, http.MethodPut, overridePath, evaluation.OverrideRequest{Venue: s.kf.ID, Reason: "x"}, nil), 403, "tender.not_assigned"},
		{"bidder moves an expert", a.as(bidder).Do(ctx, http.MethodPut, overridePath, evaluation.OverrideRequest{Venue: s.kf.ID, Reason: "x"}, nil), 403, "auth.role_forbidden"},
		{"override to no venue", host.Do(ctx, http.MethodPut, "/api/v1/draws/"+string(d.ID)+"/assignments/"+string(as.Assignments[0].Expert),
			evaluation.OverrideRequest{Reason: "x"}, nil), 400, "dispatch.venue"},
		{"release as accepted", host.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/members/"+string(as.Assignments[0].Expert)+"/release",
			evaluation.ReleaseRequest{Outcome: evaluation.MemberAccepted, Reason: "x"}, nil), 400, "draw.outcome"},
		{"release twice", host.Do(ctx, http.MethodPost, releasePath, evaluation.ReleaseRequest{Outcome: evaluation.MemberNoShow, Reason: "x"}, nil), 409, "draw.already_released"},
		{"expert declines after the deadline", a.as(late).Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(d.ID)+"/decline",
			evaluation.ReasonRequest{Reason: "迟到的拒绝"}, nil), 410, "draw.response_deadline_passed"},
	}
	for _, tt := range tests {
		if status, code := apiCode(tt.err); status != tt.status || code != tt.code {
			t.Errorf("%s: %v, want %d %s", tt.name, tt.err, tt.status, tt.code)
		}
	}
	if err := host.Do(ctx, http.MethodPost, "/api/v1/seats/"+string(seat)+"/bookings", later, nil); err != nil {
		t.Errorf("booking right after the session: %v", err)
	}
	var pub evaluation.Draw
	if err := a.as(bidder).Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID), nil, &pub); err != nil || pub.Commitment != d.Commitment || pub.Seed != d.Seed {
		t.Fatalf("bidder reads the draw's public facts: %v", err)
	}
	resp, err := http.DefaultClient.Do(mustGet(t, a.base+"/api/v1/draws/"+string(d.ID)+"/snapshot", host.Token))
	must(t, err)
	snap, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Kaiping-Digest") != d.SnapshotDigest {
		t.Fatalf("snapshot download: %d %s", resp.StatusCode, resp.Header.Get("X-Kaiping-Digest"))
	}
	if got := draw.Digest(snap); got != d.SnapshotDigest {
		t.Fatalf("downloaded snapshot digest %s, ledgered %s", got, d.SnapshotDigest)
	}
	// The committee's names stay confidential until the award result is determined
	// (《招标投标法》 Art. 37): even its own evaluation host cannot publish them yet.
	err = host.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/publish", nil, nil)
	if status, code := apiCode(err); status != 409 || code != "draw.result_not_recorded" {
		t.Fatalf("publish before the result: %v", err)
	}
	if _, code := apiCode(a.as(bidder).Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/members", nil, &ms)); code != "draw.identities_sealed" {
		t.Fatalf("bidder reads the committee after a refused publication: %s", code)
	}
}

func mustGet(tb testing.TB, url, token string) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	must(tb, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// TestExclusionsSecretUntilDeadline: who stepped aside may name a registered bidder, so even
// the tender's own evaluation host and supervisor read a draw's exclusions and snapshot only
// after the bid deadline (《招标投标法》 Art. 22).
func TestExclusionsSecretUntilDeadline(t *testing.T) {
	s := mustScene(t)
	a := mustAPI(t, s)
	ctx := context.Background()
	s.Clock.Set(evaltest.T0.Add(time.Minute)) // the tender's deadline is T0 + 10 minutes
	d, err := s.Service.Draw(ctx, s.Actor(s.Host), s.request())
	must(t, err)
	for _, p := range []kaiping.Principal{s.Host, s.Supervisor} {
		for _, what := range []string{"exclusions", "snapshot"} {
			err := a.as(p).Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/"+what, nil, nil)
			if status, code := apiCode(err); status != 425 || code != "draw.too_early" {
				t.Errorf("%s reads the %s before the deadline: %v", p.Name, what, err)
			}
		}
	}
	s.Clock.Set(s.tender.Deadline)
	var ex struct{ Exclusions []draw.Exclusion }
	if err := a.as(s.Supervisor).Do(ctx, http.MethodGet, "/api/v1/draws/"+string(d.ID)+"/exclusions", nil, &ex); err != nil || len(ex.Exclusions) == 0 {
		t.Errorf("supervisor reads the exclusions at the deadline: %d, %v", len(ex.Exclusions), err)
	}
}

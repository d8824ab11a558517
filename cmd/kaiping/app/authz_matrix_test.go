package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity/devpki"
)

// access is who may call a route, as the authorization matrix states it independently of
// the routes' own declarations: the roles that pass the role gate (nil and public false:
// any authenticated principal) and the duties a host or supervisor must hold on the
// request's tender.
type access struct {
	public bool
	roles  []kaiping.Role
	duties []kaiping.Duty
}

var (
	rBidder     = kaiping.RoleBidder
	rExpert     = kaiping.RoleExpert
	rHost       = kaiping.RoleHost
	rVenue      = kaiping.RoleVenueStaff
	rSupervisor = kaiping.RoleSupervisor
	rAdmin      = kaiping.RoleAdmin

	public   = access{public: true}
	anyone   = access{}
	asHost   = []kaiping.Duty{kaiping.DutyHost}
	asSup    = []kaiping.Duty{kaiping.DutySupervisor}
	asHall   = []kaiping.Duty{kaiping.DutyHost, kaiping.DutySupervisor}
	asEval   = []kaiping.Duty{kaiping.DutyEvaluationHost}
	asDraw   = []kaiping.Duty{kaiping.DutyEvaluationHost, kaiping.DutySupervisor}
	asPub    = []kaiping.Duty{kaiping.DutyEvaluationHost, kaiping.DutyHost} // the tender's host staff
	roles    = func(rs ...kaiping.Role) access { return access{roles: rs} }
	onTender = func(ds []kaiping.Duty, rs ...kaiping.Role) access { return access{roles: rs, duties: ds} }
)

// authzMatrix is every route of the app and who may call it. A route mounted without a row
// here, or a row without its route, fails TestAuthorizationMatrix: a new route cannot ship
// without someone deciding, in this table, who may call it.
var authzMatrix = map[string]access{
	"GET /healthz":                                                                 public,
	"GET /readyz":                                                                  public,
	"POST /api/v1/auth/challenge":                                                  public,
	"POST /api/v1/auth/login":                                                      public,
	"GET /api/v1/inbox":                                                            anyone, // the caller's own notices only (TestInboxIsOwn)
	"POST /api/v1/inbox/:id/read":                                                  anyone, // the caller's own notice only; another's is not found
	"GET /api/v1/me":                                                               anyone,
	"POST /api/v1/principals":                                                      roles(rAdmin),
	"GET /api/v1/principals":                                                       roles(rAdmin),
	"POST /api/v1/principals/:id/disable":                                          roles(rAdmin),
	"POST /api/v1/principals/:id/enable":                                           roles(rAdmin),
	"PUT /api/v1/principals/:id/roles":                                             roles(rAdmin),
	"DELETE /api/v1/principals/:id/certificates/:fingerprint":                      roles(rAdmin),
	"GET /api/v1/ledger/public-key":                                                public,
	"GET /api/v1/ledger/checkpoint":                                                anyone,
	"GET /media/ws":                                                                public, // the grant in the first message is the credential
	"GET /":                                                                        public,
	"POST /api/v1/tenders":                                                         roles(rHost, rAdmin),
	"GET /api/v1/tenders":                                                          anyone,
	"GET /api/v1/tenders/:id":                                                      anyone,
	"POST /api/v1/blacklist":                                                       roles(rAdmin),
	"GET /api/v1/blacklist":                                                        roles(rAdmin, rSupervisor),
	"POST /api/v1/tenders/:id/staff":                                               roles(rAdmin),
	"GET /api/v1/tenders/:id/staff":                                                roles(rAdmin),
	"GET /api/v1/tenders/:id/rescue/share":                                         onTender(asSup, rSupervisor),
	"POST /api/v1/tenders/:id/staff/:assignment/revoke":                            roles(rAdmin),
	"POST /api/v1/tenders/:id/sections/:section/registrations":                     roles(rBidder),
	"GET /api/v1/tenders/:id/sections/:section/registrations":                      onTender(asHall, rHost, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/uploads":                           roles(rBidder),
	"GET /api/v1/uploads/:upload":                                                  roles(rBidder),
	"POST /api/v1/uploads/:upload/complete":                                        roles(rBidder),
	"DELETE /api/v1/uploads/:upload":                                               roles(rBidder),
	"GET /api/v1/tenders/:id/sections/:section/bids/mine":                          roles(rBidder),
	"POST /api/v1/tenders/:id/sections/:section/withdrawal":                        roles(rBidder),
	"GET /api/v1/receipts/:seq/time-stamp":                                         roles(rBidder), // the bidder's own: anyone else's is not found
	"GET /api/v1/tenders/:id/sections/:section/bid-set":                            anyone,
	"GET /api/v1/tenders/:id/sections/:section/hall":                               roles(rBidder),
	"GET /api/v1/tenders/:id/sections/:section/hall/board":                         onTender(asHall, rHost, rSupervisor),
	"GET /api/v1/tenders/:id/sections/:section/hall/events":                        onTender(asHall, rBidder, rHost, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/hall/transitions":                  onTender(asHost, rHost),
	"POST /api/v1/tenders/:id/sections/:section/hall/checkins":                     roles(rBidder),
	"GET /api/v1/tenders/:id/sections/:section/hall/envelopes":                     roles(rBidder),
	"POST /api/v1/tenders/:id/sections/:section/hall/unlocks":                      roles(rBidder),
	"GET /api/v1/tenders/:id/sections/:section/hall/record":                        onTender(asHall, rBidder, rHost, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/hall/confirmations":                roles(rBidder),
	"POST /api/v1/tenders/:id/sections/:section/hall/objections":                   roles(rBidder),
	"POST /api/v1/tenders/:id/sections/:section/hall/objections/:objection/answer": onTender(asHost, rHost),
	"GET /api/v1/tenders/:id/sections/:section/hall/rescue-stanzas":                onTender(asSup, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/hall/rescue-partials":              onTender(asSup, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/hall/media":                        onTender(asHall, rHost, rBidder, rSupervisor),
	"GET /api/v1/tenders/:id/sections/:section/hall/live":                          onTender(asHall, rBidder, rHost, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/hall/proposals":                    onTender(asHost, rHost),
	"GET /api/v1/tenders/:id/sections/:section/hall/proposals":                     onTender(asHall, rHost, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/hall/proposals/:proposal/cosign":   onTender(asSup, rSupervisor),
	"POST /api/v1/tenders/:id/sections/:section/hall/qualification":                onTender(asHost, rHost),
	"GET /api/v1/tenders/:id/sections/:section/hall/qualification":                 onTender(asHall, rBidder, rHost, rSupervisor),
	"GET /api/v1/tenders/:id/sections/:section/hall/record/exports":                onTender(asHall, rBidder, rHost, rSupervisor),
	"GET /api/v1/tenders/:id/sections/:section/hall/record/time-stamps":            onTender(asHall, rBidder, rHost, rSupervisor),
	"GET /api/v1/tenders/:id/sections/:section/hall/record.pdf":                    onTender(asHall, rBidder, rHost, rSupervisor),
	"GET /api/v1/tenders/:id/sections/:section/hall/record.json":                   onTender(asHall, rBidder, rHost, rSupervisor),
	"GET /api/v1/public/tenders/:id/sections/:section/record":                      public, // the published record (开标记录公示); nothing before publication

	"GET /api/v1/specialties":                                                    anyone,
	"GET /api/v1/cities":                                                         anyone,
	"POST /api/v1/experts":                                                       roles(rAdmin),
	"GET /api/v1/experts":                                                        roles(rAdmin, rSupervisor),
	"POST /api/v1/experts/import":                                                roles(rAdmin),
	"GET /api/v1/experts/:id":                                                    roles(rAdmin, rSupervisor),
	"PUT /api/v1/experts/:id":                                                    roles(rAdmin),
	"POST /api/v1/experts/:id/status":                                            roles(rAdmin),
	"POST /api/v1/experts/:id/relations":                                         roles(rAdmin),
	"POST /api/v1/experts/:id/violations":                                        roles(rAdmin),
	"POST /api/v1/experts/:id/assessments":                                       roles(rAdmin, rHost),
	"POST /api/v1/experts/:id/history":                                           roles(rAdmin),
	"GET /api/v1/expert/me":                                                      roles(rExpert),
	"POST /api/v1/expert/relations":                                              roles(rExpert),
	"POST /api/v1/expert/unavailability":                                         roles(rExpert),
	"DELETE /api/v1/expert/unavailability/:id":                                   roles(rExpert),
	"GET /api/v1/expert/draws":                                                   roles(rExpert),
	"POST /api/v1/expert/draws/:id/accept":                                       roles(rExpert),
	"POST /api/v1/expert/draws/:id/decline":                                      roles(rExpert),
	"POST /api/v1/venues":                                                        roles(rAdmin),
	"GET /api/v1/venues":                                                         anyone,
	"GET /api/v1/venues/:id":                                                     anyone,
	"PUT /api/v1/venues/:id":                                                     roles(rAdmin),
	"POST /api/v1/venues/:id/seats":                                              roles(rAdmin),
	"POST /api/v1/venues/:id/staff":                                              roles(rAdmin),
	"GET /api/v1/venues/:id/bookings":                                            roles(rHost, rAdmin, rVenue),
	"PUT /api/v1/seats/:id":                                                      roles(rAdmin),
	"POST /api/v1/seats/:id/bookings":                                            roles(rHost, rAdmin),
	"POST /api/v1/bookings/:id/cancel":                                           roles(rHost, rAdmin),
	"GET /api/v1/venue/bookings":                                                 roles(rVenue),
	"POST /api/v1/draws":                                                         onTender(asEval, rHost),
	"GET /api/v1/draws":                                                          onTender(asDraw, rHost, rSupervisor),
	"GET /api/v1/draws/:id":                                                      anyone,
	"POST /api/v1/draws/:id/reveal":                                              onTender(asDraw, rHost, rSupervisor),
	"GET /api/v1/draws/:id/members":                                              onTender(asDraw),
	"GET /api/v1/draws/:id/exclusions":                                           onTender(asDraw, rHost, rSupervisor),
	"GET /api/v1/draws/:id/snapshot":                                             onTender(asDraw, rHost, rSupervisor),
	"POST /api/v1/draws/:id/members/:expert/release":                             onTender(asEval, rHost),
	"POST /api/v1/draws/:id/dispatch":                                            onTender(asEval, rHost),
	"GET /api/v1/draws/:id/assignments":                                          onTender(asDraw),
	"PUT /api/v1/draws/:id/assignments/:expert":                                  onTender(asEval, rHost),
	"POST /api/v1/draws/:id/publish":                                             onTender(asEval, rHost),
	"POST /api/v1/sessions":                                                      onTender(asEval, rHost),
	"GET /api/v1/sessions":                                                       onTender(asDraw, rHost, rSupervisor),
	"GET /api/v1/sessions/:id":                                                   onTender(asDraw, rHost, rSupervisor),
	"GET /api/v1/sessions/:id/events":                                            onTender(asDraw, rHost, rSupervisor),
	"GET /api/v1/sessions/:id/live":                                              onTender(asDraw, rHost, rSupervisor, rExpert, rVenue),
	"POST /api/v1/sessions/:id/messages":                                         onTender(asEval, rHost),
	"GET /api/v1/sessions/:id/members/:member/photo":                             onTender(asDraw, rHost, rSupervisor),
	"PUT /api/v1/experts/:id/photo":                                              roles(rAdmin),
	"GET /api/v1/venue/sessions/:id/members/:member/photo":                       roles(rVenue),
	"GET /api/v1/sessions/:id/reads":                                             onTender(asDraw, rHost, rSupervisor),
	"POST /api/v1/sessions/:id/checkin":                                          onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/review":                                           onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/signing":                                          onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/close":                                            onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/resume":                                           onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/suspend":                                          onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/void":                                             onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/extend":                                           onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/members/:member/remove":                           onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/members/:member/replace":                          onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/groups/:group/representatives":                    onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/bids/:envelope/supervision":                       onTender(asSup, rSupervisor),
	"GET /api/v1/sessions/:id/sections/:section/review":                          onTender(asDraw, rHost, rSupervisor),
	"PUT /api/v1/sessions/:id/sections/:section/review/facts":                    onTender(asEval, rHost),
	"GET /api/v1/expert/sessions/:id/sections/:section/review":                   roles(rExpert),
	"PUT /api/v1/expert/sessions/:id/sections/:section/review/marks":             roles(rExpert),
	"POST /api/v1/expert/sessions/:id/sections/:section/review/submissions":      roles(rExpert),
	"POST /api/v1/expert/sessions/:id/sections/:section/review/sheets/reopen":    roles(rExpert),
	"POST /api/v1/expert/sessions/:id/sections/:section/review/conclude-initial": roles(rExpert),
	"POST /api/v1/expert/sessions/:id/sections/:section/review/decisions":        roles(rExpert),
	"POST /api/v1/expert/sessions/:id/sections/:section/review/notes":            roles(rExpert),
	"POST /api/v1/expert/sessions/:id/sections/:section/review/summary":          roles(rExpert),
	"POST /api/v1/expert/sessions/:id/sections/:section/review/reopen":           roles(rExpert),
	"GET /api/v1/expert/sessions/:id/report":                                     roles(rExpert),
	"GET /api/v1/expert/sessions/:id/report/pdf":                                 roles(rExpert),
	"GET /api/v1/expert/sessions/:id/report/pdf-signing":                         roles(rExpert),
	"GET /api/v1/expert/sessions/:id/report/canonical":                           roles(rExpert),
	"POST /api/v1/expert/sessions/:id/report/signatures":                         roles(rExpert),
	"GET /api/v1/sessions/:id/report":                                            onTender(asDraw, rHost, rSupervisor),
	"GET /api/v1/sessions/:id/report/pdf":                                        onTender(asDraw, rHost, rSupervisor),
	"POST /api/v1/sessions/:id/report":                                           onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/report/refusals":                                  onTender(asEval, rHost),
	"GET /api/v1/expert/pledge":                                                  roles(rExpert),
	"GET /api/v1/expert/sessions":                                                roles(rExpert),
	"GET /api/v1/expert/sessions/:id":                                            roles(rExpert),
	"GET /api/v1/expert/sessions/:id/events":                                     roles(rExpert),
	"POST /api/v1/expert/sessions/:id/pledge":                                    roles(rExpert),
	"POST /api/v1/expert/sessions/:id/declaration":                               roles(rExpert),
	"POST /api/v1/expert/sessions/:id/chair-votes":                               roles(rExpert),
	"POST /api/v1/expert/sessions/:id/extension-requests":                        roles(rExpert),
	"GET /api/v1/expert/sessions/:id/bids":                                       roles(rExpert),
	"GET /api/v1/expert/sessions/:id/bids/:envelope":                             roles(rExpert),
	"GET /api/v1/venue/sessions":                                                 roles(rVenue),
	"GET /api/v1/venue/sessions/:id":                                             roles(rVenue),
	"GET /api/v1/venue/sessions/:id/events":                                      roles(rVenue),
	"POST /api/v1/venue/sessions/:id/members/:member/confirm":                    roles(rVenue),
	"POST /api/v1/expert/sessions/:id/media":                                     roles(rExpert),
	"POST /api/v1/sessions/:id/media":                                            onTender(asDraw, rHost, rSupervisor),
	"POST /api/v1/venue/sessions/:id/media":                                      roles(rVenue),
	"POST /api/v1/sessions/:id/groups/:group/seats/:member/mute":                 onTender(asEval, rHost),
	"POST /api/v1/sessions/:id/groups/:group/seats/:member/remove":               onTender(asEval, rHost),

	// 中标候选人公示: the tender's host staff publish, answer and conclude; a bidder of the
	// section objects (checked on the bid set by the handler); anyone reads the public facts.
	"POST /api/v1/sessions/:id/publications":                                           onTender(asPub, rHost),
	"GET /api/v1/sessions/:id/publications":                                            onTender([]kaiping.Duty{kaiping.DutyEvaluationHost, kaiping.DutyHost, kaiping.DutySupervisor}, rHost, rSupervisor),
	"POST /api/v1/sessions/:id/publications/:publication/objections/:objection/answer": onTender(asPub, rHost),
	"POST /api/v1/sessions/:id/publications/:publication/conclude":                     onTender(asPub, rHost),
	"POST /api/v1/bidder/publications/:id/objections":                                  roles(rBidder),
	"GET /api/v1/bidder/publications/:id/objections":                                   roles(rBidder),
	"GET /api/v1/public/publications":                                                  public,
	"GET /api/v1/public/publications/:id":                                              public,
	// The committee's written requests to bidders: the chair sends (checked on the session),
	// the tender's supervisors watch and, where the centre says so, approve; the bidder asked
	// answers. No route lets a bidder start one.
	"POST /api/v1/expert/sessions/:id/inquiries": roles(rExpert),
	"GET /api/v1/expert/sessions/:id/inquiries":  roles(rExpert),
	"GET /api/v1/sessions/:id/inquiries":         onTender(asSup, rSupervisor),
	"POST /api/v1/inquiries/:id/approve":         onTender(asSup, rSupervisor),
	"POST /api/v1/inquiries/:id/refuse":          onTender(asSup, rSupervisor),
	"GET /api/v1/bidder/inquiries":               roles(rBidder),
	"POST /api/v1/bidder/inquiries/:id/answer":   roles(rBidder),
}

// webPages are the static folders clients/web mounts, each a public route.
var webPage = func(method, path string) bool {
	return method == http.MethodGet && strings.HasSuffix(path, "/*") && strings.Count(path, "/") == 2
}

// TestAuthorizationMatrix walks every mounted route × every role, as a principal holding
// only that role and assigned to nothing, on a real tender of someone else's; and, for the
// tender-scoped routes, as the host, supervisor and evaluation host assigned to it. Each
// cell's answer must be the table's: refused by role (auth.role_forbidden), refused for want
// of an assignment (tender.not_assigned), or let through to the handler, whatever it then
// answers. Draw, session and inquiry routes name an unknown draw, session or inquiry, so for
// them only the role gate is walked; internal/evaltest's API tests cover their assignment
// checks on real ones.
func TestAuthorizationMatrix(t *testing.T) {
	w := mustHallWorld(t, 3, nil)
	ta := w.ta
	ctx := context.Background()

	seen := map[string]bool{}
	for _, rt := range ta.Routes.Routes {
		key := rt.Method + " " + rt.Path
		if webPage(rt.Method, rt.Path) {
			if !rt.Public {
				t.Errorf("%s: a page folder must be public", key)
			}
			continue
		}
		seen[key] = true
		want, ok := authzMatrix[key]
		switch {
		case !ok:
			t.Errorf("route %s has no row in authzMatrix: decide who may call it", key)
		case want.public != rt.Public:
			t.Errorf("%s: public %v, the matrix says %v", key, rt.Public, want.public)
		}
		if rt.Ledgered != ledgeredRoutes[key] {
			t.Errorf("%s ledgers its refusals as %q, ledgeredRoutes says %q", key, rt.Ledgered, ledgeredRoutes[key])
		}
	}
	for key := range authzMatrix {
		if !seen[key] {
			t.Errorf("authzMatrix row %s names no mounted route", key)
		}
	}

	// A principal per role, assigned to nothing; and the tender's own staff.
	unassigned := map[kaiping.Role]*apiclient.Client{}
	for _, r := range kaiping.Roles {
		unassigned[r] = ta.mustLogin(t, ta.mustRegister(t, w.admin, devpki.ECDSA, "矩阵"+r.Label(), r))
	}
	staff := map[kaiping.Duty]*apiclient.Client{}
	for _, d := range kaiping.Duties {
		c := ta.mustLogin(t, ta.mustRegister(t, w.admin, devpki.ECDSA, "指派"+d.Label(), d.Role()))
		ta.mustAssign(t, w.tender.ID, principalID(t, c), d)
		staff[d] = c
	}

	fill := strings.NewReplacer(
		"/tenders/:id", "/tenders/"+string(w.tender.ID),
		":section", "BD1",
	)
	call := func(c *apiclient.Client, method, path string) (int, string) {
		url := ta.base + fill.Replace(path)
		for _, p := range []string{":upload", ":objection", ":assignment", ":expert", ":proposal", ":id"} {
			url = strings.ReplaceAll(url, p, string(kaiping.NewID()))
		}
		url = strings.ReplaceAll(url, "?", "")
		if method == http.MethodGet && (strings.HasSuffix(path, "/api/v1/draws") || strings.HasSuffix(path, "/api/v1/sessions")) {
			url += "?tender=" + string(w.tender.ID)
		}
		var body io.Reader
		if method != http.MethodGet {
			body = strings.NewReader(`{"tender_id":"` + string(w.tender.ID) + `"}`)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&answer)
		return resp.StatusCode, answer.Error.Code
	}
	gate := func(status int, code string) string {
		switch code {
		case "auth.role_forbidden", "tender.not_assigned", "auth.missing_token", "auth.invalid_token", "auth.token_expired":
			return code
		}
		if status == http.StatusUnauthorized {
			return "401"
		}
		return "through"
	}
	for _, rt := range ta.Routes.Routes {
		key := rt.Method + " " + rt.Path
		want, ok := authzMatrix[key]
		if !ok || rt.Public {
			continue
		}
		drawScoped := strings.HasPrefix(rt.Path, "/api/v1/draws/:id") || strings.HasPrefix(rt.Path, "/api/v1/sessions/:id") ||
			strings.HasPrefix(rt.Path, "/api/v1/inquiries/:id")
		for _, r := range kaiping.Roles {
			expect := "through"
			switch {
			case want.roles != nil && !slices.Contains(want.roles, r):
				expect = "auth.role_forbidden"
			case len(want.duties) > 0 && (r == rHost || r == rSupervisor) && want.roles != nil && !drawScoped:
				expect = "tender.not_assigned"
			}
			if got := gate(call(unassigned[r], rt.Method, rt.Path)); got != expect {
				t.Errorf("%s as an unassigned %s: %s, the matrix says %s", key, r, got, expect)
			}
		}
		if len(want.duties) == 0 || drawScoped {
			continue
		}
		for _, d := range kaiping.Duties {
			expect := "through"
			switch {
			case want.roles != nil && !slices.Contains(want.roles, d.Role()):
				expect = "auth.role_forbidden"
			case !slices.Contains(want.duties, d) && want.roles != nil:
				expect = "tender.not_assigned"
			}
			if got := gate(call(staff[d], rt.Method, rt.Path)); got != expect {
				t.Errorf("%s as the tender's %s: %s, the matrix says %s", key, d, got, expect)
			}
		}
	}
	// Sessions are refused on every non-public route without a token.
	anon := apiclient.New(ta.base)
	for _, rt := range ta.Routes.Routes {
		if rt.Public {
			continue
		}
		if status, _ := call(anon, rt.Method, rt.Path); status != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d, want 401", rt.Method, rt.Path, status)
		}
	}
}

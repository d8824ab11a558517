package evaltest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/internal/evaltest"
)

// sessionScene is the scene's committee drawn, accepted and dispatched, with certified logins
// for every drawn expert and the tenderer's two representatives, and staff at every venue.
type sessionScene struct {
	*scene
	draw    evaluation.Draw
	logins  map[kaiping.ID]evaltest.Signer   // by member ID (expert ID, or the representative's principal)
	staff   map[kaiping.ID]kaiping.Principal // by venue
	reps    []evaltest.Signer
	request evaluation.CreateSessionRequest
}

func mustSessionScene(tb testing.TB) *sessionScene {
	tb.Helper()
	return mustSessionSceneOn(tb, mustScene(tb))
}

// mustSessionSceneOn builds the session scene on sc.
func mustSessionSceneOn(tb testing.TB, sc *scene) *sessionScene {
	tb.Helper()
	s := &sessionScene{scene: sc, logins: map[kaiping.ID]evaltest.Signer{}, staff: map[kaiping.ID]kaiping.Principal{}}
	ctx := context.Background()
	s.draw = s.mustDraw(tb)
	members, err := s.Store.Members(ctx, s.draw.ID)
	must(tb, err)
	for _, m := range members {
		login := s.CertifiedExpert(tb, s.experts[m.ExpertCode])
		s.logins[m.Expert] = login
		_, err := s.Service.Accept(ctx, s.Actor(login.Principal), s.draw.ID)
		must(tb, err)
	}
	assigned, err := s.Service.Dispatch(ctx, s.Actor(s.Host), s.draw.ID)
	must(tb, err)
	taken := map[kaiping.ID]bool{}
	for _, as := range assigned {
		taken[as.Seat] = true
	}
	seats, err := s.Store.Seats(ctx, s.kf.ID)
	must(tb, err)
	var reps []evaluation.RepresentativeRequest
	for i := range 2 {
		rep := s.CertifiedPrincipal(tb, []string{"招标人代表甲", "招标人代表乙"}[i], tenderer, kaiping.RoleExpert)
		s.reps = append(s.reps, rep)
		s.logins[rep.ID] = rep
		for _, seat := range seats {
			if !taken[seat.ID] {
				taken[seat.ID] = true
				_, err := s.Service.Book(ctx, s.Actor(s.Host), seat.ID, evaluation.Booking{
					Start: s.session.Start, End: s.session.End, Purpose: "招标人代表 " + rep.Name})
				must(tb, err)
				reps = append(reps, evaluation.RepresentativeRequest{Principal: rep.ID, Seat: seat.ID})
				break
			}
		}
	}
	for _, v := range []evaluation.Venue{s.kf, s.zz, s.pds} {
		p := s.Principal(tb, v.Name+"工作人员", v.Name, kaiping.RoleVenueStaff)
		must(tb, s.Service.AddStaff(ctx, s.Actor(s.Admin), v.ID, p.ID))
		s.staff[v.ID] = p
	}
	s.request = evaluation.CreateSessionRequest{Tender: s.tender.ID, Groups: []evaluation.GroupRequest{
		{Name: "第一评标小组", Draw: s.draw.ID, Sections: []string{"BD1"}, Representatives: reps}}}
	return s
}

// stranger gives an expert of the pool who is not on the committee a certified login.
func (s *sessionScene) stranger(tb testing.TB) evaltest.Signer {
	tb.Helper()
	for _, code := range []string{"KF05", "KF04", "ZZ05", "PD04"} {
		x := s.experts[code]
		if _, drawn := s.logins[x.ID]; !drawn {
			return s.CertifiedExpert(tb, x)
		}
	}
	tb.Fatal("every candidate stranger is on the committee")
	return evaltest.Signer{}
}

// mustSession creates the session and opens check-in half an hour before the start.
func (s *sessionScene) mustSession(tb testing.TB) evaluation.Session {
	tb.Helper()
	ctx := context.Background()
	sess, err := s.Service.CreateSession(ctx, s.Actor(s.Host), s.request)
	must(tb, err)
	s.Clock.Set(s.session.Start.Add(-30 * time.Minute))
	sess, err = s.Service.OpenCheckIn(ctx, s.Actor(s.Host), sess.ID)
	must(tb, err)
	return sess
}

// confirm has the staff of m's venue confirm m at their seat.
func (s *sessionScene) confirm(tb testing.TB, sess evaluation.Session, m evaluation.SessionMember) evaluation.Session {
	tb.Helper()
	out, err := s.Service.ConfirmMember(context.Background(), s.Actor(s.staff[m.Venue]), sess.ID, m.ID, m.Seat)
	must(tb, err)
	return out
}

// pledge has m sign the pledge with their certificate.
func (s *sessionScene) pledge(tb testing.TB, sess evaluation.Session, m evaluation.SessionMember) (evaluation.Session, error) {
	tb.Helper()
	login := s.logins[m.ID]
	sig, err := certsign.Sign(login.Key, evaluation.PledgeMessage(sess.ID, m.ID, evaluation.PledgeDigest()))
	must(tb, err)
	return s.Service.Pledge(context.Background(), s.Actor(login.Principal), sess.ID, evaluation.PledgeRequest{
		Digest: evaluation.PledgeDigest(), Certificate: login.Fingerprint, Signature: sig})
}

// ready takes m through confirmation, pledge and a declaration of no conflict.
func (s *sessionScene) ready(tb testing.TB, sess evaluation.Session, m evaluation.SessionMember) evaluation.Session {
	tb.Helper()
	sess = s.confirm(tb, sess, m)
	sess, err := s.pledge(tb, sess, m)
	must(tb, err)
	sess, err = s.Service.Declare(context.Background(), s.Actor(s.logins[m.ID].Principal), sess.ID, evaluation.DeclarationRequest{})
	must(tb, err)
	return sess
}

func sitting(sess evaluation.Session) []evaluation.SessionMember {
	var out []evaluation.SessionMember
	for _, m := range sess.Members {
		if st := m.Stage(); st != evaluation.StageReplaced && st != evaluation.StageLeft {
			out = append(out, m)
		}
	}
	return out
}

func memberOf(tb testing.TB, sess evaluation.Session, id kaiping.ID) evaluation.SessionMember {
	tb.Helper()
	for _, m := range sess.Members {
		if m.ID == id {
			return m
		}
	}
	tb.Fatalf("no member %s", id)
	return evaluation.SessionMember{}
}

func TestSessionFromCheckInToReview(t *testing.T) {
	s := mustSessionScene(t)
	ctx := context.Background()
	sess := s.mustSession(t)
	if sess.State != evaluation.SessionCheckingIn || len(sess.Members) != 7 || sess.HostVenue != s.kf.ID {
		t.Fatalf("session %s with %d members, host %s", sess.State, len(sess.Members), sess.HostVenue)
	}
	cities := map[string]bool{}
	for _, m := range sess.Members {
		cities[m.City] = true
		if m.Seat == "" || m.HostSite != (m.Venue == s.kf.ID) {
			t.Errorf("member %s seated at %q (host site %v)", m.Name, m.SeatCode, m.HostSite)
		}
	}
	if len(cities) < 2 {
		t.Errorf("members in %d cities, want the host site and remote sites", len(cities))
	}

	// Every drawn member but one gets ready; the last declares a conflict and is replaced.
	var drawn []evaluation.SessionMember
	for _, m := range sess.Members {
		if m.Kind == evaluation.MemberDrawn {
			drawn = append(drawn, m)
		}
	}
	for _, m := range sess.Members {
		if m.ID != drawn[0].ID {
			sess = s.ready(t, sess, m)
		}
	}
	recusing := drawn[0]
	sess = s.confirm(t, sess, recusing)
	sess, err := s.pledge(t, sess, recusing)
	must(t, err)
	before := len(sess.Members)
	sess, err = s.Service.Declare(ctx, s.Actor(s.logins[recusing.ID].Principal), sess.ID,
		evaluation.DeclarationRequest{Conflict: true, Reason: "近三年曾在投标人甲建设工程有限公司兼职"})
	must(t, err)
	if got := memberOf(t, sess, recusing.ID).Stage(); got != evaluation.StageReplaced {
		t.Fatalf("recused member is %s, want replaced", got)
	}
	if len(sess.Members) != before+1 {
		t.Fatalf("%d members after the replacement, want %d", len(sess.Members), before+1)
	}
	newcomer := sess.Members[len(sess.Members)-1]
	if newcomer.Kind != evaluation.MemberDrawn || newcomer.Accepted || newcomer.Seat == "" {
		t.Fatalf("replacement %+v: want a drawn member, seated, not yet accepted", newcomer)
	}
	ms, err := s.Store.Members(ctx, s.draw.ID)
	must(t, err)
	for _, m := range ms {
		if m.Expert == recusing.ID && m.State != evaluation.MemberRecused {
			t.Errorf("draw member state %s, want recused", m.State)
		}
		if m.Expert == newcomer.ID && (m.Round != 1 || m.Replaces != recusing.ID) {
			t.Errorf("replacement round %d replaces %s", m.Round, m.Replaces)
		}
	}
	rep := mustVerify(t, s.Env, s.draw.ID)
	if rep.Replacements != 1 {
		t.Errorf("verify counts %d replacements, want 1", rep.Replacements)
	}

	// The replaced member can do nothing more.
	_, err = s.Service.Vote(ctx, s.Actor(s.logins[recusing.ID].Principal), sess.ID, sess.Members[1].ID)
	wantCode(t, err, kaiping.KindForbidden, "session.member_replaced")

	// The newcomer cannot be confirmed before accepting; then gets ready.
	_, err = s.Service.ConfirmMember(ctx, s.Actor(s.staff[newcomer.Venue]), sess.ID, newcomer.ID, newcomer.Seat)
	wantCode(t, err, kaiping.KindConflict, "session.member_not_accepted")
	login := s.CertifiedExpert(t, mustExpert(t, s.Env, newcomer.ID))
	s.logins[newcomer.ID] = login
	_, err = s.Service.Accept(ctx, s.Actor(login.Principal), s.draw.ID)
	must(t, err)
	// The session takes the acceptance in at once: the venue's staff see the newcomer to
	// check, and the newcomer their session, before anything else changes it.
	sess, err = s.Service.Session(ctx, sess.ID)
	must(t, err)
	if m := memberOf(t, sess, newcomer.ID); m.Stage() != evaluation.StageArrived || m.Principal != login.Principal.ID {
		t.Fatalf("after accepting, the newcomer is at stage %s as %q, want arrived as %s", m.Stage(), m.Principal, login.Principal.ID)
	}
	evs, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Venues: []kaiping.ID{newcomer.Venue}}, 500)
	must(t, err)
	if !slices.ContainsFunc(evs, func(e evaluation.SessionEvent) bool { return e.Type == evaluation.ActionSessionAccepted }) {
		t.Errorf("the venue's staff have no %s event after the newcomer accepted", evaluation.ActionSessionAccepted)
	}
	sess = s.ready(t, sess, memberOf(t, sess, newcomer.ID))

	// Review cannot start without a chair; the chair is elected by a majority.
	_, err = s.Service.StartReview(ctx, s.Actor(s.Host), sess.ID)
	wantCode(t, err, kaiping.KindConflict, "session.no_chair")
	chair := sitting(sess)[1]
	for _, m := range sitting(sess) {
		sess, err = s.Service.Vote(ctx, s.Actor(s.logins[m.ID].Principal), sess.ID, chair.ID)
		must(t, err)
	}
	if g := sess.Groups[0]; g.Chair != chair.ID || g.VoteRound != 1 {
		t.Fatalf("chair %s in round %d, want %s in round 1", g.Chair, g.VoteRound, chair.ID)
	}
	sess, err = s.Service.StartReview(ctx, s.Actor(s.Host), sess.ID)
	must(t, err)
	if sess.State != evaluation.SessionInReview {
		t.Fatalf("state %s", sess.State)
	}

	// Every change is in the ledger and in the events, with its audience: votes only for
	// the overseers.
	overseer, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Overseer: true}, 1000)
	must(t, err)
	member, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Member: chair.ID}, 1000)
	must(t, err)
	if int64(len(overseer)) != sess.Version {
		t.Errorf("%d events for version %d", len(overseer), sess.Version)
	}
	var votes int
	for _, e := range overseer {
		if e.Type == evaluation.ActionSessionVote {
			votes++
		}
	}
	if votes != 7 || slices.ContainsFunc(member, func(e evaluation.SessionEvent) bool { return e.Type == evaluation.ActionSessionVote }) {
		t.Errorf("%d vote events for overseers; a member sees votes: %v", votes, slices.ContainsFunc(member, func(e evaluation.SessionEvent) bool {
			return e.Type == evaluation.ActionSessionVote
		}))
	}
	var n int
	must(t, s.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE subject = $1`, string(sess.ID)).Scan(&n))
	if n != len(overseer) {
		t.Errorf("%d ledger entries for %d events", n, len(overseer))
	}
}

func mustExpert(tb testing.TB, env *evaltest.Env, id kaiping.ID) evaluation.Expert {
	tb.Helper()
	e, err := env.Store.Expert(context.Background(), id)
	must(tb, err)
	return e
}

// TestSessionRefusals tries what the session must refuse: each answer carries its code, and
// neither the session nor the ledger changes.
func TestSessionRefusals(t *testing.T) {
	s := mustSessionScene(t)
	ctx := context.Background()

	// A session from a draw still waiting for its external seed.
	pending := s.scene.request()
	pending.SeedCommitment = "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9"
	waiting, err := s.Service.Draw(ctx, s.Actor(s.Host), pending)
	must(t, err)
	bad := s.request
	bad.Groups = []evaluation.GroupRequest{{Name: "第二评标小组", Draw: waiting.ID, Sections: []string{"BD1"}}}
	n := ledgerSize(t, s.Env)
	_, err = s.Service.CreateSession(ctx, s.Actor(s.Host), bad)
	wantCode(t, err, kaiping.KindConflict, "session.draw_not_drawn")
	if ledgerSize(t, s.Env) != n {
		t.Fatal("a refused session was ledgered")
	}
	missing := s.request
	missing.Groups = []evaluation.GroupRequest{{Name: "第一评标小组", Draw: s.draw.ID, Sections: []string{"BD1"}}}
	_, err = s.Service.CreateSession(ctx, s.Actor(s.Host), missing)
	wantCode(t, err, kaiping.KindInvalid, "session.representatives")
	// A representative's seat must be reserved for the window: an expert's seat is not.
	assigned, err := s.Store.Assignments(ctx, s.draw.ID)
	must(t, err)
	unreserved := s.request
	g := s.request.Groups[0]
	g.Representatives = []evaluation.RepresentativeRequest{g.Representatives[0], {Principal: g.Representatives[1].Principal, Seat: assigned[0].Seat}}
	unreserved.Groups = []evaluation.GroupRequest{g}
	_, err = s.Service.CreateSession(ctx, s.Actor(s.Host), unreserved)
	if c := kaiping.CodeOf(err); c != "session.representative_seat_unreserved" && c != "session.representative_seat" {
		t.Fatalf("a representative on an expert's seat: %v", err)
	}
	g.Representatives[1].Seat = g.Representatives[0].Seat
	_, err = s.Service.CreateSession(ctx, s.Actor(s.Host), unreserved)
	wantCode(t, err, kaiping.KindInvalid, "session.representative_seat")

	sess, err := s.Service.CreateSession(ctx, s.Actor(s.Host), s.request)
	must(t, err)
	_, err = s.Service.CreateSession(ctx, s.Actor(s.Host), s.request)
	wantCode(t, err, kaiping.KindConflict, "session.draw_taken")

	first := sess.Members[0]
	login := s.logins[first.ID]
	// Too early: check-in opens an hour before the start.
	s.Clock.Set(s.session.Start.Add(-2 * time.Hour))
	_, err = s.Service.OpenCheckIn(ctx, s.Actor(s.Host), sess.ID)
	wantCode(t, err, kaiping.KindTooEarly, "session.outside_window")
	s.Clock.Set(s.session.Start.Add(-30 * time.Minute))
	sess, err = s.Service.OpenCheckIn(ctx, s.Actor(s.Host), sess.ID)
	must(t, err)

	stranger := s.stranger(t)
	other := sess.Members[1]
	var wrongVenue kaiping.Principal
	for v, p := range s.staff {
		if v != first.Venue {
			wrongVenue = p
		}
	}
	sig, err := certsign.Sign(login.Key, evaluation.PledgeMessage(sess.ID, first.ID, evaluation.PledgeDigest()))
	must(t, err)
	pledge := evaluation.PledgeRequest{Digest: evaluation.PledgeDigest(), Certificate: login.Fingerprint, Signature: sig}

	refusals := []struct {
		name string
		try  func() error
		kind kaiping.Kind
		code string
	}{
		{"a stranger pledging", func() error {
			_, err := s.Service.Pledge(ctx, s.Actor(stranger.Principal), sess.ID, evaluation.PledgeRequest{
				Digest: evaluation.PledgeDigest(), Certificate: stranger.Fingerprint, Signature: sig})
			return err
		}, kaiping.KindForbidden, "session.not_member"},
		{"a pledge signed by another key", func() error {
			wrong, err := certsign.Sign(stranger.Key, evaluation.PledgeMessage(sess.ID, first.ID, evaluation.PledgeDigest()))
			must(t, err)
			p := pledge
			p.Signature = wrong
			_, err = s.Service.Pledge(ctx, s.Actor(login.Principal), sess.ID, p)
			return err
		}, kaiping.KindInvalid, "session.bad_signature"},
		{"a stranger reading bids", func() error {
			_, err := s.Service.Bids(ctx, s.Actor(stranger.Principal), sess.ID)
			return err
		}, kaiping.KindForbidden, "session.not_member"},
		{"the host reading bids", func() error {
			_, _, err := s.Service.ReadBid(ctx, s.Actor(s.Host), sess.ID, kaiping.NewID())
			return err
		}, kaiping.KindForbidden, "session.not_member"},
		{"pledging before the identity check", func() error {
			_, err := s.Service.Pledge(ctx, s.Actor(login.Principal), sess.ID, pledge)
			return err
		}, kaiping.KindForbidden, "session.not_confirmed"},
		{"staff of another venue confirming", func() error {
			_, err := s.Service.ConfirmMember(ctx, s.Actor(wrongVenue), sess.ID, first.ID, first.Seat)
			return err
		}, kaiping.KindForbidden, "session.not_venue_staff"},
		{"confirming at another seat", func() error {
			_, err := s.Service.ConfirmMember(ctx, s.Actor(s.staff[first.Venue]), sess.ID, first.ID, kaiping.NewID())
			return err
		}, kaiping.KindConflict, "session.wrong_seat"},
		{"a pledge with another's certificate", func() error {
			_, err := s.Service.Pledge(ctx, s.Actor(login.Principal), sess.ID, evaluation.PledgeRequest{
				Digest: evaluation.PledgeDigest(), Certificate: s.logins[other.ID].Fingerprint, Signature: sig})
			return err
		}, kaiping.KindForbidden, "session.certificate"},
		{"a pledge of another text", func() error {
			p := pledge
			p.Digest = "00" + p.Digest[2:]
			_, err := s.Service.Pledge(ctx, s.Actor(login.Principal), sess.ID, p)
			return err
		}, kaiping.KindInvalid, "session.pledge_text"},
		{"starting review before anyone is ready", func() error {
			_, err := s.Service.StartReview(ctx, s.Actor(s.Host), sess.ID)
			return err
		}, kaiping.KindConflict, "session.not_ready"},
		{"closing before signing", func() error {
			_, err := s.Service.Close(ctx, s.Actor(s.Host), sess.ID)
			return err
		}, kaiping.KindConflict, "session.state"},
		{"a conflict declared without a reason", func() error {
			_, err := s.Service.Declare(ctx, s.Actor(login.Principal), sess.ID, evaluation.DeclarationRequest{Conflict: true})
			return err
		}, kaiping.KindInvalid, "session.declare_reason"},
	}
	check := func(t *testing.T, try func() error, kind kaiping.Kind, code string) {
		t.Helper()
		before, err := s.Service.Session(ctx, sess.ID)
		must(t, err)
		n := ledgerSize(t, s.Env)
		wantCode(t, try(), kind, code)
		after, err := s.Service.Session(ctx, sess.ID)
		must(t, err)
		if after.Version != before.Version || ledgerSize(t, s.Env) != n {
			t.Errorf("refusal changed the session (version %d → %d) or the ledger", before.Version, after.Version)
		}
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) { check(t, r.try, r.kind, r.code) })
	}

	// Confirmed but not pledged: no bids; pledged and declared: a second vote is refused.
	sess = s.confirm(t, sess, first)
	t.Run("reading bids before pledging", func(t *testing.T) {
		check(t, func() error { _, err := s.Service.Bids(ctx, s.Actor(login.Principal), sess.ID); return err },
			kaiping.KindForbidden, "session.not_pledged")
	})
	sess, err = s.Service.Pledge(ctx, s.Actor(login.Principal), sess.ID, pledge)
	must(t, err)
	t.Run("pledging twice", func(t *testing.T) {
		check(t, func() error { _, err := s.Service.Pledge(ctx, s.Actor(login.Principal), sess.ID, pledge); return err },
			kaiping.KindConflict, "session.already_pledged")
	})
	t.Run("voting before declaring", func(t *testing.T) {
		check(t, func() error { _, err := s.Service.Vote(ctx, s.Actor(login.Principal), sess.ID, first.ID); return err },
			kaiping.KindForbidden, "session.not_declared")
	})
	sess, err = s.Service.Declare(ctx, s.Actor(login.Principal), sess.ID, evaluation.DeclarationRequest{})
	must(t, err)
	t.Run("voting for a member not yet ready", func(t *testing.T) {
		check(t, func() error { _, err := s.Service.Vote(ctx, s.Actor(login.Principal), sess.ID, other.ID); return err },
			kaiping.KindConflict, "session.candidate_not_ready")
	})
	_, err = s.Service.Vote(ctx, s.Actor(login.Principal), sess.ID, first.ID)
	must(t, err)
	t.Run("a second chair vote", func(t *testing.T) {
		check(t, func() error { _, err := s.Service.Vote(ctx, s.Actor(login.Principal), sess.ID, first.ID); return err },
			kaiping.KindConflict, "session.already_voted")
	})
	t.Run("reading bids with no bid service", func(t *testing.T) {
		check(t, func() error { _, err := s.Service.Bids(ctx, s.Actor(login.Principal), sess.ID); return err },
			kaiping.KindUnavailable, "session.bids_unavailable")
	})
	// After the window, a member's login no longer counts.
	s.Clock.Set(s.session.End.Add(time.Minute))
	t.Run("acting after the window", func(t *testing.T) {
		check(t, func() error {
			_, err := s.Service.RequestExtension(ctx, s.Actor(login.Principal), sess.ID, evaluation.ReasonRequest{Reason: "时间不够"})
			return err
		}, kaiping.KindTooLate, "session.outside_window")
	})
}

// TestSessionSuspension suspends a session in review and finds that past the 4-hour limit
// it can only be voided; before review the limit is 2 hours.
func TestSessionSuspension(t *testing.T) {
	s := mustSessionScene(t)
	ctx := context.Background()
	sess := s.mustSession(t)
	host := func() kaiping.Actor { return s.Actor(s.Host) }

	_, err := s.Service.Suspend(ctx, host(), sess.ID, evaluation.ReasonRequest{})
	wantCode(t, err, kaiping.KindInvalid, "session.reason")
	sess, err = s.Service.Suspend(ctx, host(), sess.ID, evaluation.ReasonRequest{Reason: "郑州副场网络中断"})
	must(t, err)
	if sess.State != evaluation.SessionSuspended || !sess.Suspension.Limit.Equal(s.Clock.Now().Add(2*time.Hour)) {
		t.Fatalf("suspended: %s until %v", sess.State, sess.Suspension)
	}
	s.Clock.Advance(2*time.Hour - time.Second)
	sess, err = s.Service.Resume(ctx, host(), sess.ID)
	must(t, err)
	if sess.State != evaluation.SessionCheckingIn || len(sess.Suspensions) != 1 {
		t.Fatalf("resumed to %s with %d suspensions", sess.State, len(sess.Suspensions))
	}

	// Into review, then a fault that lasts too long.
	for _, m := range sess.Members {
		sess = s.ready(t, sess, m)
	}
	for _, m := range sess.Members {
		sess, err = s.Service.Vote(ctx, s.Actor(s.logins[m.ID].Principal), sess.ID, sess.Members[0].ID)
		must(t, err)
	}
	sess, err = s.Service.StartReview(ctx, host(), sess.ID)
	must(t, err)
	sess, err = s.Service.Suspend(ctx, host(), sess.ID, evaluation.ReasonRequest{Reason: "主场断电"})
	must(t, err)
	if !sess.Suspension.Limit.Equal(s.Clock.Now().Add(4 * time.Hour)) {
		t.Fatalf("limit in review %v, want 4 hours", sess.Suspension.Limit)
	}
	s.Clock.Advance(4 * time.Hour)
	_, err = s.Service.Resume(ctx, host(), sess.ID)
	wantCode(t, err, kaiping.KindConflict, "session.suspension_expired")
	sess, err = s.Service.Void(ctx, host(), sess.ID, evaluation.ReasonRequest{Reason: "故障超过4小时，封存资料，重新组建评标委员会"})
	must(t, err)
	if sess.State != evaluation.SessionVoid {
		t.Fatalf("state %s, want void", sess.State)
	}
	_, err = s.Service.Resume(ctx, host(), sess.ID)
	wantCode(t, err, kaiping.KindConflict, "session.state")
	// The draw's committee cannot sit again: a new committee is a new draw.
	_, err = s.Service.CreateSession(ctx, host(), s.request)
	wantCode(t, err, kaiping.KindConflict, "session.draw_taken")
}

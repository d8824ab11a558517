package evaltest_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/httpapi/live"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/postgres"
)

// lostDraws is the real store whose draw transactions fail while cut is set, as they do when
// the database connection is lost (or the process dies) between the session's transaction
// and the draw's.
type lostDraws struct {
	*postgres.EvaluationStore
	cut atomic.Bool
}

func (l *lostDraws) Respond(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(evaluation.DrawState) (evaluation.Decision, error)) (evaluation.Decision, error) {
	if l.cut.Load() {
		return evaluation.Decision{}, kaiping.E(kaiping.KindUnavailable, "db.unavailable", "数据库暂时不可用")
	}
	return l.EvaluationStore.Respond(ctx, a, id, decide)
}

// TestReplacementInterrupted declares a conflict while the draw's transaction cannot commit:
// the member is off the committee at once (recusing), nothing is drawn, and once the database
// is back the host's ReplaceMember draws the replacement exactly once.
func TestReplacementInterrupted(t *testing.T) {
	s := mustSessionScene(t)
	ctx := context.Background()
	sess := s.mustSession(t)
	store := &lostDraws{EvaluationStore: s.Store}
	svc := evaluation.NewService(store, s.Notices, s.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)), evaluation.DefaultConfig)
	var m evaluation.SessionMember
	for _, x := range sess.Members {
		if x.Kind == evaluation.MemberDrawn {
			m = x
		}
	}
	sess = s.confirm(t, sess, m)
	sess, err := s.pledge(t, sess, m)
	must(t, err)
	store.cut.Store(true)
	_, err = svc.Declare(ctx, s.Actor(s.logins[m.ID].Principal), sess.ID, evaluation.DeclarationRequest{Conflict: true, Reason: "与投标人存在亲属关系"})
	wantCode(t, err, kaiping.KindUnavailable, "db.unavailable")
	sess, err = svc.Session(ctx, sess.ID)
	must(t, err)
	if got := memberOf(t, sess, m.ID).Stage(); got != evaluation.StageRecusing || len(sess.Members) != 7 {
		t.Fatalf("after the lost transaction: %s, %d members", got, len(sess.Members))
	}
	// The member cannot act meanwhile: they declared a conflict.
	_, err = svc.Vote(ctx, s.Actor(s.logins[m.ID].Principal), sess.ID, m.ID)
	wantCode(t, err, kaiping.KindForbidden, "session.not_declared")

	store.cut.Store(false)
	sess, err = svc.ReplaceMember(ctx, s.Actor(s.Host), sess.ID, m.ID)
	must(t, err)
	if got := memberOf(t, sess, m.ID).Stage(); got != evaluation.StageReplaced || len(sess.Members) != 8 {
		t.Fatalf("after ReplaceMember: %s, %d members", got, len(sess.Members))
	}
	_, err = svc.ReplaceMember(ctx, s.Actor(s.Host), sess.ID, m.ID)
	wantCode(t, err, kaiping.KindConflict, "session.nothing_to_replace")
	if rep := mustVerify(t, s.Env, s.draw.ID); rep.Replacements != 1 {
		t.Fatalf("%d replacements drawn, want 1", rep.Replacements)
	}
}

// TestDrawReleaseReachesSession records a member's no-show through the draw's own route
// (the host, by phone): the session's next change marks them replaced and seats the
// newcomer.
func TestDrawReleaseReachesSession(t *testing.T) {
	s := mustSessionScene(t)
	ctx := context.Background()
	sess := s.mustSession(t)
	var m evaluation.SessionMember
	for _, x := range sess.Members {
		if x.Kind == evaluation.MemberDrawn {
			m = x
		}
	}
	_, err := s.Service.Release(ctx, s.Actor(s.Host), s.draw.ID, m.ID, evaluation.MemberNoShow, "电话告知因病不能到场")
	must(t, err)
	_, err = s.Service.Dispatch(ctx, s.Actor(s.Host), s.draw.ID)
	must(t, err)
	sess, err = s.Service.SendMessage(ctx, s.Actor(s.Host), sess.ID, evaluation.MessageRequest{Text: "递补专家正在赶来"})
	must(t, err)
	gone := memberOf(t, sess, m.ID)
	if gone.Stage() != evaluation.StageReplaced || gone.Replaced.Outcome != evaluation.MemberNoShow || len(sess.Members) != 8 {
		t.Fatalf("after the release: %s (%v), %d members", gone.Stage(), gone.Replaced, len(sess.Members))
	}
	if n := sess.Members[7]; n.Seat == "" || n.Stage() != evaluation.StageAwaiting {
		t.Fatalf("newcomer %+v", n)
	}
}

// TestSessionSurvivesPostgresStop stops PostgreSQL in immediate mode in the middle of check-in:
// a member's pledge is refused as unavailable (never half-written), the live connection holds
// or comes back, and once PostgreSQL is back the same pledge goes through and reaches the
// watcher, with nothing lost of what was committed before.
func TestSessionSurvivesPostgresStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pg := devenv.OwnPostgres(t)
	// What PostgreSQL acknowledged must survive an immediate stop, as in production.
	must(t, pg.StopImmediate(ctx))
	must(t, pg.Restart(ctx, "synchronous_commit=on"))
	must(t, pg.CreateDatabase(ctx, "kaiping"))
	s := mustSessionSceneOn(t, mustSceneAt(t, pg.URL("kaiping")))
	var sl *evaluation.SessionLive
	a := mustAPIWith(t, s.scene, func(auth httpapi.Authenticator) []httpapi.Route {
		listener := postgres.NewListener(s.URL, slog.New(slog.NewTextHandler(io.Discard, nil)))
		listener.MinBackoff, listener.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
		sl = evaluation.NewSessionLive(s.Service, auth, s.Staff, listener.Channel(postgres.SessionChannel), s.Clock,
			slog.New(slog.NewTextHandler(io.Discard, nil)), live.DefaultConfig)
		go listener.Run(ctx)
		go sl.Run(ctx)
		return sl.Routes()
	})
	sess := s.mustSession(t)
	m := sess.Members[0]
	sess = s.confirm(t, sess, m)
	sup := dialSession(t, a, s.Supervisor, sess.ID)
	sup.next(live.TypeView, "")
	before := sess.Version

	must(t, pg.StopImmediate(ctx))
	_, err := s.pledge(t, sess, m)
	if kaiping.KindOf(err) != kaiping.KindUnavailable {
		t.Fatalf("pledge with PostgreSQL stopped: %v, want unavailable", err)
	}
	must(t, pg.Restart(ctx, "synchronous_commit=on"))

	after, err := s.Service.Session(ctx, sess.ID)
	must(t, err)
	if after.Version != before || memberOf(t, after, m.ID).Stage() != evaluation.StageConfirmed {
		t.Fatalf("after the outage: version %d (was %d), stage %s", after.Version, before, memberOf(t, after, m.ID).Stage())
	}
	sess, err = s.pledge(t, after, m)
	must(t, err)
	if memberOf(t, sess, m.ID).Stage() != evaluation.StagePledged {
		t.Fatalf("stage %s after the pledge", memberOf(t, sess, m.ID).Stage())
	}
	// The watcher learns of it: on its connection if it held (the listener resyncs), or on a
	// new one asking for what it missed.
	if got := sup.tryNext(live.TypeEvent, evaluation.ActionSessionPledge); got == nil {
		again := dialSessionAfter(t, a, s.Supervisor, sess.ID, before)
		again.next(live.TypeEvent, evaluation.ActionSessionPledge)
	}
}

// TestSeatMovedByOverride moves a confirmed member, not yet pledged, to another seat through
// the draw's own route: the session follows, records the move, and the member is checked
// again at the new seat; a login linked later is recorded for the overseers.
func TestSeatMovedByOverride(t *testing.T) {
	s := mustSessionScene(t)
	ctx := context.Background()
	sess := s.mustSession(t)
	var m evaluation.SessionMember
	for _, x := range sess.Members {
		if x.Kind == evaluation.MemberDrawn {
			m = x
		}
	}
	sess = s.confirm(t, sess, m)
	var to evaluation.Venue
	for _, v := range []evaluation.Venue{s.kf, s.zz, s.pds} {
		if v.ID != m.Venue {
			to = v
		}
	}
	_, err := s.Service.Override(ctx, s.Actor(s.Host), s.draw.ID, m.ID, to.ID, "", "工位设备故障")
	must(t, err)
	login := s.CertifiedExpert(t, mustExpert(t, s.Env, m.ID))
	sess, err = s.Service.SendMessage(ctx, s.Actor(s.Host), sess.ID, evaluation.MessageRequest{Text: "请到新工位就座"})
	must(t, err)
	moved := memberOf(t, sess, m.ID)
	if moved.Venue != to.ID || moved.Stage() != evaluation.StageArrived || moved.Principal != login.ID {
		t.Fatalf("after the move: venue %s (want %s), stage %s, login %s", moved.VenueCode, to.Code, moved.Stage(), moved.Principal)
	}
	evs, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Overseer: true}, 1000)
	must(t, err)
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Type] = true
	}
	if !seen[evaluation.ActionSessionSeatMoved] || !seen[evaluation.ActionSessionLogin] {
		t.Fatalf("events %v: want the seat's move and the new login recorded", seen)
	}
	// The staff of the new venue confirm at the new seat.
	s.confirm(t, sess, moved)
}

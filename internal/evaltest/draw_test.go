package evaltest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
)

func TestDrawCommittee(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	d := s.mustDraw(t)
	if d.Status != evaluation.DrawDrawn || len(d.Seed) != 64 || d.Rules.MinOutside != 3 || d.Rules.HostCity != kaifeng {
		t.Fatalf("draw %+v", d)
	}
	seed, _ := hex.DecodeString(d.Seed)
	if sum := sha256.Sum256(seed); hex.EncodeToString(sum[:]) != d.Commitment {
		t.Fatal("seed does not hash to the commitment")
	}
	ms, err := s.Store.Members(ctx, d.ID)
	must(t, err)
	if len(ms) != 5 {
		t.Fatalf("%d members, want 5", len(ms))
	}
	quotas := map[string]int{}
	outside := 0
	for _, m := range ms {
		quotas[m.Quota]++
		if m.Outside {
			outside++
		}
		if m.State != evaluation.MemberPending || !m.RespondBy.Equal(s.Clock.Now().Add(30*time.Minute)) {
			t.Errorf("member %+v", m)
		}
		switch m.ExpertCode {
		case "KF06", "ZZ07", "ZZ08", "PD05", "PD06":
			t.Errorf("%s should have stepped aside", m.ExpertCode)
		}
	}
	if !reflect.DeepEqual(quotas, map[string]int{"A01": 3, "A10": 1, "D01": 1}) || outside < 3 {
		t.Fatalf("quotas %v, %d outside", quotas, outside)
	}

	// Every exclusion with its reason.
	_, ex, err := s.Store.Snapshot(ctx, d.ID)
	must(t, err)
	got := map[string]string{}
	for _, e := range ex {
		for code, x := range s.experts {
			if string(x.ID) == e.Expert {
				got[code] = e.Reasons[0].Code
			}
		}
	}
	want := map[string]string{"KF06": draw.ReasonBidder, "ZZ07": draw.ReasonCalendar, "ZZ08": draw.ReasonSuspended,
		"PD05": draw.ReasonRelation, "PD06": draw.ReasonRecent}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("exclusions %v, want %v", got, want)
	}

	// The ledger holds the commitment before the snapshot, then the result, then the seed.
	var actions []string
	rec, err := s.Store.DrawRecord(ctx, d.ID)
	must(t, err)
	for _, e := range rec.Entries {
		actions = append(actions, e.Action)
	}
	if !reflect.DeepEqual(actions, []string{"draw.commit", "draw.snapshot", "draw.result", "draw.reveal"}) {
		t.Fatalf("ledger actions %v", actions)
	}
	if !strings.Contains(string(rec.Entries[0].Detail), d.Commitment) || strings.Contains(string(rec.Entries[0].Detail), d.Seed) {
		t.Fatal("the commit entry must hold the commitment and not the seed")
	}
	rep := mustVerify(t, s.Env, d.ID)
	if len(rep.Initial) != 5 || rep.SnapshotSize != d.SnapshotSize || rep.Excluded != 5 {
		t.Fatalf("verify report %+v", rep)
	}
	// The stored snapshot is evidence: the database refuses to change it.
	if _, err := s.DB.Pool.Exec(ctx, `UPDATE draw_snapshots SET exclusions = '[]'`); err == nil {
		t.Fatal("a draw snapshot was edited in place")
	}

	// Each drawn expert is told, without the project's name.
	notices := s.Notices.All()
	if len(notices) != 5 {
		t.Fatalf("%d notices", len(notices))
	}
	for _, n := range notices {
		if n.Kind != evaluation.NoticeDrawn || strings.Contains(n.Text, s.tender.Code) || strings.Contains(n.Text, tenderer) ||
			!strings.Contains(n.Text, "2026-06-02 09:00") {
			t.Errorf("notice %+v", n)
		}
	}
}

func TestDrawRespondAndReplace(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	d := s.mustDraw(t)
	ms, err := s.Store.Members(ctx, d.ID)
	must(t, err)
	login := func(m evaluation.Member) kaiping.Principal { return s.ExpertLogin(t, s.experts[m.ExpertCode]) }
	first, second, third := login(ms[0]), login(ms[1]), login(ms[2])

	dec, err := s.Service.Accept(ctx, s.Actor(first), d.ID)
	if err != nil || dec.State != evaluation.MemberAccepted {
		t.Fatalf("accept: %+v %v", dec, err)
	}
	_, err = s.Service.Accept(ctx, s.Actor(first), d.ID)
	wantCode(t, err, kaiping.KindConflict, "draw.already_responded")
	prof, err := s.Store.Profile(ctx, ms[0].Expert)
	must(t, err)
	if len(prof.History) != 1 || prof.History[0].Tenderer != tenderer || prof.History[0].Draw != d.ID {
		t.Fatalf("history after accepting: %+v", prof.History)
	}

	dec, err = s.Service.Decline(ctx, s.Actor(second), d.ID, "单位有紧急任务")
	if err != nil || dec.State != evaluation.MemberDeclined || dec.Replacement == nil {
		t.Fatalf("decline: %+v %v", dec, err)
	}
	rep := *dec.Replacement
	if rep.Quota != ms[1].Quota || rep.Round != 1 || rep.Replaces != ms[1].Expert || rep.ExpertName == "" {
		t.Fatalf("replacement %+v for %+v", rep, ms[1])
	}
	current := 0
	outside := 0
	all, err := s.Store.Members(ctx, d.ID)
	must(t, err)
	for _, m := range all {
		if m.State == evaluation.MemberPending || m.State == evaluation.MemberAccepted {
			current++
			if m.Outside {
				outside++
			}
		}
	}
	if current != 5 || outside < 3 {
		t.Fatalf("%d current members, %d outside", current, outside)
	}

	// After the deadline: no more answers from the expert.
	s.Clock.Advance(30 * time.Minute)
	_, err = s.Service.Accept(ctx, s.Actor(third), d.ID)
	wantCode(t, err, kaiping.KindTooLate, "draw.response_deadline_passed")
	_, err = s.Service.Decline(ctx, s.Actor(third), d.ID, "太晚了")
	wantCode(t, err, kaiping.KindTooLate, "draw.response_deadline_passed")
	// One nanosecond before the replacement's own deadline it still may.
	s.Clock.Set(rep.RespondBy.Add(-time.Nanosecond))
	repLogin := s.ExpertLogin(t, s.experts[rep.ExpertCode])
	if _, err := s.Service.Accept(ctx, s.Actor(repLogin), d.ID); err != nil {
		t.Fatalf("replacement accepts just in time: %v", err)
	}

	// The host records the silent expert as a no-show; the sequence continues.
	_, err = s.Service.Release(ctx, s.Actor(s.Host), d.ID, ms[2].Expert, evaluation.MemberNoShow, "")
	wantCode(t, err, kaiping.KindInvalid, "draw.reason")
	dec, err = s.Service.Release(ctx, s.Actor(s.Host), d.ID, ms[2].Expert, evaluation.MemberNoShow, "电话三次未接通")
	if err != nil || dec.State != evaluation.MemberNoShow {
		t.Fatalf("no-show: %+v %v", dec, err)
	}
	_, err = s.Service.Release(ctx, s.Actor(s.Host), d.ID, ms[2].Expert, evaluation.MemberNoShow, "再次登记")
	wantCode(t, err, kaiping.KindConflict, "draw.already_released")
	_, err = s.Service.Accept(ctx, s.Actor(s.Principal(t, "路人", "", kaiping.RoleExpert)), d.ID)
	wantCode(t, err, kaiping.KindNotFound, "expert.not_found")
	_, err = s.Service.Release(ctx, s.Actor(s.Host), d.ID, s.experts["KF06"].ID, evaluation.MemberDeclined, "不在名单")
	wantCode(t, err, kaiping.KindNotFound, "draw.not_member")

	v := mustVerify(t, s.Env, d.ID)
	if v.Replacements != 2 || len(v.Current) != 5 {
		t.Fatalf("verify after replacements: %+v", v)
	}
	// Replacements were notified too.
	if n := len(s.Notices.All()); n != 5+2 {
		t.Fatalf("%d notices, want 7", n)
	}
}

func TestDrawExternalSeed(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	s.Clock.Set(s.Clock.Now().Add(time.Hour))
	seed := sha256.Sum256([]byte("监督员在公证处生成的种子"))
	req := s.request()
	req.SeedCommitment = draw.Commitment(seed[:])
	d, err := s.Service.Draw(ctx, s.Actor(s.Host), req)
	if err != nil || d.Status != evaluation.DrawAwaitingSeed || d.Seed != "" || d.SnapshotDigest == "" {
		t.Fatalf("draw with an external seed: %+v %v", d, err)
	}
	before := ledgerSize(t, s.Env)
	wrong := sha256.Sum256([]byte("另一个种子"))
	_, err = s.Service.Reveal(ctx, s.Actor(s.Supervisor), d.ID, hex.EncodeToString(wrong[:]))
	wantCode(t, err, kaiping.KindInvalid, "draw.seed_mismatch")
	_, err = s.Service.Reveal(ctx, s.Actor(s.Supervisor), d.ID, "not hex")
	wantCode(t, err, kaiping.KindInvalid, "draw.seed_format")
	if after := ledgerSize(t, s.Env); after != before {
		t.Fatalf("refused reveals grew the ledger from %d to %d", before, after)
	}
	if ms, _ := s.Store.Members(ctx, d.ID); len(ms) != 0 {
		t.Fatal("a refused reveal drew members")
	}
	d, err = s.Service.Reveal(ctx, s.Actor(s.Supervisor), d.ID, hex.EncodeToString(seed[:]))
	if err != nil || d.Status != evaluation.DrawDrawn || d.Seed != hex.EncodeToString(seed[:]) {
		t.Fatalf("reveal: %+v %v", d, err)
	}
	_, err = s.Service.Reveal(ctx, s.Actor(s.Supervisor), d.ID, hex.EncodeToString(seed[:]))
	wantCode(t, err, kaiping.KindConflict, "draw.state")
	mustVerify(t, s.Env, d.ID)

	// The same seed over the same pool and rules gives the same committee: re-run purely.
	rec, err := s.Store.DrawRecord(ctx, d.ID)
	must(t, err)
	snap, err := draw.DecodeSnapshot(rec.Snapshot)
	must(t, err)
	dr, err := draw.New(seed[:], snap, d.Rules)
	must(t, err)
	again, err := dr.Initial()
	must(t, err)
	ms, err := s.Store.Members(ctx, d.ID)
	must(t, err)
	for i, m := range again {
		if kaiping.ID(m.Expert) != ms[i].Expert {
			t.Fatalf("re-run member %d: %s, stored %s", i, m.Expert, ms[i].Expert)
		}
	}
}

func TestDrawRefusals(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	s.Clock.Set(s.Clock.Now().Add(time.Hour))
	noHost := s.zz.ID
	tests := []struct {
		name string
		edit func(*evaluation.DrawRequest)
		kind kaiping.Kind
		code string
		msg  string
	}{
		{"even committee", func(r *evaluation.DrawRequest) { r.CommitteeSize = 6 }, kaiping.KindInvalid, "draw.committee_size", "单数"},
		{"committee of three", func(r *evaluation.DrawRequest) { r.CommitteeSize, r.TendererReps = 3, 0 }, kaiping.KindInvalid, "draw.committee_size", ""},
		{"too many tenderer representatives", func(r *evaluation.DrawRequest) { r.TendererReps = 3 }, kaiping.KindInvalid, "draw.tenderer_representatives", ""},
		{"quotas do not add up", func(r *evaluation.DrawRequest) { r.Quotas[0].Count = 2 }, kaiping.KindInvalid, "draw.quota_sum", ""},
		{"unknown specialty", func(r *evaluation.DrawRequest) { r.Quotas[2].Specialty = "Z99" }, kaiping.KindInvalid, "draw.quota_specialty", ""},
		{"nested quotas", func(r *evaluation.DrawRequest) { r.Quotas[1].Specialty = "A0101" }, kaiping.KindInvalid, "draw.quota_overlap", ""},
		{"share above 100", func(r *evaluation.DrawRequest) { r.OutsideSharePercent = 120 }, kaiping.KindInvalid, "draw.outside_share", ""},
		{"session in the past", func(r *evaluation.DrawRequest) {
			r.Session.Start = s.Clock.Now().Add(-time.Minute)
		}, kaiping.KindInvalid, "draw.session_past", ""},
		{"answers due after the session starts", func(r *evaluation.DrawRequest) { r.RespondMinutes = 26 * 60 }, kaiping.KindInvalid, "draw.respond_window", ""},
		{"bad commitment", func(r *evaluation.DrawRequest) { r.SeedCommitment = "ABC" }, kaiping.KindInvalid, "draw.commitment", ""},
		{"venue cannot host", func(r *evaluation.DrawRequest) { r.HostVenue = noHost }, kaiping.KindInvalid, "draw.host_venue_cannot_host", ""},
		{"unknown venue", func(r *evaluation.DrawRequest) { r.HostVenue = kaiping.NewID() }, kaiping.KindNotFound, "venue.not_found", ""},
		{"unknown tender", func(r *evaluation.DrawRequest) { r.Tender = kaiping.NewID() }, kaiping.KindNotFound, "tender.not_found", ""},
		{"A01 short by 4", func(r *evaluation.DrawRequest) {
			r.CommitteeSize, r.TendererReps = 15, 0
			r.Quotas = []draw.Quota{{Specialty: "A01", Count: 13}, {Specialty: "A10", Count: 1}, {Specialty: "D01", Count: 1}}
		}, kaiping.KindConflict, "draw.unsatisfiable", "专业 A01需 13 人，可抽 9 人，缺 4 人"},
		{"outside short", func(r *evaluation.DrawRequest) {
			r.Quotas = []draw.Quota{{Specialty: "A10", Count: 3}, {Specialty: "D01", Count: 2}}
			r.OutsideSharePercent = 100
		}, kaiping.KindConflict, "draw.unsatisfiable", "异地专家需 5 人，可抽 4 人，缺 1 人"},
	}
	before := ledgerSize(t, s.Env)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := s.request()
			req.Quotas = slices.Clone(req.Quotas)
			tt.edit(&req)
			_, err := s.Service.Draw(ctx, s.Actor(s.Host), req)
			wantCode(t, err, tt.kind, tt.code)
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("message %q lacks %q", err, tt.msg)
			}
		})
	}
	if after := ledgerSize(t, s.Env); after != before {
		t.Errorf("refused draws grew the ledger from %d to %d", before, after)
	}
	var n int
	must(t, s.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM draws`).Scan(&n))
	if n != 0 {
		t.Errorf("%d draws stored by refused requests", n)
	}
}

// TestDrawExpertsBusyElsewhere: experts of one current committee are not drawn for another
// tender whose session overlaps.
func TestDrawExpertsBusyElsewhere(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	first := s.mustDraw(t)
	firstMembers, err := s.Store.Members(ctx, first.ID)
	must(t, err)
	other := s.Tender(t, "KF-2026-032", "开封市第二中学", "丁公司", "戊公司", "己公司")
	s.Clock.Advance(time.Hour)
	req := s.request()
	req.Tender = other.ID
	req.Quotas = []draw.Quota{{Specialty: "A01", Count: 5}}
	req.OutsideSharePercent = 0
	second, err := s.Service.Draw(ctx, s.Actor(s.Host), req)
	must(t, err)
	_, ex, err := s.Store.Snapshot(ctx, second.ID)
	must(t, err)
	busy := map[string]bool{}
	for _, e := range ex {
		for _, r := range e.Reasons {
			if r.Code == draw.ReasonBusy {
				busy[e.Expert] = true
			}
		}
	}
	for _, m := range firstMembers {
		if m.Quota == "A01" && !busy[string(m.Expert)] {
			t.Errorf("%s sits on the first committee but was not excluded as busy", m.ExpertCode)
		}
	}
}

func TestPublishAndVisibility(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	d := s.mustDraw(t)
	bidder := s.Principal(t, bidderA, "", kaiping.RoleBidder)
	tendererHost := s.Principal(t, "招标人经办人", tenderer, kaiping.RoleHost)
	bidderSupervisor := s.Principal(t, "兼职监督", bidderB, kaiping.RoleSupervisor)
	strangerHost := s.Principal(t, "其他项目主持人", "某代理公司", kaiping.RoleHost)
	for name, v := range map[string]evaluation.Viewer{
		"bidder": {Principal: bidder},
		// Assigned staff who belong to the tenderer or a bidder still may not look.
		"tenderer's host":     {Principal: tendererHost, Assigned: true},
		"bidder's supervisor": {Principal: bidderSupervisor, Assigned: true},
		// A host not assigned to the tender may not look either.
		"unassigned host": {Principal: strangerHost},
	} {
		_, err := s.Service.Members(ctx, v, d.ID)
		if kaiping.CodeOf(err) != "draw.identities_sealed" {
			t.Errorf("%s reads members: %v", name, err)
		}
		_, err = s.Service.Assignments(ctx, v, d.ID)
		if kaiping.CodeOf(err) != "draw.identities_sealed" {
			t.Errorf("%s reads assignments: %v", name, err)
		}
	}
	if ms, err := s.Service.Members(ctx, evaluation.Viewer{Principal: s.Host, Assigned: true}, d.ID); err != nil || len(ms) != 5 {
		t.Fatalf("host reads members: %d %v", len(ms), err)
	}
	// The names stay confidential until the award result is determined, which Kaiping
	// does not record yet: publication is refused and the committee stays sealed.
	_, err := s.Service.Publish(ctx, s.Actor(s.Host), d.ID)
	wantCode(t, err, kaiping.KindConflict, "draw.result_not_recorded")
	if _, err := s.Service.Members(ctx, evaluation.Viewer{Principal: bidder}, d.ID); kaiping.CodeOf(err) != "draw.identities_sealed" {
		t.Fatalf("bidder reads the committee after a refused publication: %v", err)
	}
}

// TestDrawFailureIsRecorded: every count suffices on its own, so the request passes the
// check before the commitment, but the only way to fill the B quota takes a local expert
// while all nine must come from outside. The walk fails whatever the seed; the failure is
// ledgered with the seed, and re-running the draw reproduces it.
func TestDrawFailureIsRecorded(t *testing.T) {
	env := mustEnv(t)
	ctx := context.Background()
	tender := env.Tender(t, "KF-2026-040", tenderer, bidderA, bidderB, "丙建筑有限公司")
	host := env.Venue(t, "410200-001", "开封市公共资源交易中心", 34.7973, 114.3076, true, 9)
	for i, x := range []struct{ city, spec string }{
		{kaifeng, "A0101"}, {kaifeng, "A1001"}, {kaifeng, "B0301"},
		{zhengzhou, "A0101"}, {zhengzhou, "A1001"}, {zhengzhou, "B0301"}, {zhengzhou, "A0102"},
		{pingdingshan, "A0101"}, {pingdingshan, "A1001"}, {pingdingshan, "B0301"}, {pingdingshan, "B0302"}, {pingdingshan, "A0103"},
	} {
		env.Expert(t, "X"+string(rune('A'+i)), "专家"+string(rune('甲'+i)), "某设计院", x.city, x.spec)
	}
	env.Clock.Advance(time.Hour)
	before := ledgerSize(t, env)
	_, err := env.Service.Draw(ctx, env.Actor(env.Host), evaluation.DrawRequest{
		Tender: tender.ID, CommitteeSize: 9, Quotas: []draw.Quota{{Specialty: "A", Count: 5}, {Specialty: "B", Count: 4}},
		OutsideSharePercent: 100, HostVenue: host.ID,
		Session: draw.Period{Start: env.Clock.Now().Add(24 * time.Hour), End: env.Clock.Now().Add(30 * time.Hour)},
	})
	wantCode(t, err, kaiping.KindConflict, "draw.unsatisfiable")
	if !strings.Contains(err.Error(), "抽取序列已用尽") {
		t.Errorf("message %q", err)
	}
	ds, err := env.Store.Draws(ctx, tender.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].Status != evaluation.DrawFailed || ds[0].Seed == "" || ds[0].Failure == "" {
		t.Fatalf("draws %+v", ds)
	}
	if n := ledgerSize(t, env) - before; n != 4 {
		t.Errorf("%d ledger entries for a failed draw, want commit, snapshot, fail, reveal", n)
	}
	rep := mustVerify(t, env, ds[0].ID)
	if rep.Status != evaluation.DrawFailed || rep.Initial != nil {
		t.Fatalf("verify report %+v", rep)
	}
	_, err = env.Service.Dispatch(ctx, env.Actor(env.Host), ds[0].ID)
	wantCode(t, err, kaiping.KindConflict, "draw.state")
}

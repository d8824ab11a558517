package evaluation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// Draw draws the experts of a committee for req, in three committed steps, each with its
// ledger entry: the commitment to the seed; the snapshot of the eligible pool, read after
// the commitment is in the ledger; the pick, with the seed revealed. With an external seed
// (req.SeedCommitment) it stops after the snapshot, in status awaiting_seed, until Reveal.
// A request the pool cannot satisfy is refused before anything is recorded, saying which
// quota fails and by how many experts.
func (s *Service) Draw(ctx context.Context, a kaiping.Actor, req DrawRequest) (Draw, error) {
	if err := req.validate(a.At, s.cfg.RespondWithin); err != nil {
		return Draw{}, err
	}
	facts, err := s.store.TenderFacts(ctx, req.Tender)
	if err != nil {
		return Draw{}, err
	}
	host, err := s.store.Venue(ctx, req.HostVenue)
	if err != nil {
		return Draw{}, err
	}
	if !host.CanHost {
		return Draw{}, invalid("draw.host_venue_cannot_host", "场地 %s（%s）不具备主场条件", host.Code, host.Name)
	}
	rules := req.rules(host.City)
	if err := rules.Validate(); err != nil {
		return Draw{}, err
	}
	conflicts := draw.Conflicts{
		Tenderer: facts.Tenderer, Bidders: facts.Bidders, Others: req.ConflictOrganisations,
		Supervisors: req.SupervisingDepartments, Session: req.Session, RecentWindow: s.cfg.RecentWindow,
	}
	// A dry run, so that an impossible request leaves no trace.
	if _, _, err := s.screen(ctx, conflicts, rules, true); err != nil {
		return Draw{}, err
	}

	var seed []byte
	commitment := req.SeedCommitment
	if commitment == "" {
		seed = make([]byte, draw.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return Draw{}, kaiping.Internal("evaluation.Draw", err)
		}
		commitment = draw.Commitment(seed)
	}
	d := Draw{
		ID: kaiping.NewID(), Tender: facts.ID, TenderCode: facts.Code, Tenderer: facts.Tenderer, Request: req,
		Rules: rules, Status: DrawCommitted, Commitment: commitment, HostVenue: host.ID,
		CreatedBy: a.Principal, CreatedAt: a.At,
	}
	commit := CommitDetail{
		Tender: d.Tender, Commitment: commitment, ExternalSeed: seed == nil, Rules: rules, HostVenue: host.ID,
		Session: req.Session, Tenderer: facts.Tenderer, Bidders: facts.Bidders, Others: req.ConflictOrganisations,
		Supervisors: req.SupervisingDepartments, RecentWindowDays: int(s.cfg.RecentWindow / (24 * time.Hour)),
		RespondMinutes: req.RespondMinutes,
	}
	if err := s.store.CommitDraw(ctx, a, d, commit); err != nil {
		return Draw{}, err
	}

	a.At = s.clock.Now()
	enc, exclusions, err := s.screen(ctx, conflicts, rules, false)
	if err != nil {
		return Draw{}, err
	}
	snap := SnapshotDetail{Digest: draw.Digest(enc.Encode()), Size: len(enc.Entries),
		ExclusionsDigest: draw.Digest(exclusions.json), Excluded: exclusions.n}
	if err := s.store.SaveSnapshot(ctx, a, d.ID, enc.Encode(), exclusions.json, snap, DrawAwaitingSeed); err != nil {
		return Draw{}, err
	}
	if seed == nil {
		return s.store.Draw(ctx, d.ID)
	}
	a.At = s.clock.Now()
	return s.pick(ctx, a, d.ID, seed)
}

type encodedExclusions struct {
	json []byte
	n    int
}

// screen reads the pool and applies avoidance. With check, it also refuses a snapshot that
// cannot meet the rules.
func (s *Service) screen(ctx context.Context, c draw.Conflicts, rules draw.Rules, check bool) (draw.Snapshot, encodedExclusions, error) {
	pool, err := s.store.Candidates(ctx, c.Session, c.Session.Start.Add(-c.RecentWindow))
	if err != nil {
		return draw.Snapshot{}, encodedExclusions{}, err
	}
	snap, ex := draw.Screen(pool, c, rules)
	if check {
		return snap, encodedExclusions{}, draw.Precheck(snap, rules)
	}
	if ex == nil {
		ex = []draw.Exclusion{}
	}
	b, err := json.Marshal(ex)
	if err != nil {
		return draw.Snapshot{}, encodedExclusions{}, kaiping.Internal("evaluation.screen", err)
	}
	return snap, encodedExclusions{json: b, n: len(ex)}, nil
}

// Reveal takes the external seed of a draw awaiting it: a seed that does not hash to the
// commitment is KindInvalid "draw.seed_mismatch" and changes nothing.
func (s *Service) Reveal(ctx context.Context, a kaiping.Actor, id kaiping.ID, seedHex string) (Draw, error) {
	d, err := s.store.Draw(ctx, id)
	if err != nil {
		return Draw{}, err
	}
	if d.Status != DrawAwaitingSeed {
		return Draw{}, kaiping.Errorf(kaiping.KindConflict, "draw.state", "该抽取当前状态为 %s，不在等待揭示种子", d.Status)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(seedHex))
	if err != nil {
		return Draw{}, invalid("draw.seed_format", "种子须为十六进制")
	}
	if err := draw.CheckReveal(d.Commitment, seed); err != nil {
		return Draw{}, err
	}
	return s.pick(ctx, a, id, seed)
}

// pick draws the committee from the stored snapshot and records it with the seed.
func (s *Service) pick(ctx context.Context, a kaiping.Actor, id kaiping.ID, seed []byte) (Draw, error) {
	d, err := s.store.Draw(ctx, id)
	if err != nil {
		return Draw{}, err
	}
	dr, err := s.drawer(ctx, d, seed)
	if err != nil {
		return Draw{}, err
	}
	picked, err := dr.Initial()
	var short *draw.ShortageError
	if errors.As(err, &short) {
		f := FailDetail{Code: kaiping.CodeOf(err), Message: short.Unwrap().(*kaiping.Error).Message, Shortfalls: short.Shortfalls}
		if ferr := s.store.FailDraw(ctx, a, id, DrawAwaitingSeed, hex.EncodeToString(seed), f); ferr != nil {
			return Draw{}, ferr
		}
		return Draw{}, err
	}
	if err != nil {
		return Draw{}, err
	}
	members := make([]Member, len(picked))
	for i, m := range picked {
		members[i] = s.member(d, m, 0, "", a.At)
	}
	if err := s.store.RecordResult(ctx, a, id, DrawAwaitingSeed, hex.EncodeToString(seed), members); err != nil {
		return Draw{}, err
	}
	for _, m := range members {
		s.notifyDrawn(ctx, d, m)
	}
	return s.store.Draw(ctx, id)
}

// drawer prepares the draw's sequence from its stored snapshot.
func (s *Service) drawer(ctx context.Context, d Draw, seed []byte) (*draw.Drawer, error) {
	enc, _, err := s.store.Snapshot(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	return drawerFrom(d, seed, enc)
}

func drawerFrom(d Draw, seed, enc []byte) (*draw.Drawer, error) {
	snap, err := draw.DecodeSnapshot(enc)
	if err != nil {
		return nil, err
	}
	return draw.New(seed, snap, d.Rules)
}

// member turns a picked draw.Member into a stored member answering by now + the window.
func (s *Service) member(d Draw, m draw.Member, round int, replaces kaiping.ID, now time.Time) Member {
	return Member{
		Draw: d.ID, Expert: kaiping.ID(m.Expert), Quota: d.Rules.Quotas[m.Quota].Specialty, Position: m.Position,
		Outside: m.Outside, Round: round, Replaces: replaces, State: MemberPending,
		RespondBy: now.Add(time.Duration(d.Request.RespondMinutes) * time.Minute),
	}
}

func (s *Service) notifyDrawn(ctx context.Context, d Draw, m Member) {
	e, ok := s.addressee(ctx, d, m.Expert)
	if !ok {
		return
	}
	sess := d.Request.Session
	s.notify(ctx, Notice{Kind: NoticeDrawn, Draw: d.ID, Expert: e.ID, ExpertName: e.Name, Phone: e.Phone, Email: e.Email, Principal: e.Principal,
		Start: sess.Start, End: sess.End, RespondBy: m.RespondBy, Text: drawnText(e.Name, sess.Start, sess.End, m.RespondBy)})
}

// addressee reads the expert a notice goes to; a failure is logged, the notice skipped.
func (s *Service) addressee(ctx context.Context, d Draw, id kaiping.ID) (Expert, bool) {
	e, err := s.store.Expert(ctx, id)
	if err != nil {
		s.log.Error("notify: read expert", "draw_id", d.ID, "expert_id", id, "err", err)
	}
	return e, err == nil
}

// notify sends n; the state is already committed, so a gateway failure is logged for the
// host to follow up by phone, not returned.
func (s *Service) notify(ctx context.Context, n Notice) {
	if err := s.notifier.Notify(ctx, n); err != nil {
		s.log.Warn("expert notice not delivered", "kind", n.Kind, "draw_id", n.Draw, "expert_id", n.Expert, "err", err)
	}
}

// Accept records that the expert logged in as a.Principal accepts draw id, before their
// deadline (after it: KindTooLate "draw.response_deadline_passed").
func (s *Service) Accept(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Decision, error) {
	me, err := s.Me(ctx, a.Principal)
	if err != nil {
		return Decision{}, err
	}
	return s.answer(ctx, a, id, me.ID, MemberAccepted, "", true)
}

// Decline records that the expert logged in as a.Principal declines draw id, before their
// deadline, and draws the replacement.
func (s *Service) Decline(ctx context.Context, a kaiping.Actor, id kaiping.ID, reason string) (Decision, error) {
	me, err := s.Me(ctx, a.Principal)
	if err != nil {
		return Decision{}, err
	}
	return s.answer(ctx, a, id, me.ID, MemberDeclined, reason, true)
}

// Release is host staff recording that an expert declined (by phone) or did not answer or
// show up, with the reason, and drawing the replacement.
func (s *Service) Release(ctx context.Context, a kaiping.Actor, id, expert kaiping.ID, outcome MemberState, reason string) (Decision, error) {
	if outcome != MemberDeclined && outcome != MemberNoShow {
		return Decision{}, invalid("draw.outcome", "只能登记 declined（拒绝）或 no_show（未应答/缺席）")
	}
	if strings.TrimSpace(reason) == "" {
		return Decision{}, invalid("draw.reason", "须写明原因")
	}
	return s.answer(ctx, a, id, expert, outcome, reason, false)
}

func (s *Service) answer(ctx context.Context, a kaiping.Actor, id, expert kaiping.ID, outcome MemberState, reason string, byExpert bool) (Decision, error) {
	reason = strings.TrimSpace(reason)
	if runes(reason) > maxReasonRunes {
		return Decision{}, invalid("draw.reason", "原因不超过 %d 字", maxReasonRunes)
	}
	dec, err := s.store.Respond(ctx, a, id, func(st DrawState) (Decision, error) {
		return s.decide(st, a.At, expert, outcome, reason, byExpert)
	})
	if err != nil {
		return Decision{}, err
	}
	if dec.Replacement != nil {
		d, err := s.store.Draw(ctx, id)
		if err == nil {
			s.notifyDrawn(ctx, d, *dec.Replacement)
		}
	}
	if outcome == MemberAccepted {
		s.syncSessions(ctx, a, id)
	}
	return dec, nil
}

// decide is the rule of an answer, run under the draw's lock.
func (s *Service) decide(st DrawState, now time.Time, expert kaiping.ID, outcome MemberState, reason string, byExpert bool) (Decision, error) {
	if st.Draw.Status != DrawDrawn {
		return Decision{}, kaiping.Errorf(kaiping.KindConflict, "draw.state", "该抽取当前状态为 %s，不能应答", st.Draw.Status)
	}
	var m *Member
	for i := range st.Members {
		if st.Members[i].Expert == expert {
			m = &st.Members[i]
		}
	}
	if m == nil {
		return Decision{}, kaiping.E(kaiping.KindNotFound, "draw.not_member", "该专家不在本次抽取的名单中")
	}
	if !m.State.current() {
		return Decision{}, kaiping.Errorf(kaiping.KindConflict, "draw.already_released", "该专家已于此前%s，已由后续专家递补", stateLabel(m.State))
	}
	if byExpert {
		if m.State != MemberPending {
			return Decision{}, kaiping.E(kaiping.KindConflict, "draw.already_responded", "您已确认参加；如需退出请联系主持人")
		}
		if !now.Before(m.RespondBy) {
			verb := "拒绝"
			if outcome == MemberAccepted {
				verb = "确认参加"
			}
			return Decision{}, kaiping.Errorf(kaiping.KindTooLate, "draw.response_deadline_passed",
				"应答截止时间 %s 已过，不能再%s；请联系主持人", minute(m.RespondBy), verb)
		}
	}
	dec := Decision{Expert: expert, State: outcome, Reason: reason}
	if outcome == MemberAccepted {
		dec.History = &HistoryEntry{ID: kaiping.NewID(), Expert: expert, Tender: st.Draw.TenderCode,
			Tenderer: st.Draw.Tenderer, At: st.Draw.Request.Session.Start, Draw: st.Draw.ID}
		return dec, nil
	}
	seed, err := hex.DecodeString(st.Draw.Seed)
	if err != nil {
		return Decision{}, kaiping.Internal("evaluation.decide", err)
	}
	dr, err := drawerFrom(st.Draw, seed, st.Snapshot)
	if err != nil {
		return Decision{}, err
	}
	if err := replay(dr, st.Replacements); err != nil {
		return Decision{}, err
	}
	next, ok, err := dr.Replace(string(expert))
	if err != nil {
		return Decision{}, err
	}
	if ok {
		rep := s.member(st.Draw, next, len(st.Replacements)+1, expert, now)
		dec.Replacement = &rep
	}
	return dec, nil
}

// replay re-runs the initial pick and the recorded replacements, checking each against
// what was recorded: a stored draw that no longer reproduces is never continued.
func replay(dr *draw.Drawer, reps []ReplaceDetail) error {
	if _, err := dr.Initial(); err != nil {
		return err
	}
	for i, r := range reps {
		m, ok, err := dr.Replace(string(r.Out))
		if err != nil {
			return err
		}
		if ok != (r.Replacement != nil) || ok && m != *r.Replacement {
			return kaiping.Internal("evaluation.replay", fmt.Errorf("replacement %d does not reproduce", i+1))
		}
	}
	return nil
}

func stateLabel(s MemberState) string {
	switch s {
	case MemberDeclined:
		return "拒绝参加"
	case MemberNoShow:
		return "登记为未应答或缺席"
	case MemberAccepted:
		return "确认参加"
	case MemberRecused:
		return "在评标现场声明回避"
	case MemberLeft:
		return "在评标中离席"
	}
	return "待应答"
}

// Publish makes a drawn committee's identities visible to everyone (结果公示), once the
// award result is determined: until then the names are confidential (《招标投标法》 Art. 37,
// 《招标投标法实施条例》 Art. 46). Kaiping records no award result yet (it comes with the
// evaluation report), so every draw is refused with "draw.result_not_recorded" until
// that record exists; the check is the first thing a future result check replaces.
func (s *Service) Publish(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Draw, error) {
	d, err := s.store.Draw(ctx, id)
	if err != nil {
		return Draw{}, err
	}
	if d.PublishedAt == nil {
		return Draw{}, kaiping.E(kaiping.KindConflict, "draw.result_not_recorded",
			"中标结果确定前，评标委员会成员名单应当保密（《招标投标法》第三十七条），尚不能公示")
	}
	if d.Status != DrawDrawn {
		return Draw{}, kaiping.Errorf(kaiping.KindConflict, "draw.state", "该抽取当前状态为 %s，不能公示", d.Status)
	}
	if d.PublishedAt != nil {
		return Draw{}, kaiping.E(kaiping.KindConflict, "draw.already_published", "评标专家名单已公示")
	}
	if err := s.store.Publish(ctx, a, id); err != nil {
		return Draw{}, err
	}
	return s.store.Draw(ctx, id)
}

package evaluation

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// PublicationStore keeps the publications of candidates and their objections. Every change
// writes its ledger entries in the same transaction; a refusal writes nothing.
type PublicationStore interface {
	// Session returns one session ("session.not_found").
	Session(ctx context.Context, id kaiping.ID) (Session, error)
	// SessionClosedAt returns when the session closed, its report signed (the time of its
	// session.close entry); KindConflict "publication.not_closed" before.
	SessionClosedAt(ctx context.Context, id kaiping.ID) (time.Time, error)
	// TenderMethod returns the kind of the tender's evaluation method ("" if it has none).
	TenderMethod(ctx context.Context, tender kaiping.ID) (string, error)
	// SectionBidder returns the name of principal if a bid of theirs was in the section's
	// sealed bid set (the bids its opening opened); else KindForbidden
	// "publication.not_a_bidder".
	SectionBidder(ctx context.Context, section, principal kaiping.ID) (string, error)
	// CreatePublications stores the publications, each with its publication.published entry,
	// all or none: a section the session already published is KindConflict
	// "publication.already_published".
	CreatePublications(ctx context.Context, a kaiping.Actor, ps []Publication) error
	// Publication returns one publication with its objections ("publication.not_found").
	Publication(ctx context.Context, id kaiping.ID) (Publication, error)
	// SessionPublications lists the session's publications with their objections, by section
	// code.
	SessionPublications(ctx context.Context, session kaiping.ID) ([]Publication, error)
	// ChangePublication runs decide on the publication (with its objections) under its lock,
	// then writes it back with one ledger entry per change and the objections the changes
	// name, in one transaction.
	ChangePublication(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(*Publication) ([]PublicationChange, error)) (Publication, error)
	// PublicPublication returns one publication started at now, without its objections;
	// "publication.not_found" for one not started, as for one that does not exist.
	PublicPublication(ctx context.Context, id kaiping.ID, now time.Time) (Publication, error)
	// PublicPublications lists the publications started at now, newest first, without
	// their objections, and how many there are in all.
	PublicPublications(ctx context.Context, now time.Time, limit, offset int) ([]Publication, int, error)
}

// CandidatesFunc reads the candidates of every section from a session's signed report.
type CandidatesFunc func(ctx context.Context, session kaiping.ID) ([]SectionCandidates, error)

// Publications runs the publication of candidates and the objections to it.
type Publications struct {
	store PublicationStore
	clock kaiping.Clock
	// minimum is the shortest period the centre allows (Config.PublicationMinimum).
	minimum time.Duration
	// candidates reads the signed report's candidates; nil until the report is wired
	// (CandidatesFrom), when publishing answers "publication.no_report".
	candidates CandidatesFunc
}

// NewPublications returns the publications on store, with the centre's minimum period from
// cfg.
func NewPublications(store PublicationStore, clock kaiping.Clock, cfg Config) *Publications {
	return &Publications{store: store, clock: clock, minimum: cfg.PublicationMinimum}
}

// CandidatesFrom has publications read the candidates from f (the signed report's).
func (p *Publications) CandidatesFrom(f CandidatesFunc) { p.candidates = f }

// PublishRequest is host staff's publication of a closed session's candidates: the period,
// from Starts (empty: now) to Ends.
type PublishRequest struct {
	Starts time.Time `json:"starts"`
	Ends   time.Time `json:"ends"`
}

// Publish publishes the candidates of every section of a closed session that has any, one
// publication per section, for the period req names: starting no earlier than now and within
// PublicationStartWithin of the report, lasting at least the centre's minimum.
func (p *Publications) Publish(ctx context.Context, a kaiping.Actor, session kaiping.ID, req PublishRequest) ([]Publication, error) {
	if p.candidates == nil {
		return nil, kaiping.E(kaiping.KindUnavailable, "publication.no_report", "本平台尚未接入评标报告，无法读取中标候选人")
	}
	sess, err := p.store.Session(ctx, session)
	if err != nil {
		return nil, err
	}
	if sess.State != SessionClosed {
		return nil, kaiping.Errorf(kaiping.KindConflict, "publication.not_closed",
			"评标会议当前为「%s」：评标报告签署、会议结束后方可公示中标候选人", sess.State.Label())
	}
	reportAt, err := p.store.SessionClosedAt(ctx, session)
	if err != nil {
		return nil, err
	}
	starts, ends := req.Starts, req.Ends
	if starts.IsZero() {
		starts = a.At
	}
	latest := reportAt.Add(PublicationStartWithin)
	switch {
	case starts.Before(a.At):
		return nil, invalid("publication.starts_past", "公示开始时间不能早于当前时间")
	case starts.After(latest):
		return nil, invalid("publication.starts_late", "公示须自收到评标报告之日起 3 日内开始：评标报告于 %s 签署，最迟 %s 开始",
			beijingMinute(reportAt), beijingMinute(latest))
	case ends.Sub(starts) < p.minimum:
		return nil, invalid("publication.period_short", "公示期不得少于 %s", periodLabel(p.minimum))
	case ends.Sub(starts) > maxPublicationPeriod:
		return nil, invalid("publication.period_long", "公示期不得超过 %s", periodLabel(maxPublicationPeriod))
	}
	method, err := p.store.TenderMethod(ctx, sess.Tender)
	if err != nil {
		return nil, err
	}
	all, err := p.candidates(ctx, session)
	if err != nil {
		return nil, err
	}
	var out []Publication
	for _, g := range sess.Groups {
		for _, sec := range g.Sections {
			i := slices.IndexFunc(all, func(sc SectionCandidates) bool { return sc.Section == sec.ID })
			if i < 0 || len(all[i].Candidates) == 0 {
				continue
			}
			cs, err := rankedCandidates(all[i].Candidates)
			if err != nil {
				return nil, err
			}
			out = append(out, Publication{ID: kaiping.NewID(), Session: sess.ID, Tender: sess.Tender, Section: sec.ID,
				TenderCode: sess.TenderCode, TenderTitle: sess.TenderTitle, SectionCode: sec.Code, SectionName: sec.Name,
				Method: method, Candidates: cs, State: PublicationOpen, Starts: starts, Ends: ends, ReportAt: reportAt,
				PublishedBy: a.Principal, PublishedAt: a.At, Objections: []Objection{}, Version: 1})
		}
	}
	if len(out) == 0 {
		return nil, kaiping.E(kaiping.KindConflict, "publication.no_candidates", "评标报告没有推荐任何中标候选人，无可公示")
	}
	if err := p.store.CreatePublications(ctx, a, out); err != nil {
		return nil, err
	}
	return out, nil
}

// maxPublishedCandidates is the most candidates a section may have (条例 Art. 53: no more than 3).
const maxPublishedCandidates = 3

// rankedCandidates checks a section's candidates from the report and orders them by rank.
func rankedCandidates(cs []Candidate) ([]Candidate, error) {
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b Candidate) int { return cmp.Compare(a.Rank, b.Rank) })
	if len(cs) > maxPublishedCandidates {
		return nil, kaiping.E(kaiping.KindConflict, "publication.candidates", "评标报告推荐的中标候选人超过 3 名，不能公示")
	}
	for i, c := range cs {
		if c.Rank < 1 || c.Rank > i+1 || strings.TrimSpace(c.BidderName) == "" || c.Price < 0 || c.Total < 0 {
			return nil, kaiping.E(kaiping.KindConflict, "publication.candidates", "评标报告中的中标候选人排序或信息不完整，不能公示")
		}
	}
	return cs, nil
}

// ObjectionRequest is a bidder's written objection, with the reasons.
type ObjectionRequest struct {
	Text string `json:"text"`
}

// ObjectionAnswerRequest is host staff's written answer to an objection.
type ObjectionAnswerRequest struct {
	Text string `json:"text"`
}

func objectionText(s, code, what string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || runes(s) > maxObjectionRunes {
		return "", invalid(code, "%s须以书面写明（不超过 %d 字）", what, maxObjectionRunes)
	}
	return s, nil
}

// FileObjection records the objection of the bidder a.Principal to publication id: only a
// bidder whose bid was in the section's opening may object, during the period. It pauses the
// publication until host staff answer.
func (p *Publications) FileObjection(ctx context.Context, a kaiping.Actor, id kaiping.ID, req ObjectionRequest) (ObjectionView, error) {
	text, err := objectionText(req.Text, "publication.objection_text", "异议的理由")
	if err != nil {
		return ObjectionView{}, err
	}
	pub, err := p.store.Publication(ctx, id)
	if err != nil {
		return ObjectionView{}, err
	}
	name, err := p.store.SectionBidder(ctx, pub.Section, a.Principal)
	if err != nil {
		return ObjectionView{}, err
	}
	o := Objection{ID: kaiping.NewID(), Publication: id, Bidder: a.Principal, BidderName: name, Text: text, FiledAt: a.At}
	pub, err = p.store.ChangePublication(ctx, a, id, func(pub *Publication) ([]PublicationChange, error) {
		return pub.fileObjection(o)
	})
	if err != nil {
		return ObjectionView{}, err
	}
	i := slices.IndexFunc(pub.Objections, func(x Objection) bool { return x.ID == o.ID })
	return objectionView(pub.Objections[i], a.At), nil
}

// of refuses a publication the path's session does not hold, as not found.
func (pub *Publication) of(session kaiping.ID) error {
	if pub.Session != session {
		return errNoPublication()
	}
	return nil
}

func errNoPublication() error {
	return kaiping.E(kaiping.KindNotFound, "publication.not_found", "公示不存在或尚未开始")
}

// Answer records host staff's written answer to an objection to one of the session's
// publications.
func (p *Publications) Answer(ctx context.Context, a kaiping.Actor, session, id, objection kaiping.ID, req ObjectionAnswerRequest) (StaffPublication, error) {
	text, err := objectionText(req.Text, "publication.answer_text", "异议的答复")
	if err != nil {
		return StaffPublication{}, err
	}
	pub, err := p.store.ChangePublication(ctx, a, id, func(pub *Publication) ([]PublicationChange, error) {
		if err := pub.of(session); err != nil {
			return nil, err
		}
		return pub.answer(objection, text, a.Principal, a.At)
	})
	return staffPublicationView(pub, a.At), err
}

// Conclude ends one of the session's publications (公示结束): refused while an objection
// awaits its answer or before the period is over.
func (p *Publications) Conclude(ctx context.Context, a kaiping.Actor, session, id kaiping.ID) (StaffPublication, error) {
	pub, err := p.store.ChangePublication(ctx, a, id, func(pub *Publication) ([]PublicationChange, error) {
		if err := pub.of(session); err != nil {
			return nil, err
		}
		return pub.conclude(a.Principal, a.At)
	})
	return staffPublicationView(pub, a.At), err
}

// SessionPublications lists the session's publications with every objection, for its staff.
func (p *Publications) SessionPublications(ctx context.Context, session kaiping.ID) ([]StaffPublication, error) {
	ps, err := p.store.SessionPublications(ctx, session)
	if err != nil {
		return nil, err
	}
	now := p.clock.Now()
	out := make([]StaffPublication, len(ps))
	for i, pub := range ps {
		out[i] = staffPublicationView(pub, now)
	}
	return out, nil
}

// MyObjections is publication id as the public sees it, with the objections the bidder
// a.Principal filed and their answers.
func (p *Publications) MyObjections(ctx context.Context, a kaiping.Actor, id kaiping.ID) (BidderPublication, error) {
	pub, err := p.store.Publication(ctx, id)
	if err != nil {
		return BidderPublication{}, err
	}
	if a.At.Before(pub.Starts) {
		return BidderPublication{}, errNoPublication()
	}
	out := BidderPublication{Publication: publicPublicationView(pub, a.At), Objections: []ObjectionView{}}
	for _, o := range pub.Objections {
		if o.Bidder == a.Principal {
			out.Objections = append(out.Objections, objectionView(o, a.At))
		}
	}
	return out, nil
}

func textDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// periodLabel writes d in days, or hours when not whole days.
func periodLabel(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d 日", d/(24*time.Hour))
	}
	return fmt.Sprintf("%g 小时", d.Hours())
}

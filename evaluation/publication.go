package evaluation

import (
	"slices"
	"time"

	"github.com/kaiping/kaiping"
)

// The publication of the candidates (中标候选人公示, 条例 Art. 54): after the report, host staff
// publish each section's candidates on a public page for at least the centre's minimum (3
// days), starting within 3 days of the report; a bidder of the section may object (异议) in
// writing during the period, which pauses the procedure until host staff answer in writing
// (within 3 days of receiving it); once every objection is answered and the period is over,
// host staff conclude the publication (公示结束). The rules are pure methods on the aggregate,
// run by PublicationStore.ChangePublication under the publication's lock, each change with its
// ledger entry in the same transaction.

// Ledger actions of a publication; the subject is the publication's ID.
const (
	ActionPublicationPublished         = "publication.published"
	ActionPublicationObjectionFiled    = "publication.objection_filed"
	ActionPublicationObjectionAnswered = "publication.objection_answered"
	ActionPublicationConcluded         = "publication.concluded"
)

// ObjectionAnswerWithin is how long host staff have to answer an objection (条例 Art. 54: 3 days of
// receiving it). An objection past it is shown overdue; nothing answers it on its own.
const ObjectionAnswerWithin = 72 * time.Hour

// PublicationStartWithin is how long after the report the publication must start (条例 Art. 54: within
// 3 days of receiving the report).
const PublicationStartWithin = 72 * time.Hour

// maxPublicationPeriod bounds a publication's period, so that a mistyped year is refused.
const maxPublicationPeriod = 30 * 24 * time.Hour

// maxObjectionRunes bounds an objection's or an answer's text.
const maxObjectionRunes = 5000

// maxObjectionsPerBidder bounds the objections one bidder files to one publication.
const maxObjectionsPerBidder = 10

// SectionCandidates are a section's candidates as the signed report ranks them.
type SectionCandidates struct {
	Section     kaiping.ID  `json:"section_id"`
	SectionCode string      `json:"section_code"`
	SectionName string      `json:"section_name"`
	Candidates  []Candidate `json:"candidates"`
}

// Candidate is one recommended candidate (中标候选人) of a section.
type Candidate struct {
	Rank       int        `json:"rank"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	// Price is the bid price in fen; Total the total score in hundredths of a point (0 under
	// the lowest evaluated price method).
	Price int64 `json:"price"`
	Total int64 `json:"total"`
}

// PublicationState is where a publication stands; the period's phases (before, during, after)
// come from the clock (Publication.Phase).
type PublicationState string

// The publication states.
const (
	PublicationOpen      PublicationState = "open"      // 公示（无待答复的异议）
	PublicationPaused    PublicationState = "paused"    // 异议处理中：不得确定中标结果
	PublicationConcluded PublicationState = "concluded" // 公示结束
)

// PublicationPhase is what a page shows of a publication now.
type PublicationPhase string

// The phases.
const (
	PhaseScheduled PublicationPhase = "scheduled" // 尚未开始公示
	PhaseOpen      PublicationPhase = "open"      // 公示中
	PhasePaused    PublicationPhase = "paused"    // 异议处理中
	PhaseEnded     PublicationPhase = "ended"     // 公示期满，待结束
	PhaseConcluded PublicationPhase = "concluded" // 公示结束
)

// Label is the phase as pages name it.
func (p PublicationPhase) Label() string {
	switch p {
	case PhaseScheduled:
		return "尚未开始公示"
	case PhaseOpen:
		return "公示中"
	case PhasePaused:
		return "异议处理中"
	case PhaseEnded:
		return "公示期满"
	case PhaseConcluded:
		return "公示结束"
	}
	return string(p)
}

// Publication is the publication of one section's candidates after a closed session.
type Publication struct {
	ID          kaiping.ID `json:"id"`
	Session     kaiping.ID `json:"session_id"`
	Tender      kaiping.ID `json:"tender_id"`
	Section     kaiping.ID `json:"section_id"`
	TenderCode  string     `json:"tender_code"`
	TenderTitle string     `json:"tender_title"`
	SectionCode string     `json:"section_code"`
	SectionName string     `json:"section_name"`
	// Method is the tender's evaluation method's kind (scoring.KindLowestPrice or
	// scoring.KindComprehensive): only the comprehensive method publishes totals.
	Method     string           `json:"method"`
	Candidates []Candidate      `json:"candidates"`
	State      PublicationState `json:"state"`
	Starts     time.Time        `json:"starts"`
	Ends       time.Time        `json:"ends"`
	// ReportAt is when the report was signed (the session closed).
	ReportAt    time.Time   `json:"report_at"`
	PublishedBy kaiping.ID  `json:"published_by"`
	PublishedAt time.Time   `json:"published_at"`
	ConcludedBy kaiping.ID  `json:"concluded_by,omitempty"`
	ConcludedAt *time.Time  `json:"concluded_at,omitempty"`
	Objections  []Objection `json:"objections"`
	Version     int64       `json:"version"`
}

// Objection is a bidder's written objection (异议) to a publication and host staff's written
// answer.
type Objection struct {
	ID          kaiping.ID `json:"id"`
	Publication kaiping.ID `json:"publication_id"`
	// No numbers the publication's objections from 1, in the order they were filed.
	No         int        `json:"no"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	Text       string     `json:"text"`
	FiledAt    time.Time  `json:"filed_at"`
	// Due is when the answer is due: ObjectionAnswerWithin after filing.
	Due        time.Time  `json:"due"`
	Answer     string     `json:"answer,omitempty"`
	AnsweredBy kaiping.ID `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// Pending reports whether o awaits its answer.
func (o Objection) Pending() bool { return o.AnsweredAt == nil }

// Overdue reports whether o is unanswered past its due time at now.
func (o Objection) Overdue(now time.Time) bool { return o.Pending() && !now.Before(o.Due) }

// Phase is where p stands at now.
func (p *Publication) Phase(now time.Time) PublicationPhase {
	switch {
	case p.State == PublicationConcluded:
		return PhaseConcluded
	case now.Before(p.Starts):
		return PhaseScheduled
	case p.State == PublicationPaused:
		return PhasePaused
	case now.Before(p.Ends):
		return PhaseOpen
	}
	return PhaseEnded
}

// PublicationChange is one recorded change of a publication: its ledger entry, and the
// objection it filed or answered, for the store to write.
type PublicationChange struct {
	Action    string
	Payload   map[string]any
	Objection *Objection
}

// fileObjection records a bidder's objection during the period and pauses the publication.
func (p *Publication) fileObjection(o Objection) ([]PublicationChange, error) {
	now := o.FiledAt
	switch {
	case p.State == PublicationConcluded || !now.Before(p.Ends):
		return nil, kaiping.Errorf(kaiping.KindTooLate, "publication.period_ended",
			"公示期已于 %s 结束，不能再提出异议", beijingMinute(p.Ends))
	case now.Before(p.Starts):
		return nil, kaiping.Errorf(kaiping.KindTooEarly, "publication.not_started",
			"公示将于 %s 开始，开始后方可提出异议", beijingMinute(p.Starts))
	}
	n := 0
	for _, x := range p.Objections {
		if x.Bidder == o.Bidder {
			n++
		}
	}
	if n >= maxObjectionsPerBidder {
		return nil, kaiping.Errorf(kaiping.KindConflict, "publication.too_many_objections",
			"您已对本公示提出 %d 项异议，请在已提出的异议中补充说明", n)
	}
	o.No, o.Due = len(p.Objections)+1, now.Add(ObjectionAnswerWithin)
	p.Objections = append(p.Objections, o)
	p.State = PublicationPaused
	return []PublicationChange{{Action: ActionPublicationObjectionFiled, Objection: &p.Objections[len(p.Objections)-1],
		Payload: map[string]any{"objection": o.ID, "section": p.Section, "text_sha256": textDigest(o.Text), "due": o.Due}}}, nil
}

// answer records host staff's written answer to an objection; the publication resumes once no
// objection awaits its answer.
func (p *Publication) answer(objection kaiping.ID, text string, by kaiping.ID, now time.Time) ([]PublicationChange, error) {
	i := slices.IndexFunc(p.Objections, func(o Objection) bool { return o.ID == objection })
	if i < 0 {
		return nil, kaiping.E(kaiping.KindNotFound, "publication.objection_not_found", "该异议不存在")
	}
	o := &p.Objections[i]
	if !o.Pending() {
		return nil, kaiping.Errorf(kaiping.KindConflict, "publication.already_answered", "该异议已于 %s 答复", beijingMinute(*o.AnsweredAt))
	}
	o.Answer, o.AnsweredBy, o.AnsweredAt = text, by, &now
	late := now.After(o.Due)
	if !slices.ContainsFunc(p.Objections, Objection.Pending) {
		p.State = PublicationOpen
	}
	return []PublicationChange{{Action: ActionPublicationObjectionAnswered, Objection: o,
		Payload: map[string]any{"objection": o.ID, "answer_sha256": textDigest(text), "late": late, "resumed": p.State == PublicationOpen}}}, nil
}

// conclude ends a publication whose period is over and whose objections are all answered.
func (p *Publication) conclude(by kaiping.ID, now time.Time) ([]PublicationChange, error) {
	switch {
	case p.State == PublicationConcluded:
		return nil, kaiping.Errorf(kaiping.KindConflict, "publication.concluded", "公示已于 %s 结束", beijingMinute(*p.ConcludedAt))
	case p.State == PublicationPaused:
		return nil, kaiping.E(kaiping.KindConflict, "publication.paused", "有异议尚未答复（异议处理中），须全部书面答复后方可结束公示")
	case now.Before(p.Ends):
		return nil, kaiping.Errorf(kaiping.KindTooEarly, "publication.period_running", "公示期至 %s 届满，届满后方可结束公示", beijingMinute(p.Ends))
	}
	p.State, p.ConcludedBy, p.ConcludedAt = PublicationConcluded, by, &now
	return []PublicationChange{{Action: ActionPublicationConcluded, Payload: map[string]any{"section": p.Section, "objections": len(p.Objections)}}}, nil
}

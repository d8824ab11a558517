package evaluation

import (
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// What each audience sees of a publication. The public sees only what the law makes public
// (条例 Art. 54; 招标投标法 Art. 44 keeps the rest confidential): the tender and the section, the
// candidates in rank order with their names, prices and (综合评估法) total scores, the period,
// how a bidder objects and until when, and that objections are being handled — never an
// objection's text or who filed it, no committee member, no member's scores, no principal
// IDs. A bidder also sees their own objections and answers; the tender's staff see all.

// PublicPublication is a publication as the public page shows it.
type PublicPublication struct {
	ID          kaiping.ID        `json:"id"`
	TenderCode  string            `json:"tender_code"`
	TenderTitle string            `json:"tender_title"`
	SectionCode string            `json:"section_code"`
	SectionName string            `json:"section_name"`
	MethodLabel string            `json:"method_label,omitempty"`
	Candidates  []PublicCandidate `json:"candidates"`
	Starts      time.Time         `json:"starts"`
	Ends        time.Time         `json:"ends"`
	Phase       PublicationPhase  `json:"phase"`
	PhaseLabel  string            `json:"phase_label"`
	// ObjectionsHandling says an objection awaits its answer (异议处理中): the procedure is
	// paused and no result may be confirmed.
	ObjectionsHandling bool           `json:"objections_handling"`
	ObjectionRoute     ObjectionRoute `json:"objection_route"`
	ConcludedAt        *time.Time     `json:"concluded_at,omitempty"`
}

// PublicCandidate is a candidate's public line: rank, name, price in yuan and, under the
// comprehensive method, the total score.
type PublicCandidate struct {
	Rank       int    `json:"rank"`
	BidderName string `json:"bidder_name"`
	Price      string `json:"price"`
	Total      string `json:"total,omitempty"`
}

// ObjectionRoute says how a bidder objects to a publication and until when.
type ObjectionRoute struct {
	Who string `json:"who"`
	How string `json:"how"`
	// Path is the platform's route a bidder's client posts the objection to.
	Path                  string    `json:"path"`
	Deadline              time.Time `json:"deadline"`
	ObjectionAnswerWithin string    `json:"answer_within"`
}

// PublicSummary is a publication's line in the public list.
type PublicSummary struct {
	ID          kaiping.ID       `json:"id"`
	TenderCode  string           `json:"tender_code"`
	TenderTitle string           `json:"tender_title"`
	SectionCode string           `json:"section_code"`
	SectionName string           `json:"section_name"`
	Starts      time.Time        `json:"starts"`
	Ends        time.Time        `json:"ends"`
	Phase       PublicationPhase `json:"phase"`
	PhaseLabel  string           `json:"phase_label"`
}

// PublicList is a page of the public list.
type PublicList struct {
	Publications []PublicSummary `json:"publications"`
	Total        int             `json:"total"`
	Limit        int             `json:"limit"`
	Offset       int             `json:"offset"`
}

// ObjectionView is an objection with whether its answer is overdue now.
type ObjectionView struct {
	Objection
	Overdue bool `json:"overdue"`
}

// StaffPublication is a publication as the tender's staff see it: everything, with its phase
// and each objection's standing.
type StaffPublication struct {
	Publication
	Phase      PublicationPhase `json:"phase"`
	PhaseLabel string           `json:"phase_label"`
	Objections []ObjectionView  `json:"objections"`
}

// BidderPublication is a publication as a bidder sees it: the public view and their own
// objections with the answers.
type BidderPublication struct {
	Publication PublicPublication `json:"publication"`
	Objections  []ObjectionView   `json:"objections"`
}

func objectionView(o Objection, now time.Time) ObjectionView {
	return ObjectionView{Objection: o, Overdue: o.Overdue(now)}
}

func staffPublicationView(p Publication, now time.Time) StaffPublication {
	ph := p.Phase(now)
	out := StaffPublication{Publication: p, Phase: ph, PhaseLabel: ph.Label(), Objections: make([]ObjectionView, len(p.Objections))}
	for i, o := range p.Objections {
		out.Objections[i] = objectionView(o, now)
	}
	return out
}

// publicationMethodLabel names a method's kind as the publication shows it.
func publicationMethodLabel(kind string) string {
	switch kind {
	case scoring.KindLowestPrice:
		return "经评审的最低投标价法"
	case scoring.KindComprehensive:
		return "综合评估法"
	}
	return ""
}

func publicPublicationView(p Publication, now time.Time) PublicPublication {
	ph := p.Phase(now)
	out := PublicPublication{ID: p.ID, TenderCode: p.TenderCode, TenderTitle: p.TenderTitle, SectionCode: p.SectionCode,
		SectionName: p.SectionName, MethodLabel: publicationMethodLabel(p.Method), Candidates: make([]PublicCandidate, len(p.Candidates)),
		Starts: p.Starts.UTC(), Ends: p.Ends.UTC(), Phase: ph, PhaseLabel: ph.Label(), ObjectionsHandling: p.State == PublicationPaused,
		ObjectionRoute: ObjectionRoute{
			Who:  "本标段的投标人（其投标文件参加了本标段开标的投标人）",
			How:  "使用数字证书登录本平台，在本公示中提交书面异议并写明理由；异议期间暂停招标投标活动",
			Path: "/api/v1/bidder/publications/" + string(p.ID) + "/objections", Deadline: p.Ends.UTC(),
			ObjectionAnswerWithin: "招标人自收到异议之日起 3 日内作出书面答复"},
	}
	for i, c := range p.Candidates {
		out.Candidates[i] = PublicCandidate{Rank: c.Rank, BidderName: c.BidderName, Price: twoDecimals(c.Price)}
		if p.Method == scoring.KindComprehensive {
			out.Candidates[i].Total = twoDecimals(c.Total)
		}
	}
	if p.ConcludedAt != nil {
		t := p.ConcludedAt.UTC()
		out.ConcludedAt = &t
	}
	return out
}

func publicSummary(p Publication, now time.Time) PublicSummary {
	ph := p.Phase(now)
	return PublicSummary{ID: p.ID, TenderCode: p.TenderCode, TenderTitle: p.TenderTitle, SectionCode: p.SectionCode,
		SectionName: p.SectionName, Starts: p.Starts.UTC(), Ends: p.Ends.UTC(), Phase: ph, PhaseLabel: ph.Label()}
}

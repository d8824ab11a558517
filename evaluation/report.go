package evaluation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// ReportFormat names the evaluation report's format and version.
const ReportFormat = "kaiping.evaluation-report/v1"

// Report is the evaluation report (评标报告, 12号令 Art 42): the ten sections the law lists,
// built from the session and the chair's summaries once the session is signing, and signed
// by every member over the digest of its canonical form (its encoding/json encoding with no
// HTML escaping and no trailing newline).
type Report struct {
	Format      string     `json:"format"`
	Session     kaiping.ID `json:"session_id"`
	Tender      kaiping.ID `json:"tender_id"`
	TenderCode  string     `json:"tender_code"`
	TenderTitle string     `json:"tender_title"`
	Tenderer    string     `json:"tenderer"`
	// 1 基本情况和数据表.
	GovernmentProcurement bool        `json:"government_procurement"`
	Window                draw.Period `json:"window"`
	Sites                 []string    `json:"sites"`
	// 2 评标委员会成员名单.
	Committee []ReportMember `json:"committee"`
	// 6 评标标准、评标方法或者评标因素一览表: the tender's method as evaluated.
	Method scoring.Method `json:"method"`
	// 3–5, 7–9 per section.
	Sections []ReportSection `json:"sections"`
	// 10 澄清、说明、补正事项纪要.
	Clarifications []ReportClarification `json:"clarifications"`
	BuiltAt        time.Time             `json:"built_at"`
}

// ReportMember is a member as section 2 lists them; a replaced member is listed with why.
type ReportMember struct {
	ID       kaiping.ID `json:"id"`
	Name     string     `json:"name"`
	Code     string     `json:"code,omitempty"`
	Kind     MemberKind `json:"kind"`
	Group    string     `json:"group"`
	City     string     `json:"city,omitempty"`
	Venue    string     `json:"venue,omitempty"`
	Chair    bool       `json:"chair,omitempty"`
	Replaced string     `json:"replaced,omitempty"`
}

// ReportSection is one section's part of the report.
type ReportSection struct {
	Section kaiping.ID `json:"section_id"`
	Code    string     `json:"code"`
	Name    string     `json:"name"`
	Group   string     `json:"group"`
	// Bids are the opening record's bids (section 3), by bidder.
	Bids []ReportBid `json:"bids"`
	// Rejected explains every bid not valid (section 5).
	Rejected []ReportRejection `json:"rejected"`
	// InputsDigest is the digest of the computation's inputs the summary froze; Result the
	// computation (sections 4, 7, 8 and the candidates of 9).
	InputsDigest string         `json:"inputs_digest"`
	Result       scoring.Result `json:"result"`
	// Candidates are section 9's recommended candidates in rank order, named.
	Candidates []ReportCandidate `json:"candidates"`
	// Warnings are the warnings before signing with the committee's notes (195号 item 9).
	Warnings []ReviewWarning `json:"warnings"`
	// Decisions are the committee's decisions on single bids.
	Decisions []BidDecision `json:"decisions"`
}

// ReportBid is a bid as the opening recorded it.
type ReportBid struct {
	Bidder kaiping.ID `json:"bidder_id"`
	Name   string     `json:"name"`
	Price  int64      `json:"price"`
	Opened bool       `json:"opened"`
}

// ReportRejection says why a bid is not valid.
type ReportRejection struct {
	Bidder kaiping.ID `json:"bidder_id"`
	Name   string     `json:"name"`
	// Failed are the initial-review items a majority failed, named.
	Failed []string `json:"failed,omitempty"`
	// Ground and Text are the committee's 否决: the Art 51 ground and its reasons.
	Ground string `json:"ground,omitempty"`
	Text   string `json:"text,omitempty"`
}

// ReportCandidate is a recommended candidate (中标候选人).
type ReportCandidate struct {
	Rank   int        `json:"rank"`
	Bidder kaiping.ID `json:"bidder_id"`
	Name   string     `json:"name"`
	Price  int64      `json:"price"`
	Total  int64      `json:"total"`
}

// ReportClarification is one written question to a bidder and its answer, without who on
// the committee asked.
type ReportClarification struct {
	Section    kaiping.ID `json:"section_id"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	Kind       string     `json:"kind"`
	Question   string     `json:"question"`
	Answer     string     `json:"answer,omitempty"`
	State      string     `json:"state"`
	AskedAt    time.Time  `json:"asked_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// Canonical returns the report's canonical bytes and their hex SHA-256 digest.
func (r Report) Canonical() ([]byte, string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, "", kaiping.Internal("evaluation.Report", err)
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	sum := sha256.Sum256(out)
	return out, hex.EncodeToString(sum[:]), nil
}

// buildReport assembles the report from the session, the tender's method, each section's
// recorded bids and summarized review, and the clarification minutes.
func buildReport(sess Session, tenderer string, method scoring.Method, sections []reportInput, minutes []ReportClarification, at time.Time) Report {
	r := Report{Format: ReportFormat, Session: sess.ID, Tender: sess.Tender, TenderCode: sess.TenderCode, TenderTitle: sess.TenderTitle,
		Tenderer: tenderer, GovernmentProcurement: sess.GovernmentProcurement, Window: sess.Window, Method: method,
		Clarifications: minutes, BuiltAt: at}
	if r.Clarifications == nil {
		r.Clarifications = []ReportClarification{}
	}
	for _, m := range sess.Members {
		if m.City != "" && !slices.Contains(r.Sites, m.City) {
			r.Sites = append(r.Sites, m.City)
		}
		rm := ReportMember{ID: m.ID, Name: m.Name, Code: m.Code, Kind: m.Kind, Group: m.Group, City: m.City, Venue: m.VenueCode}
		if g := sess.group(m.Group); g != nil && g.Chair == m.ID {
			rm.Chair = true
		}
		switch {
		case m.Replaced != nil:
			rm.Replaced = "由递补专家替换（" + m.Replaced.Outcome.label() + "）"
		case m.Left != nil:
			rm.Replaced = "离席"
		}
		r.Committee = append(r.Committee, rm)
	}
	items := map[string]string{}
	for _, it := range method.Review {
		items[it.Code] = it.Name
	}
	for _, in := range sections {
		rs := ReportSection{Section: in.section.ID, Code: in.section.Code, Name: in.section.Name, Group: in.review.Group,
			InputsDigest: in.review.Summary.InputsDigest, Result: in.review.Summary.Result, Warnings: in.review.Summary.Warnings,
			Decisions: in.review.Decisions, Rejected: []ReportRejection{}, Candidates: []ReportCandidate{}}
		names := map[string]string{}
		for _, b := range in.bids {
			names[string(b.Bidder)] = b.Name
			rs.Bids = append(rs.Bids, ReportBid{Bidder: b.Bidder, Name: b.Name, Price: b.Price, Opened: b.Opened})
		}
		for _, o := range rs.Result.Bids {
			if o.Valid {
				continue
			}
			rj := ReportRejection{Bidder: kaiping.ID(o.Bidder), Name: names[o.Bidder]}
			for _, f := range o.Failed {
				rj.Failed = append(rj.Failed, items[f])
			}
			if d := in.review.rejection(kaiping.ID(o.Bidder)); d != nil {
				rj.Ground, rj.Text = RejectGrounds[d.Reason], d.Text
			}
			rs.Rejected = append(rs.Rejected, rj)
		}
		for _, c := range rs.Result.Candidates {
			for _, o := range rs.Result.Bids {
				if o.Bidder == c {
					rs.Candidates = append(rs.Candidates, ReportCandidate{Rank: o.Rank, Bidder: kaiping.ID(c), Name: names[c], Price: o.Price, Total: o.Total})
				}
			}
		}
		r.Sections = append(r.Sections, rs)
	}
	return r
}

// reportInput is one section's material for the report.
type reportInput struct {
	section GroupSection
	bids    []RecordedBid
	review  Review
}

// ReportCandidates lists each section's recommended candidates from the session's signed
// report: what the publication (中标候选人公示) shows. Before the report is built,
// "report.not_built".
func (s *Service) ReportCandidates(ctx context.Context, session kaiping.ID) ([]SectionCandidates, error) {
	stored, err := s.store.StoredReport(ctx, session)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(stored.Body, &r); err != nil {
		return nil, kaiping.Internal("evaluation.ReportCandidates", err)
	}
	out := make([]SectionCandidates, 0, len(r.Sections))
	for _, sec := range r.Sections {
		sc := SectionCandidates{Section: sec.Section, SectionCode: sec.Code, SectionName: sec.Name, Candidates: []Candidate{}}
		for _, c := range sec.Candidates {
			total := c.Total
			if r.Method.Kind == scoring.KindLowestPrice {
				total = 0
			}
			sc.Candidates = append(sc.Candidates, Candidate{Rank: c.Rank, Bidder: c.Bidder, BidderName: c.Name, Price: c.Price, Total: total})
		}
		out = append(out, sc)
	}
	return out, nil
}

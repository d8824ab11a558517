package evaluation

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// InquiryRequest is the chair's written request to a bidder, on the committee's behalf.
type InquiryRequest struct {
	Section kaiping.ID  `json:"section_id"`
	Bidder  kaiping.ID  `json:"bidder_id"`
	Kind    InquiryKind `json:"kind"`
	// Question is the question, or for a correction the correction and its reason.
	Question string `json:"question"`
	// CorrectedPrice is the corrected price in fen, for a correction only.
	CorrectedPrice int64     `json:"corrected_price"`
	Deadline       time.Time `json:"deadline"`
}

// SendInquiry has the chair logged in as a.Principal send a written request to a bidder of a
// section their group evaluates whose bid was opened, while review runs. Where the centre
// requires it (Config.InquiryApproval) the request waits for a supervisor of the tender;
// otherwise it goes out at once.
func (s *Service) SendInquiry(ctx context.Context, a kaiping.Actor, session kaiping.ID, req InquiryRequest) (Inquiry, error) {
	if err := req.check(); err != nil {
		return Inquiry{}, err
	}
	sess, err := s.store.Session(ctx, session)
	if err != nil {
		return Inquiry{}, err
	}
	if _, _, err := sess.inquirer(a.Principal, req.Section); err != nil {
		return Inquiry{}, err
	}
	bidder, err := s.openedBidder(ctx, req.Section, req.Bidder)
	if err != nil {
		return Inquiry{}, err
	}
	return s.store.CreateInquiry(ctx, a, session, func(sess *Session) (Inquiry, []SessionChange, error) {
		m, sec, err := sess.inquirer(a.Principal, req.Section)
		if err != nil {
			return Inquiry{}, nil, err
		}
		if err := sess.checkDeadline(req.Deadline, a.At); err != nil {
			return Inquiry{}, nil, err
		}
		q := Inquiry{ID: kaiping.NewID(), Session: sess.ID, Tender: sess.Tender, TenderCode: sess.TenderCode,
			TenderTitle: sess.TenderTitle, Group: m.Group, Section: sec.ID, SectionCode: sec.Code, SectionName: sec.Name,
			Bidder: bidder.Bidder, BidderName: bidder.BidderName, Kind: req.Kind, Question: req.Question,
			CorrectedPrice: req.CorrectedPrice, Deadline: req.Deadline, State: InquiryPending, AskedBy: m.ID, CreatedAt: a.At}
		typ := ActionInquiryRequested
		if !s.cfg.InquiryApproval {
			at := a.At
			q.State, q.SentAt, typ = InquirySent, &at, ActionInquirySent
		}
		return q, []SessionChange{inquiryChange(typ, &q)}, nil
	})
}

// openedBidder is bidder's opened bid in section: the committee asks only a bidder whose bid
// it has before it.
func (s *Service) openedBidder(ctx context.Context, section, bidder kaiping.ID) (OpenedEnvelope, error) {
	bids, err := s.opened()
	if err != nil {
		return OpenedEnvelope{}, err
	}
	es, err := bids.Envelopes(ctx, section)
	if err != nil {
		return OpenedEnvelope{}, err
	}
	i := slices.IndexFunc(es, func(e OpenedEnvelope) bool { return e.Bidder == bidder })
	if i < 0 {
		return OpenedEnvelope{}, kaiping.E(kaiping.KindNotFound, "inquiry.bidder", "该标段没有此投标人已开启的投标文件")
	}
	return es[i], nil
}

// InquiryReviewRequest is a supervisor's decision on a pending request; a refusal says why.
type InquiryReviewRequest struct {
	Reason string `json:"reason" text:"line"`
}

// ApproveInquiry has a supervisor of the tender approve a pending request, which goes out.
func (s *Service) ApproveInquiry(ctx context.Context, a kaiping.Actor, id kaiping.ID) (Inquiry, error) {
	return s.store.ChangeInquiry(ctx, a, id, func(sess *Session, q *Inquiry) ([]SessionChange, error) {
		return q.review(sess, InquiryReview{Approved: true, By: a.Principal, At: a.At})
	})
}

// RefuseInquiry has a supervisor of the tender refuse a pending request, with the reason:
// it never goes out.
func (s *Service) RefuseInquiry(ctx context.Context, a kaiping.Actor, id kaiping.ID, req InquiryReviewRequest) (Inquiry, error) {
	reason := strings.TrimSpace(req.Reason)
	if reason == "" || runes(reason) > maxReasonRunes {
		return Inquiry{}, invalid("inquiry.reason", "不同意发出须写明原因（不超过 %d 字）", maxReasonRunes)
	}
	return s.store.ChangeInquiry(ctx, a, id, func(sess *Session, q *Inquiry) ([]SessionChange, error) {
		return q.review(sess, InquiryReview{Approved: false, Reason: reason, By: a.Principal, At: a.At})
	})
}

// AnswerRequest is a bidder's written answer, signed: the fingerprint of its registered
// certificate whose key signed InquiryAnswerMessage(inquiry, TextDigest(Text), Decision).
type AnswerRequest struct {
	Text        string          `json:"text"`
	Decision    InquiryDecision `json:"decision"`
	Certificate string          `json:"certificate_fingerprint"`
	Signature   []byte          `json:"signature"`
}

// AnswerInquiry records the answer of the bidder logged in as a.Principal to an inquiry sent
// to them. Someone else's inquiry is "inquiry.not_found", as one that does not exist.
func (s *Service) AnswerInquiry(ctx context.Context, a kaiping.Actor, id kaiping.ID, req AnswerRequest) (BidderInquiry, error) {
	q, err := s.store.Inquiry(ctx, id)
	if err != nil {
		return BidderInquiry{}, err
	}
	if q.Bidder != a.Principal || !q.wentOut() {
		return BidderInquiry{}, errInquiryNotFound()
	}
	if runes(req.Text) > maxAnswerRunes {
		return BidderInquiry{}, invalid("inquiry.answer_text", "答复不超过 %d 字", maxAnswerRunes)
	}
	if q.Kind != InquiryCorrection && strings.TrimSpace(req.Text) == "" {
		return BidderInquiry{}, invalid("inquiry.answer_text", "须书面答复（答复内容不能为空）")
	}
	if req.Decision != DecisionAnswer && req.Decision != DecisionConfirm && req.Decision != DecisionRefuse {
		return BidderInquiry{}, invalid("inquiry.decision", "decision 须为 answer、confirm 或 refuse")
	}
	der, err := s.store.PrincipalCertificate(ctx, a.Principal, req.Certificate)
	if err != nil {
		return BidderInquiry{}, err
	}
	digest := TextDigest(req.Text)
	if err := verifySignature(der, InquiryAnswerMessage(id, digest, req.Decision), req.Signature); err != nil {
		return BidderInquiry{}, kaiping.E(kaiping.KindInvalid, "inquiry.bad_signature",
			"签名验证失败：签名须是用您在本平台登记的证书私钥，对本澄清事项、答复内容摘要和答复选择所作")
	}
	out, err := s.store.ChangeInquiry(ctx, a, id, func(sess *Session, q *Inquiry) ([]SessionChange, error) {
		return q.answer(sess, a.Principal, InquiryAnswer{Text: req.Text, Decision: req.Decision, Digest: digest,
			Certificate: req.Certificate, Signature: req.Signature, At: a.At})
	})
	if err != nil {
		return BidderInquiry{}, err
	}
	return bidderView(out, a.At), nil
}

// GroupInquiries lists the inquiries of the group of the sitting member logged in as
// principal: a member replaced (after declaring a conflict, say) or gone reads no more.
func (s *Service) GroupInquiries(ctx context.Context, principal, session kaiping.ID) ([]Inquiry, error) {
	sess, err := s.store.Session(ctx, session)
	if err != nil {
		return nil, err
	}
	m, err := sess.acting(principal)
	if err != nil {
		return nil, err
	}
	all, err := s.store.SessionInquiries(ctx, session)
	if err != nil {
		return nil, err
	}
	return s.withStates(filter(all, func(q Inquiry) bool { return q.Group == m.Group })), nil
}

// SessionInquiries lists every inquiry of a session, for its supervisors.
func (s *Service) SessionInquiries(ctx context.Context, session kaiping.ID) ([]Inquiry, error) {
	all, err := s.store.SessionInquiries(ctx, session)
	return s.withStates(all), err
}

// withStates sets each inquiry's state as of now (expired, withdrawn).
func (s *Service) withStates(qs []Inquiry) []Inquiry {
	now := s.clock.Now()
	for i := range qs {
		qs[i].State = qs[i].StateAt(now)
	}
	return qs
}

// BidderInquiry is an inquiry as its bidder sees it: from the committee, with no member, no
// chair, no group and no supervisor named.
type BidderInquiry struct {
	ID             kaiping.ID     `json:"id"`
	Session        kaiping.ID     `json:"session_id"`
	TenderCode     string         `json:"tender_code"`
	TenderTitle    string         `json:"tender_title"`
	SectionCode    string         `json:"section_code"`
	SectionName    string         `json:"section_name"`
	From           string         `json:"from"`
	Kind           InquiryKind    `json:"kind"`
	Question       string         `json:"question"`
	CorrectedPrice int64          `json:"corrected_price,omitempty"`
	Deadline       time.Time      `json:"deadline"`
	State          InquiryState   `json:"state"`
	SentAt         time.Time      `json:"sent_at"`
	Answer         *InquiryAnswer `json:"answer,omitempty"`
}

func bidderView(q Inquiry, now time.Time) BidderInquiry {
	v := BidderInquiry{ID: q.ID, Session: q.Session, TenderCode: q.TenderCode, TenderTitle: q.TenderTitle,
		SectionCode: q.SectionCode, SectionName: q.SectionName, From: InquiryFrom, Kind: q.Kind, Question: q.Question,
		CorrectedPrice: q.CorrectedPrice, Deadline: q.Deadline, State: q.StateAt(now), Answer: q.Answer}
	if q.SentAt != nil {
		v.SentAt = *q.SentAt
	}
	return v
}

// MyInquiries lists the inquiries sent to the bidder logged in as principal, in every session.
func (s *Service) MyInquiries(ctx context.Context, principal kaiping.ID) ([]BidderInquiry, error) {
	qs, err := s.store.BidderInquiries(ctx, principal)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := make([]BidderInquiry, 0, len(qs))
	for _, q := range qs {
		out = append(out, bidderView(q, now))
	}
	return out, nil
}

// InquiryOutcomes lists, for the review, what came of the inquiries of one section of a
// session, with their states as of now: a refused or expired correction makes the bid
// invalid; what a below-cost answer is worth is the committee's decision.
func (s *Service) InquiryOutcomes(ctx context.Context, session, section kaiping.ID) ([]InquiryOutcome, error) {
	all, err := s.store.SessionInquiries(ctx, session)
	if err != nil {
		return nil, err
	}
	out := []InquiryOutcome{}
	for _, q := range s.withStates(all) {
		if q.Section != section {
			continue
		}
		o := InquiryOutcome{Inquiry: q.ID, Bidder: q.Bidder, Kind: string(q.Kind), State: string(q.State), CorrectedPrice: q.CorrectedPrice}
		if q.Answer != nil {
			at := q.Answer.At
			o.Answered = &at
		}
		out = append(out, o)
	}
	return out, nil
}

// InquiryMinutes lists the inquiries that went out to bidders, for the report's 澄清、说明、
// 补正事项纪要: question, answer, times, kind and bidder, never who on the committee asked.
func (s *Service) InquiryMinutes(ctx context.Context, session kaiping.ID) ([]Inquiry, error) {
	all, err := s.store.SessionInquiries(ctx, session)
	if err != nil {
		return nil, err
	}
	out := []Inquiry{}
	for _, q := range s.withStates(all) {
		if !q.wentOut() {
			continue
		}
		q.AskedBy = ""
		out = append(out, q)
	}
	return out, nil
}

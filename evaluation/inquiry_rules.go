package evaluation

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/certsign"
)

// The ledger actions of inquiries; each is also the type of the session event written with
// it, which the committee's group and the overseers read (AudienceGroup).
const (
	ActionInquiryRequested  = "inquiry.requested"             // 组长提出，待监督人员审核
	ActionInquirySent       = "inquiry.sent"                  // 组长代表评标委员会发出
	ActionInquiryApproved   = "inquiry.approved"              // 监督人员同意并发出
	ActionInquiryRefusedSup = "inquiry.refused_by_supervisor" // 监督人员不同意，未发出
	ActionInquiryAnswered   = "inquiry.answered"              // 投标人书面答复（签名）
)

// The bounds of an inquiry's texts.
const (
	maxQuestionRunes = 2000
	maxAnswerRunes   = 10000
)

func errInquiryNotFound() error {
	return kaiping.E(kaiping.KindNotFound, "inquiry.not_found", "澄清事项不存在")
}

// check validates what the chair wrote, before anything is read.
func (r InquiryRequest) check() error {
	switch {
	case !r.Kind.valid():
		return invalid("inquiry.kind", "请求类型须为 clarification（澄清）、correction（算术修正）或 below_cost（低于成本说明）")
	case strings.TrimSpace(r.Question) == "" || runes(r.Question) > maxQuestionRunes:
		return invalid("inquiry.question", "须写明问题或修正理由（不超过 %d 字）", maxQuestionRunes)
	case r.Kind == InquiryCorrection && r.CorrectedPrice <= 0:
		return invalid("inquiry.corrected_price", "算术修正须写明修正后的投标报价（以分计，大于零）")
	case r.Kind != InquiryCorrection && r.CorrectedPrice != 0:
		return invalid("inquiry.corrected_price", "只有算术修正才写修正后的报价")
	case !r.Section.Valid() || !r.Bidder.Valid():
		return invalid("inquiry.target", "须指定标段和投标人")
	}
	return nil
}

// inquirer is the chair who may send an inquiry about section in the session now: the sitting
// member who chairs the group evaluating section, while review runs.
func (s *Session) inquirer(principal, section kaiping.ID) (*SessionMember, *GroupSection, error) {
	m, err := s.acting(principal)
	if err != nil {
		return nil, nil, err
	}
	if s.State != SessionInReview {
		return nil, nil, kaiping.Errorf(kaiping.KindConflict, "inquiry.state", "评标会议当前为「%s」，只有评审中才能向投标人发出澄清", s.State.Label())
	}
	g := s.group(m.Group)
	if g == nil || g.Chair != m.ID {
		return nil, nil, kaiping.E(kaiping.KindForbidden, "inquiry.not_chair", "只有评标小组组长才能代表评标委员会向投标人发出书面澄清")
	}
	i := slices.IndexFunc(g.Sections, func(x GroupSection) bool { return x.ID == section })
	if i < 0 {
		return nil, nil, kaiping.E(kaiping.KindNotFound, "inquiry.section", "本评标小组不评审该标段")
	}
	return m, &g.Sections[i], nil
}

// checkDeadline refuses a deadline that is past or falls after the session's end: the answer
// must come back while the committee still sits.
func (s *Session) checkDeadline(deadline, now time.Time) error {
	if !deadline.After(now) {
		return invalid("inquiry.deadline_past", "答复期限须晚于当前时间")
	}
	if deadline.After(s.Window.End) {
		return invalid("inquiry.deadline_after_window", "答复期限不得晚于评标结束时间 %s", beijingMinute(s.Window.End))
	}
	return nil
}

// inquiryPayload is what the ledger and the group's event say of q: never the texts (their
// digests), never the chair's name.
func inquiryPayload(q *Inquiry) map[string]any {
	p := map[string]any{"inquiry": q.ID, "group": q.Group, "section": q.Section, "bidder": q.Bidder,
		"kind": q.Kind, "state": q.State, "deadline": q.Deadline, "question_sha256": TextDigest(q.Question)}
	if q.Kind == InquiryCorrection {
		p["corrected_price"] = q.CorrectedPrice
	}
	return p
}

func inquiryChange(typ string, q *Inquiry) SessionChange {
	return SessionChange{Type: typ, Group: q.Group, Payload: inquiryPayload(q)}
}

// review records a supervisor's approval (the request goes out now) or refusal (it never
// does): only a pending request whose deadline has not passed, while review runs.
func (q *Inquiry) review(s *Session, r InquiryReview) ([]SessionChange, error) {
	if q.State != InquiryPending {
		return nil, kaiping.Errorf(kaiping.KindConflict, "inquiry.not_pending", "该请求当前为「%s」，无须审核", q.StateAt(r.At).Label())
	}
	if r.Approved {
		if s.State != SessionInReview {
			return nil, kaiping.Errorf(kaiping.KindConflict, "inquiry.state", "评标会议当前为「%s」，不能再发出澄清", s.State.Label())
		}
		if !r.At.Before(q.Deadline) {
			return nil, kaiping.E(kaiping.KindTooLate, "inquiry.deadline_passed", "答复期限已过，不能再发出；请组长重新提出")
		}
	}
	rv := r
	q.Review = &rv
	if !r.Approved {
		q.State = InquiryWithdrawn
		c := inquiryChange(ActionInquiryRefusedSup, q)
		c.Payload["reason"] = r.Reason
		return []SessionChange{c}, nil
	}
	at := r.At
	q.State, q.SentAt = InquirySent, &at
	return []SessionChange{inquiryChange(ActionInquiryApproved, q)}, nil
}

// answer records the bidder's signed answer: only to an inquiry sent to them, once, before
// its deadline, while the session has not moved on to signing its report.
func (q *Inquiry) answer(s *Session, bidder kaiping.ID, ans InquiryAnswer) ([]SessionChange, error) {
	if q.Bidder != bidder || !q.wentOut() {
		return nil, errInquiryNotFound()
	}
	if q.State != InquirySent {
		return nil, kaiping.E(kaiping.KindConflict, "inquiry.answered", "该澄清事项已经答复，不能再次答复")
	}
	if !ans.At.Before(q.Deadline) {
		return nil, kaiping.E(kaiping.KindTooLate, "inquiry.deadline_passed", "答复期限已过，不能再答复")
	}
	if s.State != SessionInReview && s.State != SessionSuspended {
		return nil, kaiping.Errorf(kaiping.KindConflict, "inquiry.state", "评标会议当前为「%s」，不再接受答复", s.State.Label())
	}
	if (q.Kind == InquiryCorrection) == (ans.Decision == DecisionAnswer) {
		return nil, invalid("inquiry.decision", "算术修正须选择确认（confirm）或不接受（refuse），其他请求以 answer 答复")
	}
	a := ans
	q.Answer = &a
	q.State = InquiryAnswered
	if ans.Decision == DecisionRefuse {
		q.State = InquiryRefused
	}
	c := inquiryChange(ActionInquiryAnswered, q)
	c.Payload["decision"], c.Payload["answer_sha256"], c.Payload["certificate"] = ans.Decision, ans.Digest, ans.Certificate
	return []SessionChange{c}, nil
}

// verifySignature checks that sig is the signature of msg by the key of the certificate der.
func verifySignature(der, msg, sig []byte) error {
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return err
	}
	if ok, _ := certsign.Verify(cert.PublicKey, msg, sig); !ok {
		return errors.New("signature does not verify")
	}
	return nil
}

package opening

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaiping/kaiping"
)

// Confirmation is a bidder's signed confirmation of the opening record (确认开标记录).
type Confirmation struct {
	Section     kaiping.ID `json:"section_id"`
	Bidder      kaiping.ID `json:"bidder_id"`
	BidderName  string     `json:"bidder_name"`
	Digest      string     `json:"digest"`
	Certificate string     `json:"certificate_fingerprint"`
	Signature   []byte     `json:"signature"`
	At          time.Time  `json:"at"`
}

// Objection is a bidder's objection (异议) to the opening, and the host's answer.
type Objection struct {
	ID         kaiping.ID `json:"id"`
	Section    kaiping.ID `json:"section_id"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	Text       string     `json:"text"`
	RaisedAt   time.Time  `json:"raised_at"`
	Answer     string     `json:"answer,omitempty"`
	AnsweredBy kaiping.ID `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// ConfirmRequest is a bidder's confirmation: the digest of the record it read and its
// certificate key's signature over RecordMessage(digest).
type ConfirmRequest struct {
	Digest    string `json:"digest"`
	Signature []byte `json:"signature"` // base64 in JSON
}

// ObjectionRequest is a bidder's objection.
type ObjectionRequest struct {
	Text string `json:"text"`
}

// AnswerRequest is the host's answer to an objection.
type AnswerRequest struct {
	Answer string `json:"answer"`
}

const maxObjectionRunes = 2000

// Record returns the section's published opening record to the bidders in its bid set and
// to hosts and supervisors (overseer says which).
func (h *Hall) Record(ctx context.Context, a kaiping.Actor, overseer bool, tenderID kaiping.ID, sectionRef string) (PublishedRecord, error) {
	t, sec, err := h.section(ctx, tenderID, sectionRef)
	if err != nil {
		return PublishedRecord{}, err
	}
	if !overseer {
		if _, err := h.ownEnvelopes(ctx, t, sec, a.Principal); err != nil {
			return PublishedRecord{}, err
		}
	}
	return h.store.Record(ctx, sec.ID)
}

// Confirm records bidder a's confirmation of the record while the hall is confirming. The
// digest must be the current record's ("hall.record_changed" otherwise) and the signature
// must verify with the certificate the bidder registered for the section.
func (h *Hall) Confirm(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req ConfirmRequest) (Confirmation, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return Confirmation{}, err
	}
	if err := st.Require(HallConfirming); err != nil {
		return Confirmation{}, err
	}
	if _, err := h.ownEnvelopes(ctx, t, sec, a.Principal); err != nil {
		return Confirmation{}, err
	}
	if req.Digest != st.RecordDigest {
		return Confirmation{}, errRecordChanged()
	}
	reg, err := h.store.Registration(ctx, sec.ID, a.Principal)
	if err != nil {
		return Confirmation{}, err
	}
	der, err := h.store.CertificateDER(ctx, reg.Certificate)
	if err != nil {
		return Confirmation{}, err
	}
	if err := VerifyRecordSignature(der, req.Digest, req.Signature); err != nil {
		return Confirmation{}, err
	}
	c := Confirmation{Section: sec.ID, Bidder: a.Principal, BidderName: reg.BidderName, Digest: req.Digest,
		Certificate: reg.Certificate, Signature: req.Signature, At: a.At}
	if err := h.store.Confirm(ctx, a, c); err != nil {
		return Confirmation{}, err
	}
	return c, nil
}

func errRecordChanged() error {
	return kaiping.E(kaiping.KindConflict, "hall.record_changed", "所确认的摘要不是当前开标记录的摘要：开标记录已变化，请重新读取后确认")
}

// Object records bidder a's objection while the record is published or being confirmed.
func (h *Hall) Object(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req ObjectionRequest) (Objection, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return Objection{}, err
	}
	text, err := hallText(req.Text, "hall.objection_text", "异议内容")
	if err != nil {
		return Objection{}, err
	}
	if err := st.Require(ObjectionStates...); err != nil {
		return Objection{}, err
	}
	envs, err := h.ownEnvelopes(ctx, t, sec, a.Principal)
	if err != nil {
		return Objection{}, err
	}
	o := Objection{ID: kaiping.NewID(), Section: sec.ID, Bidder: a.Principal, BidderName: envs[0].BidderName, Text: text, RaisedAt: a.At}
	if err := h.store.Object(ctx, a, o); err != nil {
		return Objection{}, err
	}
	return o, nil
}

// ObjectionStates are the hall's states in which bidders may object and the host answers:
// the whole opening, from check-in to close (《招标投标法实施条例》 Art. 44: objections to the
// opening are raised at the opening and answered on the spot), not only once the record is
// out.
var ObjectionStates = []HallState{HallCheckingIn, HallDecrypting, HallPublished, HallConfirming}

// Answer records the host's answer to an objection.
func (h *Hall) Answer(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, objection kaiping.ID, req AnswerRequest) (Objection, error) {
	_, sec, err := h.section(ctx, tenderID, sectionRef)
	if err != nil {
		return Objection{}, err
	}
	answer, err := hallText(req.Answer, "hall.answer_text", "答复内容")
	if err != nil {
		return Objection{}, err
	}
	return h.store.Answer(ctx, a, sec.ID, objection, answer)
}

// hallText trims an objection or an answer and checks it is not empty nor too long.
func hallText(s, code, what string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > maxObjectionRunes {
		return "", kaiping.Errorf(kaiping.KindInvalid, code, "%s不能为空，且不超过 %d 字", what, maxObjectionRunes)
	}
	return s, nil
}

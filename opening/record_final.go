package opening

import (
	"encoding/json"
	"time"

	"github.com/kaiping/kaiping"
)

// FinalRecordFormat names the final record's format and version.
const FinalRecordFormat = "kaiping.opening-final-record/v1"

// FinalRecord is the opening record as it stood when the hall closed (开标结束): the
// published record, byte for byte, with what followed it — every bidder's confirmation or
// its absence (未确认, or 视为认可 where the tender says silence consents), every objection
// raised in the round with the host's answer, and each bid's outcome. It is built in the
// closing transaction's view of the hall (the close is refused if anything changed since),
// stored with the close, and archived beside the published record (record_export.go): the
// published record stays what bidders confirmed; this one is what the opening ended with.
//
// Its canonical form and digest are made as OpeningRecord's.
type FinalRecord struct {
	Format      string     `json:"format"`
	Tender      kaiping.ID `json:"tender_id"`
	TenderCode  string     `json:"tender_code"`
	TenderTitle string     `json:"tender_title"`
	Section     kaiping.ID `json:"section_id"`
	SectionCode string     `json:"section_code"`
	SectionName string     `json:"section_name"`
	Round       int        `json:"round"`
	// RecordDigest and Record are the published record the bidders confirmed.
	RecordDigest string          `json:"record_digest"`
	Record       json.RawMessage `json:"record"`
	// ConfirmEndsAt is when the confirmation period ended (or was to end), ClosedAt when
	// the hall closed, by the host or by the platform at the period's end.
	ConfirmEndsAt *time.Time `json:"confirm_ends_at,omitempty"`
	ClosedAt      time.Time  `json:"closed_at"`
	ClosedBy      By         `json:"closed_by"`
	// SilenceConsents is the tender's rule that a bidder who neither confirmed nor objected
	// within the period is deemed to accept the record (视为认可).
	SilenceConsents bool             `json:"silence_consents"`
	Bids            []FinalBid       `json:"bids"`
	Objections      []FinalObjection `json:"objections"`
}

// FinalBid is a bidder's line in the final record: its bid's outcome and its answer to
// the record.
type FinalBid struct {
	No          int        `json:"no"`
	Bidder      kaiping.ID `json:"bidder_id"`
	BidderName  string     `json:"bidder_name"`
	Status      string     `json:"status"`
	StatusLabel string     `json:"status_label"`
	// Answer is confirmed, objected, deemed_confirmed (视为认可) or not_confirmed.
	Answer      string `json:"answer"`
	AnswerLabel string `json:"answer_label"`
	// The confirmation, when there is one: when, with which certificate, and the signature
	// over RecordMessage(RecordDigest), which anyone can check against the certificate.
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	Certificate string     `json:"certificate_fingerprint,omitempty"`
	Signature   []byte     `json:"signature,omitempty"`
}

// FinalObjection is an objection of the round with its answer.
type FinalObjection struct {
	ID         kaiping.ID `json:"id"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	Text       string     `json:"text"`
	RaisedAt   time.Time  `json:"raised_at"`
	Answer     string     `json:"answer"`
	AnsweredBy kaiping.ID `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// Answers a bidder gives the record.
const (
	AnswerConfirmed       = "confirmed"
	AnswerObjected        = "objected"
	AnswerDeemedConfirmed = "deemed_confirmed"
	AnswerNotConfirmed    = "not_confirmed"
	// AnswerNone: the opening failed (流标) at publication; there was nothing to confirm.
	AnswerNone = "none"
)

// AnswerLabel is an answer's Chinese name.
func AnswerLabel(answer string) string {
	switch answer {
	case AnswerConfirmed:
		return "已签名确认"
	case AnswerObjected:
		return "提出异议"
	case AnswerDeemedConfirmed:
		return "未确认，视为认可"
	case AnswerNotConfirmed:
		return "未确认"
	case AnswerNone:
		return "流标，无需确认"
	}
	return answer
}

// Canonical returns the final record's canonical bytes and their digest.
func (r FinalRecord) Canonical() ([]byte, string, error) {
	return canonical(r, "opening.FinalRecord")
}

// DecodeFinalRecord reads a final record's canonical bytes.
func DecodeFinalRecord(canonical []byte) (FinalRecord, error) {
	var r FinalRecord
	if err := json.Unmarshal(canonical, &r); err != nil {
		return r, kaiping.Internal("opening.DecodeFinalRecord", err)
	}
	return r, nil
}

// finalInput is what a final record is built from, all read at the hall's version the close
// is made at.
type finalInput struct {
	tender     Tender
	section    Section
	hall       HallStatus
	record     PublishedRecord
	confirmed  []Confirmation
	objections []Objection
	by         By
	at         time.Time
}

// buildFinalRecord puts together the final record of the round that closes (or fails at
// publication, 流标, which is its end too): each bid of the published record with its
// bidder's answer, and the objections raised since the round's check-in opened.
func buildFinalRecord(in finalInput) (FinalRecord, error) {
	rec, err := DecodeRoundRecord(in.record.Record)
	if err != nil {
		return FinalRecord{}, err
	}
	f := FinalRecord{Format: FinalRecordFormat, Tender: in.tender.ID, TenderCode: in.tender.Code, TenderTitle: in.tender.Title,
		Section: in.section.ID, SectionCode: in.section.Code, SectionName: in.section.Name, Round: rec.Round,
		RecordDigest: in.record.Digest, Record: in.record.Record, ConfirmEndsAt: utcPtr(in.hall.ConfirmEndsAt),
		ClosedAt: in.at.UTC(), ClosedBy: in.by, SilenceConsents: in.tender.SilenceConsents,
		Bids: []FinalBid{}, Objections: []FinalObjection{}}
	confirmations := map[kaiping.ID]Confirmation{}
	for _, c := range in.confirmed {
		confirmations[c.Bidder] = c
	}
	objected := map[kaiping.ID]bool{}
	for _, o := range in.objections {
		if in.hall.CheckInOpenedAt != nil && o.RaisedAt.Before(*in.hall.CheckInOpenedAt) {
			continue // an earlier round's
		}
		objected[o.Bidder] = true
		f.Objections = append(f.Objections, FinalObjection{ID: o.ID, Bidder: o.Bidder, BidderName: o.BidderName, Text: o.Text,
			RaisedAt: o.RaisedAt.UTC(), Answer: o.Answer, AnsweredBy: o.AnsweredBy, AnsweredAt: utcPtr(o.AnsweredAt)})
	}
	for _, b := range rec.Bids {
		fb := FinalBid{No: b.No, Bidder: b.Bidder, BidderName: b.BidderName, Status: b.Status, StatusLabel: b.StatusLabel}
		c, ok := confirmations[b.Bidder]
		switch {
		case rec.Outcome == string(HallFailed):
			fb.Answer = AnswerNone
		case ok:
			at := c.At.UTC()
			fb.Answer, fb.ConfirmedAt, fb.Certificate, fb.Signature = AnswerConfirmed, &at, c.Certificate, c.Signature
		case objected[b.Bidder]:
			fb.Answer = AnswerObjected
		case in.tender.SilenceConsents:
			fb.Answer = AnswerDeemedConfirmed
		default:
			fb.Answer = AnswerNotConfirmed
		}
		fb.AnswerLabel = AnswerLabel(fb.Answer)
		f.Bids = append(f.Bids, fb)
	}
	return f, nil
}

// finalOf builds the final record and returns it as the store keeps it: canonical bytes,
// digest, and the time of the close.
func finalOf(in finalInput) (*PublishedRecord, error) {
	f, err := buildFinalRecord(in)
	if err != nil {
		return nil, err
	}
	canonical, digest, err := f.Canonical()
	if err != nil {
		return nil, err
	}
	return &PublishedRecord{Section: in.section.ID, Digest: digest, Record: canonical, PublishedAt: in.at}, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

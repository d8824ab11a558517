package opening

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/kaiping/kaiping"
)

// RecordFormat names the opening record's format and version.
const RecordFormat = "kaiping.opening-record/v1"

// BidOpened is the status of a bid whose every envelope was decrypted.
const BidOpened = "opened"

// OpeningRecord is the opening record (开标记录) of a section: what the hall publishes to all
// bidders at once when decryption ends, and what they confirm by signing its digest. It
// shows, for every bidder in the sealed bid set, its name and the fields the tender names
// from its decrypted summary envelope (开标一览表), or why its bid was not opened.
//
// Its canonical form is its encoding/json encoding with no HTML escaping and no trailing
// newline (struct fields in declaration order, map keys sorted, times in UTC); the digest
// is the hex SHA-256 of those bytes, which are stored and served unchanged.
type OpeningRecord struct {
	Format       string         `json:"format"`
	Tender       kaiping.ID     `json:"tender_id"`
	TenderCode   string         `json:"tender_code"`
	TenderTitle  string         `json:"tender_title"`
	Tenderer     string         `json:"tenderer"`
	Section      kaiping.ID     `json:"section_id"`
	SectionCode  string         `json:"section_code"`
	SectionName  string         `json:"section_name"`
	Deadline     time.Time      `json:"deadline"`
	BidSetDigest string         `json:"bid_set_digest"`
	WindowOpened time.Time      `json:"window_opened_at"`
	WindowClosed time.Time      `json:"window_closed_at"`
	PublishedAt  time.Time      `json:"published_at"`
	Fields       []SummaryField `json:"fields"`
	Bids         []RecordBid    `json:"bids"`
	ValidBids    int            `json:"valid_bids"`
	MinBids      int            `json:"min_bids"`
	// Outcome is opened, or failed (流标) with Reason.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// RecordBid is one bidder's line in the opening record.
type RecordBid struct {
	No          int        `json:"no"`
	Bidder      kaiping.ID `json:"bidder_id"`
	BidderName  string     `json:"bidder_name"`
	Status      string     `json:"status"` // opened, revoked (撤销) or withdrawn (撤回)
	StatusLabel string     `json:"status_label"`
	Reason      string     `json:"reason,omitempty"`
	ReasonText  string     `json:"reason_text,omitempty"`
	// Values are the summary fields, normalized, keyed by SummaryField.Key.
	Values    map[string]string `json:"values,omitempty"`
	Envelopes []RecordEnvelope  `json:"envelopes"`
}

// RecordEnvelope is an envelope of a bid in the record: what was sealed and, once opened,
// the digest of what it held.
type RecordEnvelope struct {
	Kind            string `json:"kind"`
	SHA256          string `json:"sha256"`
	PlaintextDigest string `json:"plaintext_digest,omitempty"`
	Via             string `json:"via,omitempty"`
	Outcome         string `json:"outcome,omitempty"`
	Reason          string `json:"reason,omitempty"`
}

// PublishedRecord is a record as stored: its canonical bytes and digest.
type PublishedRecord struct {
	Section     kaiping.ID      `json:"section_id"`
	Digest      string          `json:"digest"`
	Record      json.RawMessage `json:"record"`
	PublishedAt time.Time       `json:"published_at"`
	LedgerSeq   int64           `json:"ledger_seq"`
}

// Canonical returns the record's canonical bytes and their digest.
func (r OpeningRecord) Canonical() ([]byte, string, error) {
	return canonical(r, "opening.Record")
}

// canonical is a record's canonical form: its encoding/json encoding without HTML escaping
// or the trailing newline, and the digest of those bytes.
func canonical(v any, op string) ([]byte, string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, "", kaiping.Internal(op, err)
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return out, RecordDigest(out), nil
}

// RecordDigest is the hex SHA-256 of a record's canonical bytes.
func RecordDigest(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// recordInput is what a record is built from.
type recordInput struct {
	tender    Tender
	section   Section
	set       BidSet
	hall      HallStatus
	envelopes []HallEnvelope
	closedAt  time.Time
	at        time.Time
}

// buildRecord classifies every envelope not decrypted and builds the first round's record.
// A bid is opened when every envelope of this round was decrypted and, where the summary
// opens in this round (not in a two-envelope tender's), its summary read; otherwise
// it is revoked (撤销) if any envelope failed by the bidder's cause, withdrawn (撤回) if
// only by ours. The outcome is failed (流标) with fewer opened bids than the tender's
// minimum.
func buildRecord(in recordInput) (OpeningRecord, []EnvelopeOutcome) {
	utc := func(t time.Time) time.Time { return t.UTC() }
	rec := OpeningRecord{
		Format: RecordFormat, Tender: in.tender.ID, TenderCode: in.tender.Code, TenderTitle: in.tender.Title,
		Tenderer: in.tender.Tenderer, Section: in.section.ID, SectionCode: in.section.Code, SectionName: in.section.Name,
		Deadline: utc(in.tender.Deadline), BidSetDigest: in.set.Digest, WindowOpened: utc(in.hall.windowOpen()),
		WindowClosed: utc(in.closedAt), PublishedAt: utc(in.at),
		Bids: []RecordBid{}, MinBids: in.tender.MinBids, Outcome: BidOpened,
	}
	withSummary := in.tender.Plan.OpensIn(1, "summary")
	if withSummary {
		rec.Fields = in.tender.SummaryFields
	}
	var outcomes []EnvelopeOutcome
	byBidder := map[kaiping.ID]*RecordBid{}
	var order []kaiping.ID
	for _, e := range in.envelopes {
		if !in.tender.Plan.OpensIn(1, e.Kind) {
			continue
		}
		b := byBidder[e.Bidder]
		if b == nil {
			b = &RecordBid{Bidder: e.Bidder, BidderName: e.BidderName, Status: BidOpened}
			byBidder[e.Bidder] = b
			order = append(order, e.Bidder)
		}
		re := RecordEnvelope{Kind: e.Kind, SHA256: e.SHA256, PlaintextDigest: e.PlaintextDigest, Via: e.Via}
		if outcome, reason := e.Classify(); outcome != "" {
			re.Outcome, re.Reason = outcome, reason
			outcomes = append(outcomes, EnvelopeOutcome{Envelope: e.ID, Outcome: outcome, Reason: reason})
			b.fail(outcome, reason)
		} else if e.Kind == "summary" {
			b.Values = e.Summary
		}
		b.Envelopes = append(b.Envelopes, re)
	}
	slices.SortFunc(order, func(x, y kaiping.ID) int {
		return cmp.Or(cmp.Compare(byBidder[x].BidderName, byBidder[y].BidderName), cmp.Compare(x, y))
	})
	for i, id := range order {
		b := byBidder[id]
		if withSummary && b.Status == BidOpened && b.Values == nil {
			b.fail(OutcomeRevoked, ReasonNoSummary)
		}
		if b.Status != BidOpened {
			b.Values = nil
		} else {
			rec.ValidBids++
		}
		b.No = i + 1
		b.StatusLabel, b.ReasonText = OutcomeLabel(b.Status), ReasonText(b.Reason)
		rec.Bids = append(rec.Bids, *b)
	}
	if rec.ValidBids < in.tender.MinBids {
		rec.Outcome = string(HallFailed)
		rec.Reason = failedReason(rec.ValidBids, in.tender.MinBids)
	}
	return rec, outcomes
}

// fail marks the bid not opened; the bidder's own cause outweighs ours.
func (b *RecordBid) fail(outcome, reason string) {
	if b.Status == OutcomeRevoked || b.Status == outcome {
		return
	}
	b.Status, b.Reason = outcome, reason
}

func failedReason(valid, min int) string {
	return fmt.Sprintf("解密成功的有效投标不足 %d 家（%d 家），依法流标，须重新招标", min, valid)
}

func (h HallStatus) windowOpen() time.Time {
	if h.WindowOpensAt != nil {
		return *h.WindowOpensAt
	}
	return time.Time{}
}

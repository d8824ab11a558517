package opening

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// The published opening record, for everyone (开标记录公示). The record is published to the
// bidders when decryption ends, and the centre publishes it; anyone may read it without an
// account. What it shows is what the law makes public and nothing more: the tender and the
// section, the time of the opening, each bidder's name with the summary fields the tender
// names (price, duration, ...) and its bid's outcome, and the digests and ledger entries
// anyone can check the archived record against. No principal IDs, certificates,
// signatures, addresses or envelope digests; no bidder who registered and did not bid
// (they are not in the record); no objection texts (a bidder's words to the hall, not the
// record); nothing at all before the record is published — the same "not published" as for
// a tender or section that does not exist, so that the answer tells nothing either.

// PublicRecord is a section's published opening record as the public page shows it.
type PublicRecord struct {
	TenderCode  string `json:"tender_code"`
	TenderTitle string `json:"tender_title"`
	Tenderer    string `json:"tenderer"`
	SectionCode string `json:"section_code"`
	SectionName string `json:"section_name"`
	// OpeningAt is the time of the opening: the bid deadline (投标截止时间即开标时间).
	OpeningAt time.Time     `json:"opening_at"`
	Rounds    []PublicRound `json:"rounds"`
}

// PublicRound is one round's published record.
type PublicRound struct {
	Round        int            `json:"round"`
	RoundLabel   string         `json:"round_label,omitempty"`
	WindowOpened time.Time      `json:"window_opened_at"`
	WindowClosed time.Time      `json:"window_closed_at"`
	PublishedAt  time.Time      `json:"published_at"`
	Outcome      string         `json:"outcome"`
	OutcomeLabel string         `json:"outcome_label"`
	Reason       string         `json:"reason,omitempty"`
	Fields       []SummaryField `json:"fields"`
	Bids         []PublicBid    `json:"bids"`
	// Digest is the SHA-256 of the record's canonical bytes, LedgerSeq the ledger entry of
	// its publication; Archived its ledgered archive copies; Final the record at close.
	Digest    string         `json:"digest"`
	LedgerSeq int64          `json:"ledger_seq"`
	Archived  []PublicExport `json:"archived"`
	Final     *PublicFinal   `json:"final,omitempty"`
}

// PublicBid is a bidder's line: name, the opened summary fields, and the outcome.
type PublicBid struct {
	No          int               `json:"no"`
	BidderName  string            `json:"bidder_name"`
	Values      map[string]string `json:"values,omitempty"`
	StatusLabel string            `json:"status_label"`
	ReasonText  string            `json:"reason_text,omitempty"`
}

// PublicExport is an archived copy of a record: which, its SHA-256 and ledger entry.
type PublicExport struct {
	Stage     string `json:"stage"`
	Format    string `json:"format"`
	SHA256    string `json:"sha256"`
	LedgerSeq int64  `json:"ledger_seq"`
}

// PublicFinal says when the round's opening ended and names its final record.
type PublicFinal struct {
	ClosedAt  time.Time `json:"closed_at"`
	Digest    string    `json:"digest"`
	LedgerSeq int64     `json:"ledger_seq"`
}

// PublicRoutes returns the published record's public route:
//
//	GET /api/v1/public/tenders/:id/sections/:section/record   anyone   PublicRecord
//
// The page /record/?tender=…&section=… shows it.
func (x *RecordExporter) PublicRoutes() []httpapi.Route {
	return []httpapi.Route{{Method: fiber.MethodGet, Path: "/api/v1/public/tenders/:id/sections/:section/record",
		Public: true, Handler: x.handlePublic}}
}

func notPublished() error {
	return kaiping.E(kaiping.KindNotFound, "record.not_published", "开标记录尚未公布，或没有这个项目、标段")
}

func (x *RecordExporter) handlePublic(c *fiber.Ctx) error {
	pr, err := x.Public(c.UserContext(), kaiping.ID(c.Params("id")), c.Params("section"))
	if err != nil {
		return err
	}
	return c.JSON(pr)
}

// Public returns a section's published records, every round's, for everyone; before the
// first is published, and for an unknown tender or section, "record.not_published".
func (x *RecordExporter) Public(ctx context.Context, tenderID kaiping.ID, sectionRef string) (PublicRecord, error) {
	if !tenderID.Valid() {
		return PublicRecord{}, notPublished()
	}
	t, err := x.store.Tender(ctx, tenderID)
	if kaiping.IsKind(err, kaiping.KindNotFound) {
		return PublicRecord{}, notPublished()
	}
	if err != nil {
		return PublicRecord{}, err
	}
	sec, err := t.Section(sectionRef)
	if err != nil {
		return PublicRecord{}, notPublished()
	}
	exports, err := x.store.RecordExports(ctx, sec.ID)
	if err != nil {
		return PublicRecord{}, err
	}
	out := PublicRecord{TenderCode: t.Code, TenderTitle: t.Title, Tenderer: t.Tenderer, SectionCode: sec.Code,
		SectionName: sec.Name, OpeningAt: t.Deadline.UTC(), Rounds: []PublicRound{}}
	for round := 1; round <= 2; round++ {
		pr, err := x.store.RecordOf(ctx, sec.ID, round)
		if kaiping.CodeOf(err) == "hall.no_record" {
			break
		}
		if err != nil {
			return PublicRecord{}, err
		}
		r, err := publicRound(pr, t.Plan, exports)
		if err != nil {
			return PublicRecord{}, err
		}
		final, err := x.store.FinalRecordOf(ctx, sec.ID, round)
		switch {
		case err == nil:
			r.Final = &PublicFinal{ClosedAt: final.PublishedAt.UTC(), Digest: final.Digest, LedgerSeq: final.LedgerSeq}
		case kaiping.CodeOf(err) != "hall.no_final_record":
			return PublicRecord{}, err
		}
		out.Rounds = append(out.Rounds, r)
	}
	if len(out.Rounds) == 0 {
		return PublicRecord{}, notPublished()
	}
	return out, nil
}

// publicRound copies what is public of one published record.
func publicRound(pr PublishedRecord, plan EnvelopePlan, exports []RecordExport) (PublicRound, error) {
	rec, err := DecodeRoundRecord(pr.Record)
	if err != nil {
		return PublicRound{}, err
	}
	if pr.Digest != RecordDigest(pr.Record) {
		return PublicRound{}, kaiping.Internal("opening.PublicRecord", errors.New("a stored record does not match its digest"))
	}
	r := PublicRound{Round: rec.Round, RoundLabel: roundLabel(plan, rec.Round), WindowOpened: rec.WindowOpened,
		WindowClosed: rec.WindowClosed, PublishedAt: rec.PublishedAt, Outcome: rec.Outcome, OutcomeLabel: "开标",
		Reason: rec.Reason, Fields: rec.Fields, Bids: []PublicBid{}, Digest: pr.Digest, LedgerSeq: pr.LedgerSeq,
		Archived: []PublicExport{}}
	if r.Fields == nil {
		r.Fields = []SummaryField{}
	}
	if rec.Outcome == string(HallFailed) {
		r.OutcomeLabel = HallFailed.Label()
	}
	for _, b := range rec.Bids {
		r.Bids = append(r.Bids, PublicBid{No: b.No, BidderName: b.BidderName, Values: b.Values,
			StatusLabel: b.StatusLabel, ReasonText: b.ReasonText})
	}
	for _, e := range exports {
		if e.Round == rec.Round {
			r.Archived = append(r.Archived, PublicExport{Stage: e.Stage, Format: e.Format, SHA256: e.SHA256, LedgerSeq: e.LedgerSeq})
		}
	}
	return r, nil
}

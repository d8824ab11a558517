package app

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/opening"
)

// committeeBids lets the evaluation committee read what the opening opened: the two domains
// do not import each other, so the app joins them here.
type committeeBids struct{ bids *opening.OpenedBids }

var _ evaluation.OpenedBids = committeeBids{}

func envelopeOf(b opening.OpenedBid) evaluation.OpenedEnvelope {
	return evaluation.OpenedEnvelope{ID: b.Envelope, Section: b.Section, Bidder: b.Bidder, BidderName: b.BidderName,
		Kind: b.Kind, Size: b.PlaintextSize}
}

// Envelopes implements evaluation.OpenedBids.
func (c committeeBids) Envelopes(ctx context.Context, section kaiping.ID) ([]evaluation.OpenedEnvelope, error) {
	bids, err := c.bids.List(ctx, section)
	if err != nil {
		return nil, err
	}
	out := make([]evaluation.OpenedEnvelope, len(bids))
	for i, b := range bids {
		out[i] = envelopeOf(b)
	}
	return out, nil
}

// Open implements evaluation.OpenedBids.
func (c committeeBids) Open(ctx context.Context, a kaiping.Actor, envelope kaiping.ID) (evaluation.OpenedEnvelope, io.ReadCloser, error) {
	r, err := c.bids.Read(ctx, a, envelope)
	if err != nil {
		return evaluation.OpenedEnvelope{}, nil, err
	}
	e := envelopeOf(r.OpenedBid)
	e.ContentType = r.ContentType
	return e, r, nil
}

// committeeRecords gives the review the bids of a section's published opening record, with
// the prices read out at the opening.
type committeeRecords struct{ store opening.HallStore }

var _ evaluation.SectionRecords = committeeRecords{}

// RecordedBids implements evaluation.SectionRecords: the price is the record's "price" field,
// or its first money field.
func (c committeeRecords) RecordedBids(ctx context.Context, section kaiping.ID) ([]evaluation.RecordedBid, error) {
	pub, err := c.store.Record(ctx, section)
	if kaiping.IsKind(err, kaiping.KindNotFound) {
		return nil, kaiping.E(kaiping.KindConflict, "review.no_record", "该标段的开标记录尚未公布，不能评审")
	}
	if err != nil {
		return nil, err
	}
	var rec opening.OpeningRecord
	if err := json.Unmarshal(pub.Record, &rec); err != nil {
		return nil, kaiping.Internal("app.RecordedBids", err)
	}
	key := ""
	for _, f := range rec.Fields {
		if f.Type == opening.FieldMoney && (key == "" || f.Key == "price") {
			key = f.Key
		}
	}
	out := make([]evaluation.RecordedBid, 0, len(rec.Bids))
	for _, b := range rec.Bids {
		rb := evaluation.RecordedBid{Bidder: b.Bidder, Name: b.BidderName, Opened: b.Status == opening.BidOpened}
		if v, ok := b.Values[key]; ok {
			rb.Price = fen(v)
		}
		if rb.Price <= 0 {
			rb.Opened = false
		}
		out = append(out, rb)
	}
	return out, nil
}

// fen reads a normalized money value ("1234.50") in fen; 0 if it is not one.
func fen(v string) int64 {
	whole, frac, _ := strings.Cut(v, ".")
	y, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt((frac + "00")[:2], 10, 64)
	if err1 != nil || err2 != nil || y > 1e13 {
		return 0
	}
	return y*100 + f
}

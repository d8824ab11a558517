package app

import (
	"context"
	"io"

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

package evaluation

import (
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

func testPublication(starts time.Time) Publication {
	return Publication{ID: kaiping.NewID(), Section: kaiping.NewID(), State: PublicationOpen, Starts: starts,
		Ends: starts.Add(72 * time.Hour), Objections: []Objection{}}
}

// TestPublicationPeriodBoundaries pins each boundary of the rules from both sides: an
// objection at the start is taken and one at the end refused; the answer is due 72 hours after
// filing and overdue from that instant; the publication concludes at its end, not a second
// before; phases follow.
func TestPublicationPeriodBoundaries(t *testing.T) {
	t0 := time.Date(2026, 6, 3, 9, 0, 0, 0, kaiping.BeijingTime)
	file := func(p *Publication, at time.Time) error {
		_, err := p.fileObjection(Objection{ID: kaiping.NewID(), Bidder: kaiping.NewID(), Text: "理由", FiledAt: at})
		return err
	}
	p := testPublication(t0)
	if err := file(&p, t0.Add(-time.Second)); kaiping.CodeOf(err) != "publication.not_started" || kaiping.KindOf(err) != kaiping.KindTooEarly {
		t.Errorf("a second before the start: %v", err)
	}
	if ph := p.Phase(t0.Add(-time.Second)); ph != PhaseScheduled {
		t.Errorf("phase before the start: %s", ph)
	}
	if err := file(&p, p.Ends); kaiping.CodeOf(err) != "publication.period_ended" || kaiping.KindOf(err) != kaiping.KindTooLate {
		t.Errorf("at the end: %v", err)
	}
	if len(p.Objections) != 0 || p.State != PublicationOpen {
		t.Fatalf("refusals changed the publication: %+v", p)
	}
	if err := file(&p, t0); err != nil || p.State != PublicationPaused || p.Phase(t0) != PhasePaused {
		t.Fatalf("at the start: %v, %s", err, p.State)
	}
	o := p.Objections[0]
	if !o.Due.Equal(t0.Add(72*time.Hour)) || o.Overdue(o.Due.Add(-time.Second)) || !o.Overdue(o.Due) {
		t.Errorf("due %v; overdue a second before: %v, at: %v", o.Due, o.Overdue(o.Due.Add(-time.Second)), o.Overdue(o.Due))
	}
	if _, err := p.conclude(kaiping.NewID(), p.Ends.Add(time.Hour)); kaiping.CodeOf(err) != "publication.paused" {
		t.Errorf("conclude while paused: %v", err)
	}
	if _, err := p.answer(kaiping.NewID(), "答复", kaiping.NewID(), t0); kaiping.CodeOf(err) != "publication.objection_not_found" {
		t.Errorf("answer an unknown objection: %v", err)
	}
	if _, err := p.answer(o.ID, "答复", kaiping.NewID(), t0.Add(time.Hour)); err != nil || p.State != PublicationOpen {
		t.Fatalf("answer: %v, %s", err, p.State)
	}
	if _, err := p.conclude(kaiping.NewID(), p.Ends.Add(-time.Second)); kaiping.CodeOf(err) != "publication.period_running" {
		t.Errorf("conclude a second before the end: %v", err)
	}
	if ph := p.Phase(p.Ends); ph != PhaseEnded {
		t.Errorf("phase at the end: %s", ph)
	}
	if _, err := p.conclude(kaiping.NewID(), p.Ends); err != nil || p.Phase(p.Ends) != PhaseConcluded {
		t.Fatalf("conclude at the end: %v", err)
	}
}

// TestPublicationTwoObjections: the publication stays paused until the last objection is
// answered, and a bidder's objections are bounded.
func TestPublicationTwoObjections(t *testing.T) {
	t0 := time.Date(2026, 6, 3, 9, 0, 0, 0, kaiping.BeijingTime)
	p := testPublication(t0)
	a, b := kaiping.NewID(), kaiping.NewID()
	for _, by := range []kaiping.ID{a, b} {
		if _, err := p.fileObjection(Objection{ID: kaiping.NewID(), Bidder: by, Text: "理由", FiledAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if p.Objections[0].No != 1 || p.Objections[1].No != 2 {
		t.Errorf("numbered %d, %d", p.Objections[0].No, p.Objections[1].No)
	}
	if _, err := p.answer(p.Objections[0].ID, "答复", kaiping.NewID(), t0); err != nil || p.State != PublicationPaused {
		t.Fatalf("one of two answered: %v, %s", err, p.State)
	}
	if _, err := p.answer(p.Objections[1].ID, "答复", kaiping.NewID(), t0); err != nil || p.State != PublicationOpen {
		t.Fatalf("both answered: %v, %s", err, p.State)
	}
	for i := 1; i < maxObjectionsPerBidder; i++ {
		if _, err := p.fileObjection(Objection{ID: kaiping.NewID(), Bidder: a, Text: "理由", FiledAt: t0}); err != nil {
			t.Fatalf("objection %d of %s: %v", i+1, a, err)
		}
	}
	_, err := p.fileObjection(Objection{ID: kaiping.NewID(), Bidder: a, Text: "理由", FiledAt: t0})
	if kaiping.CodeOf(err) != "publication.too_many_objections" {
		t.Errorf("objection 11: %v", err)
	}
}

// TestRankedCandidates orders the report's candidates by rank and refuses more than three,
// gaps in the ranks and nameless candidates.
func TestRankedCandidates(t *testing.T) {
	cs, err := rankedCandidates([]Candidate{{Rank: 2, BidderName: "乙"}, {Rank: 1, BidderName: "甲"}})
	if err != nil || cs[0].BidderName != "甲" || cs[1].Rank != 2 {
		t.Fatalf("rankedCandidates: %+v %v", cs, err)
	}
	for name, bad := range map[string][]Candidate{
		"four":      {{Rank: 1, BidderName: "甲"}, {Rank: 2, BidderName: "乙"}, {Rank: 3, BidderName: "丙"}, {Rank: 4, BidderName: "丁"}},
		"a gap":     {{Rank: 1, BidderName: "甲"}, {Rank: 3, BidderName: "丙"}},
		"no name":   {{Rank: 1, BidderName: " "}},
		"rank zero": {{Rank: 0, BidderName: "甲"}},
	} {
		if _, err := rankedCandidates(bad); kaiping.CodeOf(err) != "publication.candidates" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Tied candidates (并列) share a rank.
	if _, err := rankedCandidates([]Candidate{{Rank: 1, BidderName: "甲"}, {Rank: 1, BidderName: "乙"}, {Rank: 3, BidderName: "丙"}}); err != nil {
		t.Errorf("a tie for first: %v", err)
	}
}

package opening

import (
	"fmt"

	"github.com/kaiping/kaiping"
)

// Audience is who may read a hall event. It is decided where the event is written (Change)
// and stored with it; every path that hands events out (GET …/hall/events, the live hall
// and its catch-up on reconnecting) filters by it with EventReader.Sees. It has no zero
// value that means anything: an event whose audience nobody decided is refused when it is
// written (Change.Check), so that a kind of event added later cannot leak by omission.
type Audience string

// The audiences.
const (
	// AudienceAll is everyone who may read the hall: the overseers, every bidder in the
	// sealed set, and registered bidders that are not in it (they never bid, or withdrew).
	AudienceAll Audience = "all"
	// AudienceOverseers is the tender's assigned host and supervisors only.
	AudienceOverseers Audience = "overseers"
	// AudienceBidder is one bidder, named by the event (HallEvent.Bidder), and the overseers.
	AudienceBidder Audience = "bidder"
)

// HallEventAudiences is the audience of every kind of hall event, and why. A bidder never
// sees another bidder's anything: what is about one bidder goes to that bidder and the
// overseers; what every bidder must know by law (招标投标法 Art 36: the bids are opened and
// read out before all the bidders) goes to all.
//
//	hall.transition       all        the hall's state and its times (check-in opened, the decrypt
//	                                 window's opening and end, the confirmation period, closed,
//	                                 流标 with its reason): every bidder acts on them. The closing
//	                                 transition counts the objections raised, without their
//	                                 authors: that objections were raised and answered is part
//	                                 of the opening as recorded, who raised them and what they
//	                                 wrote is not the others' business.
//	hall.publish          all        the opening record (唱标) published, its digest and the
//	                                 classification of each bid not opened, which the record
//	                                 itself shows every bidder.
//	hall.qualify          all        a two-envelope tender's technical stage recorded: who goes on
//	                                 to the second round must be made known to the bidders
//	                                 before the second envelopes are opened (the same results
//	                                 GET …/hall/qualification shows every bidder in the set).
//	hall.checkin          bidder     its check-in, with the address it came from.
//	hall.unlock_failed    bidder     a wrong key it handed in.
//	hall.unlock           bidder     its file key handed in (by itself, or by the rescue plan).
//	hall.verified         bidder     what verifying its envelope found.
//	hall.confirm          bidder     its signed confirmation of the record.
//	hall.objection        bidder     its objection (异议) and its text: 招标投标法实施条例 Art 44 has
//	                                 it raised at the opening, answered on the spot and recorded,
//	                                 which is between the bidder and the host, under supervision;
//	                                 nothing requires the other bidders to read it.
//	hall.objection_answer bidder     the host's answer to its objection (the objecting bidder).
//	hall.rescue_share     bidder     a supervisor's partial decryptions handed in to rescue its bid: that a
//	                                 bidder failed to decrypt is nobody else's to know before
//	                                 the record says how its bid ended.
//	hall.rescue_combine   bidder     its bid's rescue stanzas opened from k partials and its envelopes queued.
//	hall.record_export    overseers  the record's archive copies written (object keys, versions):
//	                                 the platform's own bookkeeping; bidders download the
//	                                 exports through GET …/hall/record/exports, which checks
//	                                 they are in the set.
//	hall.cosign_propose   overseers  the host's proposal of a step the tender guards with a
//	                                 supervisor's co-signature: the supervisors must see it to
//	                                 co-sign; bidders see the step itself once it is taken.
//	hall.cosign           overseers  a supervisor's co-signature of it.
//
// A kind missing here cannot be written (Change.Check): whoever adds one decides its audience
// and writes down why.
var HallEventAudiences = map[string]Audience{
	"hall.transition":       AudienceAll,
	"hall.publish":          AudienceAll,
	"hall.qualify":          AudienceAll,
	"hall.checkin":          AudienceBidder,
	"hall.unlock_failed":    AudienceBidder,
	"hall.unlock":           AudienceBidder,
	"hall.verified":         AudienceBidder,
	"hall.confirm":          AudienceBidder,
	"hall.objection":        AudienceBidder,
	"hall.objection_answer": AudienceBidder,
	"hall.rescue_share":     AudienceBidder,
	"hall.rescue_combine":   AudienceBidder,
	"hall.record_export":    AudienceOverseers,
	"hall.cosign_propose":   AudienceOverseers,
	"hall.cosign":           AudienceOverseers,
}

// Check refuses a change whose audience is not decided, not the one HallEventAudiences
// gives its kind, or does not fit whom it names: a bidder audience names its bidder, the
// others name none (a bidder named on an event for all would read as "this concerns one
// bidder" to clients that know no audience). It is a programming error, so KindInternal:
// the store calls it before writing anything, and the change is refused whole.
func (c Change) Check() error {
	want, known := HallEventAudiences[c.Type]
	switch {
	case !known:
		return kaiping.Internal("opening.Change", fmt.Errorf("hall event kind %q has no audience in HallEventAudiences", c.Type))
	case c.Audience != want:
		return kaiping.Internal("opening.Change", fmt.Errorf("hall event %q written for audience %q, HallEventAudiences says %q", c.Type, c.Audience, want))
	case c.Audience == AudienceBidder && c.Bidder == "":
		return kaiping.Internal("opening.Change", fmt.Errorf("hall event %q for one bidder names none", c.Type))
	case c.Audience != AudienceBidder && c.Bidder != "":
		return kaiping.Internal("opening.Change", fmt.Errorf("hall event %q for %q names bidder %s", c.Type, c.Audience, c.Bidder))
	}
	return nil
}

// EventReader is who reads a hall's events, as far as their audience goes: an overseer (the
// host, the supervisors) or a bidder in the section's sealed set; anyone else who may read
// the hall (a registered bidder with no bid in the set) is the zero EventReader and reads
// only the events for all. Whoever builds one decides who counts as an overseer of the
// section (today by role, see overseer): Sees is a function of the reader and the audience
// alone.
type EventReader struct {
	Overseer bool
	// Bidder is the reading bidder, only when it is in the section's sealed bid set.
	Bidder kaiping.ID
}

// Sees says whether the reader may read an event for audience a naming bidder. An unknown
// audience is nobody's but the overseers'.
func (r EventReader) Sees(a Audience, bidder kaiping.ID) bool {
	switch {
	case r.Overseer:
		return true
	case a == AudienceAll:
		return true
	case a == AudienceBidder:
		return r.Bidder != "" && bidder == r.Bidder
	}
	return false
}

// Filter keeps the events the reader may read, in order. The store already filters by the
// same rule; this is the last check before events leave the process.
func (r EventReader) Filter(evs []HallEvent) []HallEvent {
	out := make([]HallEvent, 0, len(evs))
	for _, e := range evs {
		if r.Sees(e.Audience, e.Bidder) {
			out = append(out, e)
		}
	}
	return out
}

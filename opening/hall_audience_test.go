package opening

import (
	"testing"

	"github.com/kaiping/kaiping"
)

// TestChangeCheck: a change is written only with the audience HallEventAudiences decided for
// its kind, naming its bidder exactly when it is for one bidder; anything else is refused as
// our own error, so a kind of event added without deciding its audience cannot leak.
func TestChangeCheck(t *testing.T) {
	bidder := kaiping.NewID()
	for kind, audience := range HallEventAudiences {
		c := Change{Type: kind, Audience: audience}
		if audience == AudienceBidder {
			c.Bidder = bidder
		}
		if err := c.Check(); err != nil {
			t.Errorf("%s for %s: %v", kind, audience, err)
		}
	}
	refused := []struct {
		name string
		c    Change
	}{
		{"no audience", Change{Type: "hall.objection", Bidder: bidder}},
		{"no audience, for all", Change{Type: "hall.transition"}},
		{"another audience than decided", Change{Type: "hall.objection", Audience: AudienceAll}},
		{"for all instead of the overseers", Change{Type: "hall.record_export", Audience: AudienceAll}},
		{"for one bidder, naming none", Change{Type: "hall.rescue_share", Audience: AudienceBidder}},
		{"for all, naming a bidder", Change{Type: "hall.transition", Audience: AudienceAll, Bidder: bidder}},
		{"for the overseers, naming a bidder", Change{Type: "hall.record_export", Audience: AudienceOverseers, Bidder: bidder}},
		{"a kind nobody decided", Change{Type: "hall.rescue_decryption", Audience: AudienceBidder, Bidder: bidder}},
		{"an audience that does not exist", Change{Type: "hall.transition", Audience: "everyone"}},
	}
	for _, tt := range refused {
		if err := tt.c.Check(); !kaiping.IsKind(err, kaiping.KindInternal) {
			t.Errorf("%s: %v, want an internal error", tt.name, err)
		}
	}
}

// TestEventReaderSees: who reads an event of each audience.
func TestEventReaderSees(t *testing.T) {
	me, other := kaiping.NewID(), kaiping.NewID()
	overseer, bidder, outsider := EventReader{Overseer: true}, EventReader{Bidder: me}, EventReader{}
	tests := []struct {
		name                       string
		audience                   Audience
		about                      kaiping.ID
		overseer, bidder, outsider bool
	}{
		{"for all", AudienceAll, "", true, true, true},
		{"for the overseers", AudienceOverseers, "", true, false, false},
		{"for the bidder itself", AudienceBidder, me, true, true, false},
		{"for another bidder", AudienceBidder, other, true, false, false},
		{"for one bidder, naming none", AudienceBidder, "", true, false, false},
		{"of no audience", "", "", true, false, false},
		{"of an unknown audience", "everyone", "", true, false, false},
	}
	for _, tt := range tests {
		for _, r := range []struct {
			name string
			r    EventReader
			want bool
		}{{"overseer", overseer, tt.overseer}, {"bidder", bidder, tt.bidder}, {"outsider", outsider, tt.outsider}} {
			if got := r.r.Sees(tt.audience, tt.about); got != r.want {
				t.Errorf("%s: %s sees %v, want %v", tt.name, r.name, got, r.want)
			}
		}
	}
	evs := []HallEvent{{Version: 1, Audience: AudienceAll}, {Version: 2, Audience: AudienceBidder, Bidder: other},
		{Version: 3, Audience: AudienceBidder, Bidder: me}, {Version: 4, Audience: AudienceOverseers}}
	if got := bidder.Filter(evs); len(got) != 2 || got[0].Version != 1 || got[1].Version != 3 {
		t.Errorf("the bidder's filter kept %+v, want versions 1 and 3", got)
	}
}

package opening

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi/live"
)

// TestWatcherFilters: which events a watcher of the hall may read, and which batches make
// a bidder's own view be computed again. (What a watcher already has, below its floor, is
// left out by httpapi/live before these are asked.)
func TestWatcherFilters(t *testing.T) {
	me, other := kaiping.NewID(), kaiping.NewID()
	ev := func(version int64, typ string, bidder kaiping.ID) HallEvent {
		return HallEvent{Version: version, Type: typ, Audience: HallEventAudiences[typ], Bidder: bidder}
	}
	bidder := &hallWatcher{principal: kaiping.Principal{ID: me}, reader: EventReader{Bidder: me}}
	outsider := &hallWatcher{principal: kaiping.Principal{ID: kaiping.NewID()}}
	host := &hallWatcher{principal: kaiping.Principal{ID: kaiping.NewID()}, overseer: true, reader: EventReader{Overseer: true}}
	seesTests := []struct {
		name                       string
		e                          HallEvent
		bidder, outsider, overseer bool
	}{
		{"public", ev(11, "hall.transition", ""), true, true, true},
		{"its own", ev(11, "hall.checkin", me), true, false, true},
		{"another bidder's", ev(11, "hall.checkin", other), false, false, true},
		{"another bidder's objection", ev(11, "hall.objection", other), false, false, true},
		{"the answer to another bidder's objection", ev(11, "hall.objection_answer", other), false, false, true},
		{"another bidder's rescue", ev(11, "hall.rescue_combine", other), false, false, true},
		{"the overseers'", ev(11, "hall.record_export", ""), false, false, true},
		{"of no audience", HallEvent{Version: 11, Type: "hall.something_new"}, false, false, true},
	}
	for _, tt := range seesTests {
		for _, w := range []struct {
			name string
			w    *hallWatcher
			want bool
		}{{"bidder", bidder, tt.bidder}, {"outsider", outsider, tt.outsider}, {"overseer", host, tt.overseer}} {
			if got := w.w.Sees(tt.e); got != w.want {
				t.Errorf("%s: %s sees %v, want %v", tt.name, w.name, got, w.want)
			}
		}
	}
	if host.Class() != boardClass || bidder.Class() != "" || outsider.Class() != "" {
		t.Errorf("classes: host %q, bidder %q, outsider %q; want the overseers to share the board, nobody else", host.Class(), bidder.Class(), outsider.Class())
	}
	concernTests := []struct {
		name  string
		batch []HallEvent
		want  live.Concern
	}{
		{"its check-in", []HallEvent{ev(11, "hall.checkin", me)}, live.Changed},
		{"another's check-in", []HallEvent{ev(11, "hall.checkin", other)}, live.Unchanged},
		{"a move of the hall", []HallEvent{ev(11, "hall.transition", "")}, live.Changed},
		{"the record", []HallEvent{ev(11, "hall.publish", "")}, live.Changed},
		{"an answer to its objection", []HallEvent{ev(11, "hall.objection_answer", me)}, live.Changed},
		{"an answer to another's objection", []HallEvent{ev(11, "hall.objection_answer", other)}, live.Unchanged},
		{"another's objection", []HallEvent{ev(11, "hall.objection", other)}, live.Unchanged},
		{"the overseers' bookkeeping", []HallEvent{ev(11, "hall.record_export", "")}, live.Unchanged},
		{"a change for all of a kind added later", []HallEvent{{Version: 11, Type: "hall.something_new", Audience: AudienceAll}}, live.Changed},
	}
	for _, tt := range concernTests {
		if got := bidder.Concerned(tt.batch); got != tt.want {
			t.Errorf("%s: concerned %v, want %v", tt.name, got, tt.want)
		}
	}
	bidder.queued = true
	if got := bidder.Concerned([]HallEvent{ev(11, "hall.verified", other)}); got != live.ChangedSoon {
		t.Errorf("a bidder in the queue, another's verification: %v, want its place only (ChangedSoon)", got)
	}
	if got := bidder.Concerned([]HallEvent{ev(11, "hall.verified", other), ev(12, "hall.verified", me)}); got != live.Changed {
		t.Errorf("a bidder in the queue, its own verification after another's: %v, want Changed", got)
	}
}

// TestHallEventFrame: an event message is what a client decodes as a LiveMessage with the
// event, and what encoding live.Message would give.
func TestHallEventFrame(t *testing.T) {
	e := HallEvent{Section: kaiping.NewID(), Version: 7, Type: "hall.objection", Audience: AudienceBidder, Bidder: kaiping.NewID(),
		Payload: json.RawMessage(`{"text":"报价<有误>&"}`), At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), LedgerSeq: 99}
	got, err := live.EventFrame(e.Version, e)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(e)
	want, _ := json.Marshal(live.Message{Type: LiveEvent, Version: 7, Event: raw})
	if string(got) != string(want) {
		t.Errorf("EventFrame:\n%s\nwant\n%s", got, want)
	}
	var m LiveMessage
	if err := json.Unmarshal(got, &m); err != nil || m.Type != LiveEvent || m.Version != 7 || m.Event == nil {
		t.Fatalf("decoded %+v, %v", m, err)
	}
	// The payload comes back HTML-escaped, as the API writes it: compared by its text.
	var text struct{ Text string }
	if err := json.Unmarshal(m.Event.Payload, &text); err != nil || text.Text != "报价<有误>&" {
		t.Errorf("payload %s, %v", m.Event.Payload, err)
	}
	m.Event.Payload, e.Payload = nil, nil
	if !reflect.DeepEqual(*m.Event, e) {
		t.Errorf("decoded event %+v, want %+v", *m.Event, e)
	}
}

package opening

import (
	"encoding/json"
	"testing"

	"github.com/gofiber/contrib/websocket"

	"github.com/kaiping/kaiping"
)

func TestClientPing(t *testing.T) {
	tests := []struct {
		name string
		typ  int
		data string
		t    string
		ok   bool
	}{
		{"a ping", websocket.TextMessage, `{"type":"ping"}`, "", true},
		{"a ping with the client's time", websocket.TextMessage, `{"type":"ping","t":1767225600123}`, "1767225600123", true},
		{"a ping with a fraction", websocket.TextMessage, ` {"type":"ping","t":12.5} `, "12.5", true},
		{"not JSON", websocket.TextMessage, `ping`, "", false},
		{"binary", websocket.BinaryMessage, `{"type":"ping"}`, "", false},
		{"another type", websocket.TextMessage, `{"type":"pong"}`, "", false},
		{"no type", websocket.TextMessage, `{}`, "", false},
		{"an unknown field", websocket.TextMessage, `{"type":"ping","token":"x"}`, "", false},
		{"t not a number", websocket.TextMessage, `{"type":"ping","t":"now"}`, "", false},
		{"two messages", websocket.TextMessage, `{"type":"ping"}{"type":"ping"}`, "", false},
		{"an array", websocket.TextMessage, `[{"type":"ping"}]`, "", false},
		{"null", websocket.TextMessage, `null`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clientPing(tt.typ, []byte(tt.data))
			if tt.ok != (err == nil) || string(got) != tt.t {
				t.Fatalf("clientPing(%q) = %q, %v; want ok %v, t %q", tt.data, got, err, tt.ok, tt.t)
			}
			if err != nil && kaiping.CodeOf(err) != "hall.live_bad_message" {
				t.Errorf("code %s, want hall.live_bad_message", kaiping.CodeOf(err))
			}
		})
	}
}

// TestWatcherFilters: which events a watcher is handed, and which batches make a bidder's
// own view be computed again.
func TestWatcherFilters(t *testing.T) {
	me, other := kaiping.NewID(), kaiping.NewID()
	ev := func(version int64, typ string, bidder kaiping.ID) batchEvent {
		return batchEvent{HallEvent: HallEvent{Version: version, Type: typ, Audience: HallEventAudiences[typ], Bidder: bidder}}
	}
	bidder := &watcher{principal: kaiping.Principal{ID: me}, floor: 10, reader: EventReader{Bidder: me}}
	outsider := &watcher{principal: kaiping.Principal{ID: kaiping.NewID()}, floor: 10}
	host := &watcher{principal: kaiping.Principal{ID: kaiping.NewID()}, overseer: true, floor: 10, reader: EventReader{Overseer: true}}
	seesTests := []struct {
		name                       string
		e                          batchEvent
		bidder, outsider, overseer bool
	}{
		{"public", ev(11, "hall.transition", ""), true, true, true},
		{"its own", ev(11, "hall.checkin", me), true, false, true},
		{"another bidder's", ev(11, "hall.checkin", other), false, false, true},
		{"another bidder's objection", ev(11, "hall.objection", other), false, false, true},
		{"the answer to another bidder's objection", ev(11, "hall.objection_answer", other), false, false, true},
		{"another bidder's rescue", ev(11, "hall.rescue_combine", other), false, false, true},
		{"the overseers'", ev(11, "hall.record_export", ""), false, false, true},
		{"of no audience", batchEvent{HallEvent: HallEvent{Version: 11, Type: "hall.something_new"}}, false, false, true},
		{"already in its view", ev(10, "hall.transition", ""), false, false, false},
	}
	for _, tt := range seesTests {
		for _, w := range []struct {
			name string
			w    *watcher
			want bool
		}{{"bidder", bidder, tt.bidder}, {"outsider", outsider, tt.outsider}, {"overseer", host, tt.overseer}} {
			if got := w.w.sees(w.w.reader, &tt.e); got != w.want {
				t.Errorf("%s: %s sees %v, want %v", tt.name, w.name, got, w.want)
			}
		}
	}
	concernTests := []struct {
		name  string
		batch []batchEvent
		want  concern
	}{
		{"its check-in", []batchEvent{ev(11, "hall.checkin", me)}, concernOwn},
		{"another's check-in", []batchEvent{ev(11, "hall.checkin", other)}, concernNone},
		{"a move of the hall", []batchEvent{ev(11, "hall.transition", "")}, concernOwn},
		{"the record", []batchEvent{ev(11, "hall.publish", "")}, concernOwn},
		{"an answer to its objection", []batchEvent{ev(11, "hall.objection_answer", me)}, concernOwn},
		{"an answer to another's objection", []batchEvent{ev(11, "hall.objection_answer", other)}, concernNone},
		{"another's objection", []batchEvent{ev(11, "hall.objection", other)}, concernNone},
		{"the overseers' bookkeeping", []batchEvent{ev(11, "hall.record_export", "")}, concernNone},
		{"a change for all of a kind added later", []batchEvent{{HallEvent: HallEvent{Version: 11, Type: "hall.something_new", Audience: AudienceAll}}}, concernOwn},
		{"old news", []batchEvent{ev(9, "hall.checkin", me)}, concernNone},
	}
	for _, tt := range concernTests {
		if got := bidder.concerned(tt.batch); got != tt.want {
			t.Errorf("%s: concerned %v, want %v", tt.name, got, tt.want)
		}
	}
	bidder.queued = true
	if got := bidder.concerned([]batchEvent{ev(11, "hall.verified", other)}); got != concernQueue {
		t.Errorf("a bidder in the queue, another's verification: %v, want its place only (concernQueue)", got)
	}
	if got := bidder.concerned([]batchEvent{ev(11, "hall.verified", other), ev(12, "hall.verified", me)}); got != concernOwn {
		t.Errorf("a bidder in the queue, its own verification after another's: %v, want concernOwn", got)
	}
}

// TestViewFrame: the view message built by hand is what encoding it as a LiveMessage gives.
func TestViewFrame(t *testing.T) {
	v := BoardView{HallView: HallView{HallStatus: HallStatus{Version: 42, State: HallConfirming}, TenderTitle: "某工程<施工>&监理"}}
	got, err := viewFrame(v.Version, v)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(v)
	want, _ := json.Marshal(LiveMessage{Type: LiveView, Version: 42, View: raw})
	if string(got) != string(want) {
		t.Errorf("viewFrame:\n%s\nwant\n%s", got, want)
	}
}

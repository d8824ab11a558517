package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

func TestParseAccepts(t *testing.T) {
	mid := "0"
	tests := []struct {
		in   string
		want Message
	}{
		{`{"type":"join","v":1,"token":"g1.a.b"}`, Join{Type: TypeJoin, V: 1, Token: "g1.a.b"}},
		{`{"type":"join","v":1,"token":"t","offer_first":true}`, Join{Type: TypeJoin, V: 1, Token: "t", OfferFirst: true}},
		{`{"type":"join","v":1,"resume":"r","fresh":true}`, Join{Type: TypeJoin, V: 1, Resume: "r", Fresh: true}},
		{`{"type":"join","v":1,"resume":"r","fresh":true,"offer_first":true}`, Join{Type: TypeJoin, V: 1, Resume: "r", Fresh: true, OfferFirst: true}},
		{`{"type":"offer","sdp":"v=0\r\n"}`, Offer{Type: TypeOffer, SDP: "v=0\r\n"}},
		{`{"type":"answer","sdp":"v=0\r\n"}`, Answer{Type: TypeAnswer, SDP: "v=0\r\n"}},
		{`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}}`,
			Candidate{Type: TypeCandidate, Candidate: &CandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid}}},
		{`{"type":"candidate","candidate":null}`, Candidate{Type: TypeCandidate}},
		{`{"type":"restart_ice"}`, RestartICE{Type: TypeRestartICE}},
		{`{"type":"leave"}`, Leave{Type: TypeLeave}},
		{`{"type":"data","payload":"你好","to":["a-1"]}`, Data{Type: TypeData, Payload: "你好", To: []string{"a-1"}}},
		{`{"type":"error","code":"x","message":"y","fatal":true}`, Error{Type: TypeError, Code: "x", Message: "y", Fatal: true}},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, in, code string
	}{
		{"empty", ``, CodeMessageInvalid},
		{"not JSON", `join`, CodeMessageInvalid},
		{"array", `[]`, CodeMessageInvalid},
		{"null", `null`, CodeMessageInvalid},
		{"no type", `{}`, CodeMessageInvalid},
		{"type not a string", `{"type":1}`, CodeMessageInvalid},
		{"unknown type", `{"type":"dance"}`, CodeMessageUnknown},
		{"unknown field", `{"type":"leave","x":1}`, CodeMessageInvalid},
		{"duplicate object", `{"type":"leave"}{"type":"leave"}`, CodeMessageInvalid},
		{"wrong field type", `{"type":"join","v":"1","token":"x"}`, CodeMessageInvalid},
		{"version 0", `{"type":"join","token":"x"}`, CodeVersionUnsupported},
		{"version 2", `{"type":"join","v":2,"token":"x"}`, CodeVersionUnsupported},
		{"neither token nor resume", `{"type":"join","v":1}`, CodeMessageInvalid},
		{"both token and resume", `{"type":"join","v":1,"token":"a","resume":"b"}`, CodeMessageInvalid},
		{"offer_first on a resume without fresh", `{"type":"join","v":1,"resume":"r","offer_first":true}`, CodeMessageInvalid},
		{"fresh on a new join", `{"type":"join","v":1,"token":"t","fresh":true}`, CodeMessageInvalid},
		{"token too long", `{"type":"join","v":1,"token":"` + strings.Repeat("a", maxTokenBytes+1) + `"}`, CodeMessageInvalid},
		{"sdp not SDP", `{"type":"offer","sdp":"hello"}`, CodeMessageInvalid},
		{"answer empty", `{"type":"answer","sdp":""}`, CodeMessageInvalid},
		{"candidate too long", `{"type":"candidate","candidate":{"candidate":"` + strings.Repeat("a", maxCandidateBytes+1) + `"}}`, CodeMessageInvalid},
		{"data too large", `{"type":"data","payload":"` + strings.Repeat("a", MaxDataBytes+1) + `"}`, CodeMessageTooLarge},
		{"bad recipient", `{"type":"data","payload":"x","to":["a b"]}`, CodeMessageInvalid},
		{"error without code", `{"type":"error","message":"x"}`, CodeMessageInvalid},
		{"whole message too large", `{"type":"leave","pad":"` + strings.Repeat("a", MaxServerMessageBytes) + `"}`, CodeMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if got := kaiping.CodeOf(err); got != tt.code {
				t.Fatalf("Parse error code %s (%v), want %s", got, err, tt.code)
			}
			if kaiping.KindOf(err) != kaiping.KindInvalid {
				t.Errorf("kind %v, want invalid", kaiping.KindOf(err))
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	msgs := []Message{
		Join{V: 1, Token: "t"}, Joined{V: 1, Room: "r", Identity: "i", Resume: "x", ICEServers: []ICEServer{{URLs: []string{"turn:h:1"}}}},
		Offer{SDP: "v=0\r\n", Tracks: map[string]Track{"s0": {ID: "video-1", Participant: "p", Kind: "video"}}},
		Answer{SDP: "v=0\r\n"}, Candidate{}, RestartICE{}, Leave{}, Data{Payload: "p"},
		ParticipantJoined{Participant: Participant{Identity: "p", Name: "n", Tracks: []Track{}}},
		ParticipantLeft{Identity: "p", Reason: "left"}, TrackPublished{Track: Track{ID: "t"}},
		TrackUnpublished{TrackID: "t"}, Muted{Kind: "audio", Muted: true}, Error{Code: "c", Message: "m"},
		Bye{Reason: "left", Message: "m"},
	}
	for _, m := range msgs {
		b, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(%T)) = %v: %s", m, err, b)
		}
		if got.MessageType() != m.MessageType() {
			t.Errorf("%s came back as %s", m.MessageType(), got.MessageType())
		}
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts survives a round
// trip through Marshal.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","v":1,"token":"g1.a.b"}`,
		`{"type":"offer","sdp":"v=0\r\n","tracks":{"s0":{"id":"t","participant":"p","kind":"video","muted":false}}}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMLineIndex":0}}`,
		`{"type":"data","payload":"x","to":["a"]}`,
		`{"type":"joined","v":1,"room":"r","identity":"i","resume":"x","resumed":false,"ice_servers":[],"participants":[],"limits":{"max_message_bytes":65536,"max_data_bytes":16384,"resume_window_ms":60000,"ice_timeout_ms":15000,"ping_interval_ms":15000}}`,
		`{"type":"leave"}`, `{`, `[]`, `{"type":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if kaiping.KindOf(err) != kaiping.KindInvalid {
				t.Fatalf("error of kind %v: %v", kaiping.KindOf(err), err)
			}
			return
		}
		out, err := Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", m, err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if again.MessageType() != m.MessageType() {
			t.Fatalf("type changed from %s to %s", m.MessageType(), again.MessageType())
		}
	})
}

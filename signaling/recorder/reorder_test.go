package recorder

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestReorder(t *testing.T) {
	type in struct {
		seq uint16
		ms  int // arrival, in milliseconds from the start
	}
	seqs := func(from, to uint16) []in {
		var out []in
		for s := from; s != to+1; s++ {
			out = append(out, in{s, 0})
		}
		return out
	}
	tests := []struct {
		name  string
		in    []in
		flush bool
		want  []uint16
		late  uint64
	}{
		{name: "in order", in: seqs(1, 5), want: []uint16{1, 2, 3, 4, 5}},
		{name: "swapped", in: []in{{1, 0}, {3, 1}, {2, 2}, {4, 3}}, want: []uint16{1, 2, 3, 4}},
		{name: "duplicate", in: []in{{1, 0}, {2, 1}, {2, 2}, {3, 3}}, want: []uint16{1, 2, 3}, late: 1},
		{name: "held duplicate", in: []in{{1, 0}, {3, 1}, {3, 2}, {2, 3}}, want: []uint16{1, 2, 3}, late: 1},
		{name: "hole waits for the window", in: []in{{1, 0}, {3, 10}, {4, 50}}, want: []uint16{1}},
		{name: "hole given up after the window", in: []in{{1, 0}, {3, 10}, {4, 150}, {2, 160}},
			want: []uint16{1, 3, 4}, late: 1},
		{name: "wraps around", in: []in{{65534, 0}, {65535, 0}, {0, 0}, {1, 0}}, want: []uint16{65534, 65535, 0, 1}},
		{name: "reordered across the wrap", in: []in{{65535, 0}, {1, 0}, {0, 0}}, want: []uint16{65535, 0, 1}},
		{name: "jump forward", in: []in{{1, 0}, {2, 0}, {5000, 0}, {5001, 0}}, want: []uint16{1, 2, 5000, 5001}},
		{name: "jump back", in: []in{{5000, 0}, {5001, 0}, {7, 0}, {8, 0}}, want: []uint16{5000, 5001, 7, 8}},
		{name: "jump delivers what is held", in: []in{{1, 0}, {3, 0}, {9000, 0}}, want: []uint16{1, 3, 9000}},
		{name: "flush skips holes", in: []in{{1, 0}, {3, 0}, {6, 0}}, flush: true, want: []uint16{1, 3, 6}},
		{name: "too many held", in: append([]in{{1, 0}}, seqs(3, 3+maxHeld)...), want: append([]uint16{1}, func() []uint16 {
			var s []uint16
			for i := uint16(3); i <= 3+maxHeld; i++ {
				s = append(s, i)
			}
			return s
		}()...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reorder{window: 100 * time.Millisecond}
			var got []uint16
			deliver := func(p *rtp.Packet, _ arrival) { got = append(got, p.SequenceNumber) }
			start := time.Now()
			for _, x := range tt.in {
				p := &rtp.Packet{Header: rtp.Header{SequenceNumber: x.seq}, Payload: []byte{byte(x.seq)}}
				r.push(p, arrival{mono: start.Add(time.Duration(x.ms) * time.Millisecond)}, deliver)
				p.Payload[0] = 0xff // the caller reuses its buffer: held packets must be copies
			}
			if tt.flush {
				r.flush(deliver)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delivered %v, want %v", got, tt.want)
			}
			if r.late != tt.late {
				t.Errorf("late = %d, want %d", r.late, tt.late)
			}
		})
	}
}

// TestReorderCopies: a packet held behind a hole is delivered with its own payload, not
// with what the reader wrote into its buffer since.
func TestReorderCopies(t *testing.T) {
	r := reorder{window: time.Second}
	buf := []byte{3}
	var got []byte
	deliver := func(p *rtp.Packet, _ arrival) { got = append(got, p.Payload[0]) }
	now := arrival{mono: time.Now()}
	r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte{1}}, now, deliver)
	r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 3}, Payload: buf}, now, deliver)
	buf[0] = 99
	r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 2}, Payload: []byte{2}}, now, deliver)
	if !slices.Equal(got, []byte{1, 2, 3}) {
		t.Errorf("payloads %v, want [1 2 3]", got)
	}
}

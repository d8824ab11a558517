package devenv

import (
	"encoding/binary"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// NTPServer is an NTP server (RFC 5905, server mode, stratum 2) on a loopback UDP port that
// serves this machine's clock moved by an offset the test sets: the reference time against
// which kaiping's clock check measures, since tests cannot reach the public pool. It answers
// until the test ends.
type NTPServer struct {
	// Addr is host:port.
	Addr   string
	offset atomic.Int64
}

// StartNTPServer starts an NTP server serving the time with offset 0.
func StartNTPServer(tb testing.TB) *NTPServer {
	tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &NTPServer{Addr: conn.LocalAddr().String()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			_, _ = conn.WriteTo(s.answer(buf[:48]), from)
		}
	}()
	tb.Cleanup(func() { conn.Close(); <-done })
	return s
}

// SetOffset makes the server's time this machine's plus d: the machine's clock then appears
// off by -d.
func (s *NTPServer) SetOffset(d time.Duration) { s.offset.Store(int64(d)) }

func (s *NTPServer) answer(req []byte) []byte {
	now := time.Now().Add(time.Duration(s.offset.Load()))
	out := make([]byte, 48)
	out[0] = 0<<6 | 4<<3 | 4                    // no leap warning, version 4, server
	out[1] = 2                                  // stratum
	out[2] = req[2]                             // poll
	out[3] = 0xEC                               // precision 2^-20 s
	binary.BigEndian.PutUint32(out[4:], 1<<10)  // root delay 1/64 s
	binary.BigEndian.PutUint32(out[8:], 1<<10)  // root dispersion 1/64 s
	copy(out[12:16], []byte{127, 0, 0, 1})      // reference ID
	putNTPTime(out[16:], now.Add(-time.Minute)) // reference time: last set a minute ago
	copy(out[24:32], req[40:48])                // origin: the client's transmit time
	putNTPTime(out[32:], now)                   // receive
	putNTPTime(out[40:], now)                   // transmit
	return out
}

// ntpEpoch is 1900-01-01, where NTP time stamps count from.
var ntpEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func putNTPTime(b []byte, t time.Time) {
	d := t.Sub(ntpEpoch) // overflows past 2192; fine for tests
	sec := uint64(d / time.Second)
	frac := uint64(d%time.Second) << 32 / uint64(time.Second)
	binary.BigEndian.PutUint64(b, sec<<32|frac)
}

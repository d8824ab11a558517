package seat

import (
	"encoding/binary"
	"net"
	"sync"
)

// lossMeter is an embedded agent's UDP socket that reads the header of every RTP packet
// arriving (SRTP encrypts only the payload) to count, per stream, the sequence numbers that
// never came, below SRTP and the agent's retransmission requests. It is the embedded
// backend's Meter in Bench.
type lossMeter struct {
	net.PacketConn
	mu      sync.Mutex
	streams map[uint32]*seqSpan
}

// ReadFrom reads a packet for ICE and counts it if it is RTP.
func (m *lossMeter) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := m.PacketConn.ReadFrom(b)
	if err == nil {
		m.observe(b[:n])
	}
	return n, addr, err
}

func (m *lossMeter) observe(b []byte) {
	// STUN and DTLS start with 0–63; RTP and RTCP with version 2. RTCP's packet types
	// (200–206) read as payload types 72–78 once the marker bit is masked (RFC 5761).
	if len(b) < 12 || b[0]>>6 != 2 {
		return
	}
	if pt := b[1] & 0x7f; pt >= 64 && pt <= 95 {
		return
	}
	seq := binary.BigEndian.Uint16(b[2:4])
	ssrc := binary.BigEndian.Uint32(b[8:12])
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.streams[ssrc]
	if !ok {
		s = &seqSpan{}
		m.streams[ssrc] = s
	}
	s.observe(seq)
}

// Counts is the packets missing and the RTP packets seen so far, over every stream.
func (m *lossMeter) Counts() (lost, got uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.streams {
		lost += s.lost()
		got += s.got
	}
	return lost, got
}

package embedded

import (
	"slices"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling/wire"
)

// maxPendingCandidates bounds the client candidates kept until the description they belong
// to is applied.
const maxPendingCandidates = 64

// maxHeldCandidates bounds the server candidates held while a description is being sent.
const maxHeldCandidates = 64

// Trickled candidates travel beside the descriptions, not inside them, and may overtake
// them: a client that restarts ICE gathers the new generation's candidates as soon as it sets
// its offer, and may send them before the offer. Applied at once they would land in the old
// ICE generation, which the restart then discards. So a client candidate naming an ICE
// username fragment (ufrag) that no applied description has introduced yet is kept until
// one does; one naming a ufrag that has been replaced is stale and dropped. A candidate
// without a ufrag is applied to the current description. The server, for its part, sends
// its own candidates only after the description they belong to.

// ufrags are the ICE username fragments of the client's descriptions applied so far.
type ufrags struct {
	current []string        // of the remote description applied last
	seen    map[string]bool // of every remote description applied
}

// applied records the remote description sdpText as applied.
func (u *ufrags) applied(sdpText string) {
	u.current = u.current[:0]
	if u.seen == nil {
		u.seen = map[string]bool{}
	}
	for _, line := range strings.Split(sdpText, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok && !slices.Contains(u.current, v) {
			u.current = append(u.current, v)
			u.seen[v] = true
		}
	}
}

// candidateState is what to do with a client candidate now.
type candidateState int

const (
	candidateApply candidateState = iota
	candidateKeep                 // its description has not been applied yet
	candidateStale                // of an ICE generation since replaced
)

func (u *ufrags) state(c webrtc.ICECandidateInit, haveRemote bool) candidateState {
	uf := candidateUfrag(c)
	switch {
	case !haveRemote:
		return candidateKeep
	case uf == "" || slices.Contains(u.current, uf):
		return candidateApply
	case u.seen[uf]:
		return candidateStale
	}
	return candidateKeep
}

// candidateUfrag is the ufrag a candidate names: its usernameFragment, or the "ufrag"
// extension of its candidate line (browsers write both); "" if neither.
func candidateUfrag(c webrtc.ICECandidateInit) string {
	if c.UsernameFragment != nil && *c.UsernameFragment != "" {
		return *c.UsernameFragment
	}
	f := strings.Fields(c.Candidate)
	// The extensions follow the eight mandatory fields (foundation ... typ type).
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "ufrag" {
			return f[i+1]
		}
	}
	return ""
}

// addCandidate applies a trickled client candidate, or keeps it until the description it
// belongs to is applied.
func (p *participant) addCandidate(c *wire.CandidateInit) {
	if c == nil || c.Candidate == "" {
		return // end of candidates
	}
	init := fromWireCandidate(c)
	p.neg.Lock()
	defer p.neg.Unlock()
	switch p.ufrags.state(init, p.pc.RemoteDescription() != nil) {
	case candidateKeep:
		if len(p.pending) < maxPendingCandidates {
			p.pending = append(p.pending, init)
		} else {
			p.log.Debug("too many early candidates, dropping one")
		}
	case candidateStale:
		p.log.Debug("dropping candidate of a replaced ICE generation")
	case candidateApply:
		if err := p.pc.AddICECandidate(init); err != nil {
			p.log.Debug("refused candidate", "err", err)
		}
	}
}

// flushCandidates applies the kept candidates the current remote description introduced,
// drops stale ones, and keeps those still early (p.neg held).
func (p *participant) flushCandidates() {
	keep := p.pending[:0]
	for _, c := range p.pending {
		switch p.ufrags.state(c, p.pc.RemoteDescription() != nil) {
		case candidateApply:
			if err := p.pc.AddICECandidate(c); err != nil {
				p.log.Debug("refused candidate", "err", err)
			}
		case candidateKeep:
			keep = append(keep, c)
		}
	}
	clear(p.pending[len(keep):])
	p.pending = keep
}

// gate holds the server's candidates while the description they belong to is being set and
// sent (participant.mu guards it).
type gate struct {
	closed bool
	held   []webrtc.ICECandidateInit
}

// closeGate starts holding the server's candidates: a description is about to be set.
func (p *participant) closeGate() {
	p.mu.Lock()
	p.gate.closed = true
	p.mu.Unlock()
}

// openGate sends the candidates held since closeGate, now that the description is out.
func (p *participant) openGate() {
	p.mu.Lock()
	held, sess := p.gate.held, p.sess
	p.gate = gate{}
	p.mu.Unlock()
	for _, c := range held {
		if sess != nil {
			sess.send(wire.Candidate{Candidate: toWireCandidate(c)})
		}
	}
}

// localCandidate sends one of the server's candidates gathered on pc, or holds it while the
// gate is closed.
func (p *participant) localCandidate(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) {
	p.mu.Lock()
	if p.pc != pc {
		p.mu.Unlock()
		return
	}
	if p.gate.closed {
		if len(p.gate.held) < maxHeldCandidates {
			p.gate.held = append(p.gate.held, c)
		}
		p.mu.Unlock()
		return
	}
	sess := p.sess
	p.mu.Unlock()
	if sess != nil {
		sess.send(wire.Candidate{Candidate: toWireCandidate(c)})
	}
}

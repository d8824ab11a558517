package opening

import (
	"slices"
	"testing"

	"github.com/kaiping/kaiping"
)

// TestPublishedRounds: a round's record is readable once its hall is past decryption, the
// first round's for good once the second began; nothing before.
func TestPublishedRounds(t *testing.T) {
	tests := []struct {
		round int
		state HallState
		want  []int
	}{
		{1, HallSealed, nil}, {1, HallCheckingIn, nil}, {1, HallDecrypting, nil},
		{1, HallPublished, []int{1}}, {1, HallConfirming, []int{1}}, {1, HallClosed, []int{1}},
		{2, HallQualified, []int{1}}, {2, HallCheckingIn, []int{1}}, {2, HallDecrypting, []int{1}},
		{2, HallPublished, []int{1, 2}}, {2, HallConfirming, []int{1, 2}}, {2, HallClosed, []int{1, 2}},
	}
	for _, tt := range tests {
		got := publishedRounds(HallStatus{Round: tt.round, State: tt.state})
		if !slices.Equal(got, tt.want) {
			t.Errorf("round %d %s: %v, want %v", tt.round, tt.state, got, tt.want)
		}
	}
}

// TestReadable: in a two-envelope tender whose second round is still decrypting, a passed
// bidder's technical envelope is readable, its decrypted commercial one not yet
// (reading.not_published); a failed bidder's retained commercial envelope and a revoked
// bid's decrypted envelope never are (reading.not_opened); a destroyed key is
// reading.key_destroyed.
func TestReadable(t *testing.T) {
	passed, failed, revoked := kaiping.NewID(), kaiping.NewID(), kaiping.NewID()
	v := sectionView{hall: HallStatus{Round: 2, State: HallDecrypting}, tender: Tender{Plan: TwoEnvelope},
		opened: map[int]map[kaiping.ID]bool{1: {passed: true, failed: true}}}
	env := func(bidder kaiping.ID, kind, state string) HallEnvelope {
		return HallEnvelope{ID: kaiping.NewID(), Bidder: bidder, Kind: kind, State: state, WrappedKey: []byte{1}}
	}
	destroyed := env(passed, "technical", EnvDecrypted)
	destroyed.WrappedKey = nil
	tests := []struct {
		name string
		e    HallEnvelope
		code string
	}{
		{"a passed bidder's technical envelope", env(passed, "technical", EnvDecrypted), ""},
		{"its commercial envelope, decrypted in the running round", env(passed, "commercial", EnvDecrypted), "reading.not_published"},
		{"a failed bidder's retained commercial envelope", env(failed, "commercial", EnvRetained), "reading.not_opened"},
		{"a revoked bid's decrypted technical envelope", env(revoked, "technical", EnvDecrypted), "reading.not_opened"},
		{"a technical envelope found corrupt", env(revoked, "technical", EnvCorrupt), "reading.not_opened"},
		{"a technical envelope whose key was destroyed", destroyed, "reading.key_destroyed"},
	}
	for _, tt := range tests {
		b, err := v.readable(tt.e)
		switch {
		case tt.code == "" && (err != nil || b.Envelope != tt.e.ID || b.Round != 1):
			t.Errorf("%s: %+v, %v; want readable, round 1", tt.name, b, err)
		case tt.code != "" && kaiping.CodeOf(err) != tt.code:
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	v.hall.State, v.opened[2] = HallPublished, map[kaiping.ID]bool{passed: true}
	if b, err := v.readable(env(passed, "commercial", EnvDecrypted)); err != nil || b.Round != 2 {
		t.Errorf("the commercial envelope once the second record is out: %+v, %v", b, err)
	}
}

package rescue

import (
	"bytes"
	"sync"
	"testing"

	"github.com/kaiping/kaiping"
)

func TestCombineNotEnoughShares(t *testing.T) {
	ths := mustHolders(t, 5)
	s := mustSplit(t, 3, ths)
	sh := mustShares(t, s, ths)
	tests := []struct {
		name   string
		shares []Share
		ok     bool
	}{
		{"none", nil, false},
		{"k-1", pick(sh, 0, 1), false},
		{"k-1, one of them twice", pick(sh, 0, 1, 1), false},
		{"one share k times", pick(sh, 3, 3, 3), false},
		{"k-1 distinct among 5", pick(sh, 4, 2, 4, 2, 4), false},
		{"k distinct, one repeated", pick(sh, 0, 0, 1, 2), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := Combine(tt.shares, s.Commitments, s.PublicKey)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				key.Wipe()
				return
			}
			wantCode(t, err, kaiping.KindInvalid, CodeNotEnoughShares)
			if key != nil {
				t.Fatal("a key from too few shares")
			}
		})
	}
}

// TestCombineRefusesBadShares: one bad share among good ones is refused by index, even when
// the good ones alone would be enough.
func TestCombineRefusesBadShares(t *testing.T) {
	ths := mustHolders(t, 5)
	s, other := mustSplit(t, 3, ths), mustSplit(t, 3, ths)
	sh := mustShares(t, s, ths)
	otherSh := mustShares(t, other, ths)

	withBad := func(bad Share, good ...int) []Share { return append(pick(sh, good...), bad) }
	tests := []struct {
		name   string
		shares []Share
		index  int
	}{
		{"value altered", []Share{sh[0], plusOne(t, sh[2]), sh[4]}, 3},
		{"value altered, enough good shares besides", withBad(plusOne(t, sh[1]), 0, 2, 3, 4), 2},
		{"same index, another value", withBad(plusOne(t, sh[0]), 0, 1, 2), 1},
		{"relabelled index", withBad(Share{KeyID: sh[3].KeyID, Index: 5, Value: sh[3].Value}, 0, 1), 5},
		{"another setup's share", withBad(otherSh[3], 0, 1), 4},
		{"another setup's share, relabelled", withBad(Share{KeyID: s.KeyID, Index: 4, Value: otherSh[3].Value}, 0, 1), 4},
		{"value not below the group order", withBad(Share{KeyID: s.KeyID, Index: 2, Value: bytes.Repeat([]byte{0xff}, 32)}, 0, 2), 2},
		{"value too short", withBad(Share{KeyID: s.KeyID, Index: 2, Value: sh[1].Value[:31]}, 0, 2), 2},
		{"index 0", withBad(Share{KeyID: s.KeyID, Index: 0, Value: sh[1].Value}, 0, 2), 0},
		{"index out of range", withBad(Share{KeyID: s.KeyID, Index: MaxHolders + 1, Value: sh[1].Value}, 0, 2), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := Combine(tt.shares, s.Commitments, s.PublicKey)
			wantShareError(t, err, tt.index)
			if key != nil {
				t.Fatal("a key despite a bad share")
			}
		})
	}

	t.Run("commitments of another setup", func(t *testing.T) {
		_, err := Combine(pick(sh, 0, 1, 2), other.Commitments, s.PublicKey)
		wantCode(t, err, kaiping.KindInvalid, CodeSetupInvalid)
	})
}

func TestKeyWipe(t *testing.T) {
	ths := mustHolders(t, 3)
	s := mustSplit(t, 2, ths)
	key := mustCombine(t, pick(mustShares(t, s, ths), 0, 2), s)
	peer := mustPeer(t)

	// ECDH racing Wipe either works or reports the key gone; nothing in between.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := key.ECDH(peer.PublicKey()); err != nil {
				errs <- err
			}
		})
	}
	wg.Go(key.Wipe)
	wg.Wait()
	close(errs)
	for err := range errs {
		wantCode(t, err, kaiping.KindConflict, CodeKeyWiped)
	}

	_, err := key.ECDH(peer.PublicKey())
	wantCode(t, err, kaiping.KindConflict, CodeKeyWiped)
	key.Wipe() // twice is fine
	if !key.PublicKey().Equal(s.PublicKey) {
		t.Fatal("the public key went with the private one")
	}
}

func TestWipeScalar(t *testing.T) {
	ths := mustHolders(t, 2)
	s := mustSplit(t, 2, ths)
	sh := mustShares(t, s, ths)[1]
	_, points, err := parseSetup(s.Commitments, s.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifyShare(sh, s.KeyID, points)
	if err != nil {
		t.Fatal(err)
	}
	wipeShare(c)
	if !c.Value.IsZero() {
		t.Fatal("wipeShare left the value")
	}
}

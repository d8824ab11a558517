package rescue

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudflare/circl/group"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// mustPartials has each holder of shares compute their partial for one envelope's E.
func mustPartials(tb testing.TB, shares []Share, envelope kaiping.ID, eph []byte) []Partial {
	tb.Helper()
	ps := make([]Partial, len(shares))
	for i, s := range shares {
		p, err := PartialDecrypt(rand.Reader, s, envelope, eph)
		if err != nil {
			tb.Fatalf("holder %d: PartialDecrypt: %v", s.Index, err)
		}
		ps[i] = p
	}
	return ps
}

func pickPartials(ps []Partial, idx ...int) []Partial {
	out := make([]Partial, len(idx))
	for i, j := range idx {
		out[i] = ps[j]
	}
	return out
}

// TestPartialsCombine: for every k of n subset of holders, their partials for one stanza's
// E combine to exactly the secret the whole rescue key gives for E (the key rebuilt here by
// the test only), and every k-1 subset is refused.
func TestPartialsCombine(t *testing.T) {
	for _, tt := range []struct{ k, n int }{{2, 2}, {2, 3}, {3, 5}, {4, 4}} {
		t.Run(fmt.Sprintf("%d-of-%d", tt.k, tt.n), func(t *testing.T) {
			ths := mustHolders(t, tt.n)
			s := mustSplit(t, tt.k, ths)
			shares := mustShares(t, s, ths)
			eph := mustPeer(t).PublicKey().Bytes()
			e := kaiping.NewID()
			peer, err := ecdh.P256().NewPublicKey(eph)
			if err != nil {
				t.Fatal(err)
			}
			whole, err := mustCombine(t, shares[:tt.k], s).ECDH(peer)
			if err != nil {
				t.Fatal(err)
			}
			ps := mustPartials(t, shares, e, eph)
			for _, set := range subsets(tt.n, tt.k) {
				key, err := CombinePartials(pickPartials(ps, set...), eph, s.Commitments, s.PublicKey)
				if err != nil {
					t.Fatalf("subset %v: %v", set, err)
				}
				got, err := key.ECDH(peer)
				if err != nil || !bytes.Equal(got, whole) {
					t.Errorf("subset %v: combined %x, %v; the whole key gives %x", set, got, err, whole)
				}
				key.Wipe()
			}
			for _, set := range subsets(tt.n, tt.k-1) {
				_, err := CombinePartials(pickPartials(ps, set...), eph, s.Commitments, s.PublicKey)
				wantCode(t, err, kaiping.KindInvalid, CodeNotEnoughPartials)
				// Even ignoring the threshold, k-1 partials interpolate to another point.
				if got := interpolateX(t, pickPartials(ps, set...)); bytes.Equal(got, whole) {
					t.Errorf("subset %v of k-1 partials gives the secret", set)
				}
			}
			// A repeated partial counts once.
			rep := append(pickPartials(ps, 0), pickPartials(ps, 0)...)
			if tt.k == 2 {
				_, err := CombinePartials(rep, eph, s.Commitments, s.PublicKey)
				wantCode(t, err, kaiping.KindInvalid, CodeNotEnoughPartials)
			}
		})
	}
}

// TestVerifyPartialRefuses: a partial whose proof does not hold for this key, this envelope,
// this E and this index is rescue.partial_invalid, and CombinePartials refuses it too.
func TestVerifyPartialRefuses(t *testing.T) {
	ths := mustHolders(t, 3)
	s := mustSplit(t, 2, ths)
	other := mustSplit(t, 2, ths)
	shares := mustShares(t, s, ths)
	eph, eph2 := mustPeer(t).PublicKey().Bytes(), mustPeer(t).PublicKey().Bytes()
	env, env2 := kaiping.NewID(), kaiping.NewID()
	good := mustPartials(t, shares, env, eph)
	forOther := mustPartials(t, shares, env2, eph2)
	edit := editPartial
	for _, tt := range []struct {
		name string
		p    Partial
		eph  []byte
		c    Commitments
	}{
		{"a flipped proof bit", edit(good[0], func(p *Partial) { p.Proof[5] ^= 1 }), eph, s.Commitments},
		{"a flipped response bit", edit(good[0], func(p *Partial) { p.Proof[60] ^= 1 }), eph, s.Commitments},
		{"a short proof", edit(good[0], func(p *Partial) { p.Proof = p.Proof[:63] }), eph, s.Commitments},
		{"a challenge not below the order", edit(good[0], func(p *Partial) { copy(p.Proof, bytes.Repeat([]byte{0xff}, 32)) }), eph, s.Commitments},
		{"D_i of another holder", edit(good[0], func(p *Partial) { p.Point = good[1].Point }), eph, s.Commitments},
		{"another holder's partial under my index", edit(good[1], func(p *Partial) { p.Index = 1 }), eph, s.Commitments},
		{"a partial relabelled for another envelope", edit(good[0], func(p *Partial) { p.Envelope = env2 }), eph2, s.Commitments},
		{"another envelope's partial against this E", edit(forOther[0], func(p *Partial) { p.Envelope = env }), eph, s.Commitments},
		{"the right label but another E", good[0], eph2, s.Commitments},
		{"a point off the curve", edit(good[0], func(p *Partial) { p.Point[64] ^= 1 }), eph, s.Commitments},
		{"a compressed point", edit(good[0], func(p *Partial) { p.Point = append([]byte{2 + p.Point[64]&1}, p.Point[1:33]...) }), eph, s.Commitments},
		{"index 0", edit(good[0], func(p *Partial) { p.Index = 0 }), eph, s.Commitments},
		{"an index beyond n", edit(good[0], func(p *Partial) { p.Index = 4 }), eph, s.Commitments},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyPartial(tt.p, tt.eph, tt.c, s.PublicKey)
			wantCode(t, err, kaiping.KindInvalid, CodePartialInvalid)
			_, err = CombinePartials([]Partial{tt.p, good[2]}, tt.eph, tt.c, s.PublicKey)
			if kaiping.CodeOf(err) != CodePartialInvalid && kaiping.CodeOf(err) != CodeNotEnoughPartials {
				t.Errorf("CombinePartials: %v", err)
			}
		})
	}
	// Commitments of another split: the public parameters do not match the key.
	wantCode(t, VerifyPartial(good[0], eph, other.Commitments, s.PublicKey), kaiping.KindInvalid, CodeSetupInvalid)
	// The good ones pass.
	for _, p := range good {
		if err := VerifyPartial(p, eph, s.Commitments, s.PublicKey); err != nil {
			t.Errorf("holder %d: %v", p.Index, err)
		}
	}
	// Partials of two envelopes do not mix.
	_, err := CombinePartials([]Partial{good[0], forOther[1]}, eph, s.Commitments, s.PublicKey)
	wantCode(t, err, kaiping.KindInvalid, CodePartialInvalid)
}

// TestStanzaKeyOpensOnlyItsBid: two bids sealed to one tender's rescue key; the partials
// for the first open the first bid's rescue stanza through seal, and neither they nor the
// combined secret open the second's.
func TestStanzaKeyOpensOnlyItsBid(t *testing.T) {
	ths := mustHolders(t, 3)
	s := mustSplit(t, 2, ths)
	shares := mustShares(t, s, ths)
	to, err := seal.NewRescueRecipient(s.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	hdrs := make([]*seal.Header, 2)
	ephs := make([][]byte, 2)
	for i := range hdrs {
		var out bytes.Buffer
		b := seal.Binding{Tender: "T", Section: "S", Bidder: kaiping.ID(fmt.Sprintf("B%d", i)), Kind: seal.Summary}
		if _, err := seal.Seal(&out, strings.NewReader("报价"), b, []seal.Recipient{to}); err != nil {
			t.Fatal(err)
		}
		h, _, err := seal.ParseHeader(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if ephs[i], err = StanzaPoint(h, s.KeyID); err != nil {
			t.Fatal(err)
		}
		hdrs[i] = h
	}
	key, err := CombinePartials(mustPartials(t, pick(shares, 0, 2), "env-0", ephs[0]), ephs[0], s.Commitments, s.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := key.Identity()
	if err != nil {
		t.Fatal(err)
	}
	fk, err := hdrs[0].UnwrapFileKey(id)
	if err != nil || len(fk) != 32 {
		t.Fatalf("the named bid does not open: %v", err)
	}
	if _, err := hdrs[1].UnwrapFileKey(id); err == nil {
		t.Fatal("the combined secret of one bid opens another")
	}
	// Relabelled partials against the other stanza do not verify, and raw interpolation of
	// the stored points gives the first stanza's secret, not the second's.
	_, err = CombinePartials(mustPartials(t, pick(shares, 0, 2), "env-0", ephs[0]), ephs[1], s.Commitments, s.PublicKey)
	wantCode(t, err, kaiping.KindInvalid, CodePartialInvalid)
	key.Wipe()
	if _, err := hdrs[0].UnwrapFileKey(id); err == nil {
		t.Error("a wiped secret still opens the stanza")
	}
}

// interpolateX combines partials ignoring the threshold and the proofs, as someone reading
// stored partials might, and returns the X coordinate of the result.
func interpolateX(tb testing.TB, ps []Partial) []byte {
	tb.Helper()
	xs := make([]int, len(ps))
	ds := make([]group.Element, len(ps))
	for i, p := range ps {
		d, err := parsePoint(p.Point)
		if err != nil {
			tb.Fatal(err)
		}
		xs[i], ds[i] = p.Index, d
	}
	b, err := interpolate(xs, ds).MarshalBinary()
	if err != nil || len(b) != pointSize {
		return nil
	}
	return b[1 : 1+scalarSize]
}

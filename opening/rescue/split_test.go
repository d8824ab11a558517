package rescue

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

func TestSplitRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		k, n int
	}{
		{"2 of 2", 2, 2},
		{"3 of 5, SM2 ECDSA RSA holders", 3, 5},
		{"5 of 5", 5, 5},
		{"2 of 32, the most holders", 2, MaxHolders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ths := mustHolders(t, tt.n)
			s := mustSplit(t, tt.k, ths)

			if s.Threshold() != tt.k || len(s.Shares) != tt.n {
				t.Fatalf("threshold %d, %d shares; want %d, %d", s.Threshold(), len(s.Shares), tt.k, tt.n)
			}
			if id, _ := seal.RescueKeyID(s.PublicKey); s.KeyID != id {
				t.Fatalf("KeyID %s, want seal.RescueKeyID %s", s.KeyID, id)
			}
			for i, es := range s.Shares {
				if es.Holder != ths[i].Principal || es.Index != i+1 || es.KeyID != s.KeyID {
					t.Fatalf("share %d: holder %s index %d key %s", i, es.Holder, es.Index, es.KeyID)
				}
				if es.Certificate() != seal.Fingerprint(ths[i].Certificate.Raw) {
					t.Fatalf("share %d is not encrypted to its holder's certificate", i)
				}
			}

			shares := mustShares(t, s, ths)
			for i, sh := range shares {
				if sh.Index != i+1 || sh.KeyID != s.KeyID || len(sh.Value) != scalarSize {
					t.Fatalf("share %d decrypted as index %d key %s, %d bytes", i, sh.Index, sh.KeyID, len(sh.Value))
				}
			}

			// Every k of the n shares rebuild the private half of the public key. Agreeing with
			// the peer on the ECDH secret proves it, without looking at the scalar.
			peer := mustPeer(t)
			want, err := peer.ECDH(s.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			sets := subsets(tt.n, tt.k)
			if len(sets) > 12 {
				sets = append(sets[:6], sets[len(sets)-6:]...)
			}
			all := make([]int, tt.n)
			for i := range all {
				all[i] = tt.n - 1 - i // every share, in reverse
			}
			sets = append(sets, all)
			for _, set := range sets {
				key := mustCombine(t, pick(shares, set...), s)
				got, err := key.ECDH(peer.PublicKey())
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Fatalf("shares %v rebuilt another key", set)
				}
				if !key.PublicKey().Equal(s.PublicKey) || key.KeyID() != s.KeyID {
					t.Fatalf("shares %v: key says it is %s", set, key.KeyID())
				}
			}
		})
	}
}

// TestSealedBidOpensWithRescueKey is the rescue plan end to end: a bid sealed to its bidder
// and to the tender's rescue key, whose bidder cannot decrypt at the opening, is opened with
// three supervisors' shares.
func TestSealedBidOpensWithRescueKey(t *testing.T) {
	ths := mustHolders(t, 5)
	s := mustSplit(t, 3, ths)
	shares := mustShares(t, s, ths)

	bidder, err := mustCA(t).Issue("ecdsa-p256", "四川某建设工程有限公司", "投标人", t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	toBidder, err := seal.NewCertRecipient(bidder.Cert)
	if err != nil {
		t.Fatal(err)
	}
	toRescue, err := seal.NewRescueRecipient(s.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	const bid = "开标一览表：投标报价 12,345,678.90 元，工期 365 日历天，质量 合格"
	binding := seal.Binding{Tender: kaiping.NewID(), Section: kaiping.NewID(), Bidder: kaiping.NewID(), Kind: seal.Summary}
	var envelope strings.Builder
	if _, err := seal.Seal(&envelope, strings.NewReader(bid), binding, []seal.Recipient{toBidder, toRescue}); err != nil {
		t.Fatal(err)
	}

	h, _, err := seal.ParseHeader(strings.NewReader(envelope.String()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.Stanza(s.KeyID); !ok {
		t.Fatal("the envelope has no stanza for the rescue key")
	}
	key := mustCombine(t, pick(shares, 4, 0, 2), s) // SM2, ECDSA and RSA holders' shares
	id, err := key.Identity()
	if err != nil {
		t.Fatal(err)
	}
	fileKey, err := h.UnwrapFileKey(id)
	if err != nil {
		t.Fatalf("UnwrapFileKey with the rescue key: %v", err)
	}
	r, err := seal.Open(strings.NewReader(envelope.String()), fileKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != bid {
		t.Fatalf("opened %q", got)
	}

	key.Wipe()
	_, err = h.UnwrapFileKey(id)
	wantCode(t, err, kaiping.KindConflict, CodeKeyWiped)
}

func TestSplitValidation(t *testing.T) {
	ths := mustHolders(t, 3)
	hs := holdersOf(ths)
	with := func(i int, h Holder) []Holder {
		out := append([]Holder(nil), hs...)
		out[i] = h
		return out
	}
	tests := []struct {
		name    string
		k, n    int
		holders []Holder
		code    string
	}{
		{"k = 1: one supervisor alone could open every bid", 1, 3, hs, CodeThreshold},
		{"k = 0", 0, 3, hs, CodeThreshold},
		{"k negative", -2, 3, hs, CodeThreshold},
		{"k > n", 4, 3, hs, CodeThreshold},
		{"n > 32", 3, MaxHolders + 1, make([]Holder, MaxHolders+1), CodeHolderCount},
		{"n is not the number of holders", 2, 3, hs[:2], CodeHolderCount},
		{"no holders", 2, 0, nil, CodeHolderCount},
		{"empty principal", 2, 3, with(1, Holder{Certificate: hs[1].Certificate}), CodeHolderInvalid},
		{"malformed principal", 2, 3, with(1, Holder{Principal: "张三", Certificate: hs[1].Certificate}), CodeHolderInvalid},
		{"same principal twice", 2, 3, with(2, Holder{Principal: hs[0].Principal, Certificate: hs[2].Certificate}), CodeDuplicateHolder},
		{"same certificate for two principals", 2, 3, with(2, Holder{Principal: kaiping.NewID(), Certificate: hs[0].Certificate}), CodeDuplicateHolder},
		{"no certificate", 2, 3, with(1, Holder{Principal: hs[1].Principal}), CodeHolderCertificate},
		{"P-384 certificate", 2, 3, with(2, Holder{Principal: hs[2].Principal, Certificate: mustP384Cert(t)}), CodeHolderCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Split(rand.Reader, tt.k, tt.n, tt.holders)
			wantCode(t, err, kaiping.KindInvalid, tt.code)
			if s.PublicKey != nil || s.Shares != nil {
				t.Fatal("a refused split returned a key")
			}
		})
	}
}

func TestSplitRandomFailure(t *testing.T) {
	ths := mustHolders(t, 3)
	tests := []struct {
		name string
		good int64 // bytes the source gives before failing
	}{
		{"at once", 0},
		{"after the private scalar: inside circl", 32},
		{"after the polynomial: while encrypting shares", 32 * 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := io.MultiReader(io.LimitReader(rand.Reader, tt.good), failingReader{})
			s, err := Split(r, 3, 3, holdersOf(ths))
			wantCode(t, err, kaiping.KindInternal, "internal")
			if s.PublicKey != nil {
				t.Fatal("a failed split returned a key")
			}
		})
	}
}

func TestSetupJSON(t *testing.T) {
	ths := mustHolders(t, 3)
	s := mustSplit(t, 2, ths)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"key_id":`, `"public_key":`, `"commitments":{"points":[`, `"shares":[`, `"stanza":"-\u003e `} {
		if !strings.Contains(string(data), field) {
			t.Fatalf("JSON lacks %s: %s", field, data)
		}
	}

	var back Setup
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !back.PublicKey.Equal(s.PublicKey) || back.KeyID != s.KeyID || back.Threshold() != 2 || len(back.Shares) != 3 {
		t.Fatalf("round trip changed the setup: %+v", back)
	}
	// What a holder fetches from the API works as what Split returned.
	shares := mustShares(t, back, ths)
	wire, err := json.Marshal(pick(shares, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	var handedIn []Share
	if err := json.Unmarshal(wire, &handedIn); err != nil {
		t.Fatal(err)
	}
	mustCombine(t, handedIn, back)

	other := mustSplit(t, 2, ths)
	tests := []struct {
		name   string
		mangle func(m map[string]any)
	}{
		{"key ID of another key", func(m map[string]any) { m["key_id"] = other.KeyID }},
		{"public key of another setup", func(m map[string]any) { m["public_key"] = other.PublicKey.Bytes() }},
		{"public key not a point", func(m map[string]any) { m["public_key"] = []byte("not a point") }},
		{"commitments of another setup", func(m map[string]any) { m["commitments"] = other.Commitments }},
		{"no commitments", func(m map[string]any) { m["commitments"] = Commitments{} }},
		{"shares of another setup", func(m map[string]any) { m["shares"] = other.Shares }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			tt.mangle(m)
			bad, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var got Setup
			wantCode(t, json.Unmarshal(bad, &got), kaiping.KindInvalid, CodeSetupInvalid)
		})
	}
}

package app

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/cloudflare/circl/group"

	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
)

// rescueResidue is everything the database holds about rescues, as someone with a dump, a
// backup or pageinspect would read it: the raw heap pages of every rescue table (dead tuples
// included, which is where UPDATE … SET value = NULL left shares), every column of every live
// row, and the ledger's and the hall events' payloads.
func rescueResidue(t *testing.T, w *hallWorld) [][]byte {
	t.Helper()
	ctx := context.Background()
	db := w.ta.DB.Pool
	if _, err := db.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pageinspect`); err != nil {
		t.Fatal(err)
	}
	var tables []string
	rows, err := db.Query(ctx, `SELECT tablename FROM pg_tables WHERE tablename LIKE 'hall_rescue%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if rows.Err() != nil || len(tables) == 0 {
		t.Fatalf("rescue tables %v, %v", tables, rows.Err())
	}
	var out [][]byte
	collect := func(q string, args ...any) {
		t.Helper()
		rows, err := db.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range tables {
		collect(`SELECT get_raw_page($1::text, p) FROM generate_series(0, (pg_relation_size($1::text::regclass) / 8192)::int - 1) p`, table)
		collect(`SELECT convert_to(t::text, 'UTF8') FROM ` + table + ` t`)
	}
	collect(`SELECT detail FROM ledger_entries`)
	collect(`SELECT convert_to(payload::text, 'UTF8') FROM hall_events`)
	return out
}

// harvestPoints is every valid uncompressed P-256 point in the residue: what an attacker
// could try to combine, whatever column or dead tuple it came from.
func harvestPoints(residue [][]byte) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for _, b := range residue {
		for i := 0; i+65 <= len(b); i++ {
			if b[i] != 0x04 || seen[string(b[i:i+65])] {
				continue
			}
			if _, err := ecdh.P256().NewPublicKey(b[i : i+65]); err == nil {
				seen[string(b[i:i+65])] = true
				out = append(out, bytes.Clone(b[i:i+65]))
			}
		}
	}
	return out
}

// combinedSecret is an ECDH secret an attacker computed, tried on any stanza.
type combinedSecret struct {
	pub *ecdh.PublicKey
	x   []byte
}

func (c combinedSecret) ECDH(*ecdh.PublicKey) ([]byte, error) { return bytes.Clone(c.x), nil }
func (c combinedSecret) PublicKey() *ecdh.PublicKey           { return c.pub }

// interpolateAt0 is Σ λ_i·D_i for the points ds at indices xs, ignoring any proof.
func interpolateAt0(xs []int, ds []group.Element) []byte {
	sum := group.P256.Identity()
	for i := range xs {
		num, den := group.P256.NewScalar().SetUint64(1), group.P256.NewScalar().SetUint64(1)
		xi := group.P256.NewScalar().SetUint64(uint64(xs[i]))
		for j := range xs {
			if j != i {
				xj := group.P256.NewScalar().SetUint64(uint64(xs[j]))
				num.Mul(num, xj)
				den.Mul(den, group.P256.NewScalar().Sub(xj, xi))
			}
		}
		sum.Add(sum, group.P256.NewElement().Mul(ds[i], num.Mul(num, den.Inv(den))))
	}
	b, err := sum.MarshalBinary()
	if err != nil || len(b) != 65 {
		return nil
	}
	return b[1:33]
}

// opensWith reports whether any pair of harvested points, under any pair of share indices
// 1..n, combines to a secret that opens the envelope's rescue stanza.
func opensWith(t *testing.T, points [][]byte, n int, pub *ecdh.PublicKey, hdr *seal.Header) bool {
	t.Helper()
	els := make([]group.Element, len(points))
	for i, p := range points {
		els[i] = group.P256.NewElement()
		if err := els[i].UnmarshalBinary(p); err != nil {
			t.Fatal(err)
		}
	}
	for i := range els {
		for j := range els {
			if i == j {
				continue
			}
			for xi := 1; xi <= n; xi++ {
				for xj := xi + 1; xj <= n; xj++ {
					x := interpolateAt0([]int{xi, xj}, []group.Element{els[i], els[j]})
					id, err := seal.NewRescueIdentity(combinedSecret{pub: pub, x: x})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := hdr.UnwrapFileKey(id); err == nil {
						return true
					}
				}
			}
		}
	}
	return false
}

// TestRescueLeavesNothingThatOpensAnotherBid: no residue of a rescue opens another bid. Two bidders lost their
// keys; the supervisors rescue only one. Then everything the database holds about the rescue
// (raw pages of the rescue tables with their dead tuples, every live column, the ledger and
// the events) is read as an attacker would: no share's value is in it, in any encoding, and
// no combination of the points stored opens the other bidder's envelope, though it opened
// the rescued one (so the harvest does read what was stored).
func TestRescueLeavesNothingThatOpensAnotherBid(t *testing.T) {
	var holders []*rescueHolder
	w := mustHallWorld(t, 4, func(w *submissionWorld, tender *opening.Tender) {
		for i, alg := range []devpki.Algorithm{devpki.ECDSA, devpki.SM2, devpki.RSA} {
			h, id := mustSupervisor(t, w, alg, "监督"+string(rune('甲'+i)))
			holders = append(holders, h)
			tender.Rescue.Holders = append(tender.Rescue.Holders, id)
		}
		tender.Rescue.Enabled, tender.Rescue.Threshold = true, 2
	})
	pub, err := ecdh.P256().NewPublicKey(w.tender.Rescue.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rescueTo, err := seal.NewRescueRecipient(pub)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON(strconv.Itoa(4000000+i), 60), certRecipient(t, x.cert), rescueTo)
	}
	shares := make([]rescue.Share, len(holders))
	for i, h := range holders {
		shares[i] = h.mustShare(t, w)
	}
	w.sealNow(t)
	for _, h := range holders {
		h.c = w.ta.mustLogin(t, h.cert)
	}
	w.mustMove(t, opening.HallCheckingIn, 0)
	a, b, lost, other := w.bidders[0], w.bidders[1], w.bidders[2], w.bidders[3]
	for _, x := range []*hallBidder{a, b} {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	lostHdr, otherHdr := w.headers(t, lost)[0], w.headers(t, other)[0]
	w.mustMove(t, opening.HallDecrypting, 0)

	for _, i := range []int{0, 2} {
		req := w.mustPartials(t, holders[i], lost.id, shares[i])
		if _, err := w.submitPartials(holders[i].c, req); err != nil {
			t.Fatalf("holder %d: %v", i, err)
		}
	}
	if v := w.waitVerified(t, lost); v.Envelopes[0].State != opening.EnvDecrypted {
		t.Fatalf("the rescued envelope: %+v", v.Envelopes[0])
	}
	if v := w.view(t, other); v.Envelopes[0].State != opening.EnvSealed {
		t.Fatalf("the bid nobody rescued: %+v", v.Envelopes[0])
	}

	residue := rescueResidue(t, w)
	for _, s := range shares {
		for _, enc := range [][]byte{s.Value, []byte(hex.EncodeToString(s.Value)), []byte(base64.StdEncoding.EncodeToString(s.Value))} {
			for _, r := range residue {
				if bytes.Contains(r, enc) {
					t.Fatalf("share %d is stored (%d bytes of residue contain it)", s.Index, len(r))
				}
			}
		}
	}
	points := harvestPoints(residue)
	parse := func(e opening.EnvelopeHeader) *seal.Header {
		h, _, err := seal.ParseHeader(bytes.NewReader(e.Header))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if opensWith(t, points, len(holders), pub, parse(otherHdr)) {
		t.Fatal("what the database holds about the rescue opens a bid nobody rescued")
	}
	if !opensWith(t, points, len(holders), pub, parse(lostHdr)) {
		t.Error("the harvest does not even open the rescued bid: it misses what was stored")
	}
	for _, s := range shares {
		s.Wipe()
	}
}

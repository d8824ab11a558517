package evaluation

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// jsonDigest is InputsDigest as it was first written: the digest of json.Marshal, which
// `kaiping evaluation verify` and every frozen summary rely on.
func jsonDigest(tb testing.TB, in scoring.Inputs) (string, []byte) {
	b, err := json.Marshal(in)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b
}

// randomText is a string a field may hold: mostly IDs and codes, sometimes what
// encoding/json escapes or replaces (quotes, control characters, HTML, line separators,
// Chinese, invalid UTF-8), sometimes empty.
func randomText(rng *rand.Rand) string {
	pieces := []string{"", "0d5c3b9e-8f1a-4c2b-9d3e-7a6b5c4d3e2f", "i07", "资格证明文件不全", `"`, `\`, "<b>&", "\n\t\x00\x1f",
		"\u2028\u2029", "\xff\xfe", "\x7f", "a b", "🙂", "é"}
	s := ""
	for range rng.IntN(3) {
		s += pieces[rng.IntN(len(pieces))]
	}
	return s
}

func randomInputs(rng *rand.Rand) scoring.Inputs {
	pick := func() bool { return rng.IntN(2) == 0 }
	num := func() int64 { return rng.Int64N(2_000_000_000) - 1_000_000_000 }
	var in scoring.Inputs
	in.Ceiling = num()
	if pick() {
		d := num()
		in.Downward = &d
	}
	if pick() {
		in.Members = []string{}
		for range rng.IntN(4) {
			in.Members = append(in.Members, randomText(rng))
		}
	}
	if pick() {
		in.Bids = []scoring.Bid{}
		for range rng.IntN(4) {
			b := scoring.Bid{Bidder: randomText(rng), Price: num(), Rejected: pick()}
			if pick() {
				b.Reason = randomText(rng)
			}
			if pick() {
				b.Adjustments = map[string]int64{}
				for range rng.IntN(3) {
					b.Adjustments[randomText(rng)] = num()
				}
			}
			if pick() {
				b.Review = []scoring.Verdict{}
				for range rng.IntN(3) {
					b.Review = append(b.Review, scoring.Verdict{Member: randomText(rng), Item: randomText(rng), Pass: pick()})
				}
			}
			in.Bids = append(in.Bids, b)
		}
	}
	if pick() {
		in.Sheets = []scoring.Sheet{}
		for range rng.IntN(4) {
			s := scoring.Sheet{Member: randomText(rng), Bidder: randomText(rng)}
			if pick() {
				s.Scores = map[string]int64{}
				for range rng.IntN(5) {
					s.Scores[randomText(rng)] = num()
				}
			}
			if pick() {
				t := num()
				s.Total = &t
			}
			in.Sheets = append(in.Sheets, s)
		}
	}
	return in
}

// TestInputsDigestIsJSON: the digest is that of encoding/json's bytes, on random inputs
// with every field absent, empty and present, and strings encoding/json escapes.
func TestInputsDigestIsJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		in := randomInputs(rng)
		if i == 0 {
			in = largeInputs()
		}
		want, js := jsonDigest(t, in)
		var got bytes.Buffer
		writeInputs(&got, in)
		if got.String() != string(js) {
			t.Fatalf("input %d:\n got %s\nwant %s", i, got.String(), js)
		}
		if got := InputsDigest(in); got != want {
			t.Fatalf("input %d: digest %s, want %s", i, got, want)
		}
	}
}

// TestInputsDigestKnowsEveryField: a field added to the inputs' types must be added to
// appendInputs too, or the digest would leave it out.
func TestInputsDigestKnowsEveryField(t *testing.T) {
	for _, tc := range []struct {
		typ    any
		fields []string
	}{
		{scoring.Inputs{}, []string{"Ceiling", "Downward", "Members", "Bids", "Sheets"}},
		{scoring.Bid{}, []string{"Bidder", "Price", "Adjustments", "Review", "Rejected", "Reason"}},
		{scoring.Verdict{}, []string{"Member", "Item", "Pass"}},
		{scoring.Sheet{}, []string{"Member", "Bidder", "Scores", "Total"}},
	} {
		typ := reflect.TypeOf(tc.typ)
		var got []string
		for i := range typ.NumField() {
			got = append(got, typ.Field(i).Name)
		}
		if !reflect.DeepEqual(got, tc.fields) {
			t.Errorf("%s has fields %q; appendInputs writes %q: update it (and this list)", typ, got, tc.fields)
		}
	}
}

// largeInputs is one large section's inputs: 120 bids, 5 members, 12 items, some 150 KB
// of JSON (written in several chunks).
func largeInputs() scoring.Inputs {
	in := scoring.Inputs{Ceiling: 100_000_000}
	for m := range 5 {
		in.Members = append(in.Members, "member-"+string(rune('a'+m)))
	}
	for k := range 120 {
		bidder := hex.EncodeToString([]byte{byte(k), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		bid := scoring.Bid{Bidder: bidder, Price: int64(90_000_000 + k), Review: []scoring.Verdict{}}
		for _, m := range in.Members {
			bid.Review = append(bid.Review, scoring.Verdict{Member: m, Item: "r1", Pass: true})
			s := scoring.Sheet{Member: m, Bidder: bidder, Scores: map[string]int64{}}
			for i := range 12 {
				s.Scores["i"+string(rune('a'+i))] = int64(100 * i)
			}
			in.Sheets = append(in.Sheets, s)
		}
		in.Bids = append(in.Bids, bid)
	}
	return in
}

// BenchmarkInputsDigest digests largeInputs by encoding/json and directly.
func BenchmarkInputsDigest(b *testing.B) {
	in := largeInputs()
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			jsonDigest(b, in)
		}
	})
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			InputsDigest(in)
		}
	})
}

// inputsBySortedMarks is how inputs first grouped the marks: all of them sorted by member,
// bidder and item, then taken in that order. inputs now groups first and sorts the groups;
// the two must give the same inputs, and so the same digest as summaries frozen before.
func inputsBySortedMarks(c *reviewCase, marks []MemberMark) scoring.Inputs {
	in := scoring.Inputs{Ceiling: c.rev.Ceiling, Downward: c.rev.Downward, Members: c.members()}
	sitting := map[kaiping.ID]bool{}
	for _, m := range in.Members {
		sitting[kaiping.ID(m)] = true
	}
	verdicts := map[kaiping.ID][]scoring.Verdict{}
	sheets := map[[2]kaiping.ID]*scoring.Sheet{}
	var order [][2]kaiping.ID
	marks = slices.Clone(marks)
	slices.SortFunc(marks, func(a, b MemberMark) int {
		return cmp.Or(cmp.Compare(a.Member, b.Member), cmp.Compare(a.Bidder, b.Bidder), cmp.Compare(a.Item, b.Item))
	})
	for _, mk := range marks {
		if !sitting[mk.Member] || mk.Item == "" {
			continue
		}
		if c.isReviewItem(mk.Item) {
			verdicts[mk.Bidder] = append(verdicts[mk.Bidder], scoring.Verdict{Member: string(mk.Member), Item: mk.Item, Pass: mk.Value == 1})
			continue
		}
		k := [2]kaiping.ID{mk.Member, mk.Bidder}
		s := sheets[k]
		if s == nil {
			s = &scoring.Sheet{Member: string(mk.Member), Bidder: string(mk.Bidder), Scores: map[string]int64{}}
			sheets[k] = s
			order = append(order, k)
		}
		s.Scores[mk.Item] = mk.Value
	}
	for _, b := range c.bids {
		if !b.Opened {
			continue
		}
		bid := scoring.Bid{Bidder: string(b.Bidder), Price: b.Price, Review: verdicts[b.Bidder]}
		if bid.Review == nil {
			bid.Review = []scoring.Verdict{}
		}
		in.Bids = append(in.Bids, bid)
	}
	for _, k := range order {
		in.Sheets = append(in.Sheets, *sheets[k])
	}
	return in
}

// TestInputsIndependentOfOrder: the inputs built from marks in any order are those of the
// marks sorted first, digest included, with a replaced member's marks and marks of no item
// left out, and bids without verdicts, not opened, or without sheets.
func TestInputsIndependentOfOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	method := scoring.Method{Review: []scoring.ReviewItem{{Code: "form"}, {Code: "licence"}, {Code: "z0"}}}
	for round := range 200 {
		sess := &Session{}
		for k := range 2 + rng.IntN(5) {
			m := SessionMember{ID: kaiping.NewID(), Group: "G1", Name: fmt.Sprintf("评委%d", k)}
			sess.Members = append(sess.Members, m)
		}
		sess.Members[0].Group = "G2" // another group's member: not sitting in this one
		c := &reviewCase{sess: sess, rev: &Review{Group: "G1", Ceiling: 1000}, method: method}
		for range rng.IntN(30) {
			c.bids = append(c.bids, RecordedBid{Bidder: kaiping.NewID(), Opened: rng.IntN(10) > 0, Price: rng.Int64N(1000)})
		}
		items := []string{"form", "licence", "z0", "a1", "b2", "c3", "t10", ""}
		var marks []MemberMark
		for _, m := range sess.Members {
			for _, b := range c.bids {
				for _, it := range items {
					if rng.IntN(5) > 0 {
						marks = append(marks, MemberMark{Member: m.ID, Mark: Mark{Bidder: b.Bidder, Item: it, Value: rng.Int64N(3)}})
					}
				}
			}
		}
		want := inputsBySortedMarks(c, marks)
		rng.Shuffle(len(marks), func(i, j int) { marks[i], marks[j] = marks[j], marks[i] })
		got := c.inputs(marks, true)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: inputs\n%+v\nwant\n%+v", round, got, want)
		}
		if InputsDigest(got) != InputsDigest(want) {
			t.Fatalf("round %d: digests differ", round)
		}
		if v := c.inputs(marks, false); v.Sheets != nil || !reflect.DeepEqual(v.Bids, want.Bids) {
			t.Fatalf("round %d: without sheets %+v", round, v)
		}
	}
}

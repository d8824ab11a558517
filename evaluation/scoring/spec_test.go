package scoring

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"testing"
)

// example is a worked example of SCORING.md §9, with its shorthand.
type example struct {
	Method  Method                        `json:"method"`
	Inputs  Inputs                        `json:"inputs"`
	AllPass bool                          `json:"all_pass"`
	Scores  map[string][]int64            `json:"scores"`
	ByBid   map[string]map[string][]int64 `json:"bid_scores"`
	Expect  json.RawMessage               `json:"expect"`
}

// TestWorkedExamples runs every JSON example of SCORING.md §9 and checks that each field
// its "expect" gives is what Compute gives: the document's figures are the code's.
func TestWorkedExamples(t *testing.T) {
	doc, err := os.ReadFile("../SCORING.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(\\{[^`]*\"expect\"[^`]*)```").FindAllSubmatch(doc, -1)
	if len(blocks) != 3 {
		t.Fatalf("%d worked examples in SCORING.md, want 3", len(blocks))
	}
	for i, b := range blocks {
		var ex example
		if err := json.Unmarshal(b[1], &ex); err != nil {
			t.Fatalf("example %d: %v", i+1, err)
		}
		in := ex.Inputs
		for bi := range in.Bids {
			bid := &in.Bids[bi]
			if ex.AllPass {
				*bid = testBid(bid.Bidder, bid.Price, in.Members)
			}
			scores := ex.Scores
			if s, ok := ex.ByBid[bid.Bidder]; ok {
				scores = s
			}
			for mi, m := range in.Members {
				sh := Sheet{Member: m, Bidder: bid.Bidder, Scores: map[string]int64{}}
				for item, vals := range scores {
					sh.Scores[item] = vals[mi]
				}
				in.Sheets = append(in.Sheets, sh)
			}
		}
		res := mustCompute(t, ex.Method, in)
		raw, _ := json.Marshal(res)
		var got, want any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ex.Expect, &want); err != nil {
			t.Fatal(err)
		}
		if path, ok := contains(got, want, "result"); !ok {
			t.Errorf("example %d: %s differs\n got %s", i+1, path, raw)
		}
	}
}

// contains reports whether got holds every field of want: objects key by key, arrays of
// the same length element by element, scalars equal. On a difference it names the path.
func contains(got, want any, path string) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, v := range w {
			if p, ok := contains(g[k], v, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path, false
		}
		for i := range w {
			if p, ok := contains(g[i], w[i], path+"["+string(rune('0'+i))+"]"); !ok {
				return p, false
			}
		}
		return "", true
	}
	return path, reflect.DeepEqual(got, want)
}

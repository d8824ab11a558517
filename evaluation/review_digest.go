package evaluation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strconv"

	"github.com/kaiping/kaiping/evaluation/scoring"
)

// InputsDigest is the hex SHA-256 of the inputs' JSON encoding (encoding/json's, byte for
// byte): what the summary freezes and `kaiping evaluation verify` recomputes from the ledger.
func InputsDigest(in scoring.Inputs) string {
	h := sha256.New()
	writeInputs(h, in)
	return hex.EncodeToString(h.Sum(nil))
}

// writeInputs writes json.Marshal(in) to w (a hash, which never fails) through a buffer of
// its own, so that the encoding of a large section is never held whole.
func writeInputs(w io.Writer, in scoring.Inputs) {
	const chunk = 32 << 10
	buf := make([]byte, 0, chunk+4<<10)
	flush := func(b []byte) []byte {
		if len(b) >= chunk {
			_, _ = w.Write(b)
			b = b[:0]
		}
		return b
	}
	buf = appendInputs(buf, in, flush)
	_, _ = w.Write(buf)
}

// appendInputs appends json.Marshal(in) to b. A section's inputs hold tens of thousands of
// scores, and encoding/json spends most of its time on reflection and on sorting every
// sheet's map keys through interfaces; this writes the same bytes directly.
// TestInputsDigestIsJSON compares the two on random inputs, and fails when a field is added
// to one of the types without being added here.
// flush is called after every bid and sheet and may hand the bytes on, returning b[:0].
func appendInputs(b []byte, in scoring.Inputs, flush func([]byte) []byte) []byte {
	b = append(b, `{"ceiling":`...)
	b = strconv.AppendInt(b, in.Ceiling, 10)
	if in.Downward != nil {
		b = append(b, `,"downward":`...)
		b = strconv.AppendInt(b, *in.Downward, 10)
	}
	b = append(b, `,"members":`...)
	if in.Members == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range in.Members {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m)
		}
		b = append(b, ']')
	}
	b = append(b, `,"bids":`...)
	if in.Bids == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, bid := range in.Bids {
			if i > 0 {
				b = append(b, ',')
			}
			b = flush(appendBid(b, bid))
		}
		b = append(b, ']')
	}
	if len(in.Sheets) > 0 {
		b = append(b, `,"sheets":[`...)
		var keys []string
		for i, s := range in.Sheets {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"member":`...)
			b = appendJSONString(b, s.Member)
			b = append(b, `,"bidder":`...)
			b = appendJSONString(b, s.Bidder)
			b = append(b, `,"scores":`...)
			b, keys = appendScores(b, s.Scores, keys)
			if s.Total != nil {
				b = append(b, `,"total":`...)
				b = strconv.AppendInt(b, *s.Total, 10)
			}
			b = flush(append(b, '}'))
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendBid appends json.Marshal(bid) to b.
func appendBid(b []byte, bid scoring.Bid) []byte {
	b = append(b, `{"bidder":`...)
	b = appendJSONString(b, bid.Bidder)
	b = append(b, `,"price":`...)
	b = strconv.AppendInt(b, bid.Price, 10)
	if len(bid.Adjustments) > 0 {
		b = append(b, `,"adjustments":`...)
		b, _ = appendScores(b, bid.Adjustments, nil)
	}
	b = append(b, `,"review":`...)
	if bid.Review == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, v := range bid.Review {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"member":`...)
			b = appendJSONString(b, v.Member)
			b = append(b, `,"item":`...)
			b = appendJSONString(b, v.Item)
			b = append(b, `,"pass":`...)
			b = strconv.AppendBool(b, v.Pass)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if bid.Rejected {
		b = append(b, `,"rejected":true`...)
	}
	if bid.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, bid.Reason)
	}
	return append(b, '}')
}

// appendScores appends json.Marshal(m) to b: null for a nil map, the keys in byte order.
// keys is scratch space, returned for the next call.
func appendScores(b []byte, m map[string]int64, keys []string) ([]byte, []string) {
	if m == nil {
		return append(b, "null"...), keys
	}
	keys = keys[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, m[k], 10)
	}
	return append(b, '}'), keys
}

// appendJSONString appends json.Marshal(s) to b. IDs and item codes are plain ASCII and are
// copied; anything encoding/json would escape (quotes, backslashes, control characters, <,
// > and &, anything not ASCII) is left to encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

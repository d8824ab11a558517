package draw

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Entry is one eligible expert as the pick sees them: nothing but what the rules need.
type Entry struct {
	Expert      string   `json:"expert"`      // kaiping.ID, canonical UUID text
	City        string   `json:"city"`        // home city, 行政区划代码
	Specialties []string `json:"specialties"` // sorted, distinct
}

// Snapshot is the eligible pool of one draw (抽取时的专家库快照), in canonical order: sorted
// by Expert, byte-wise.
type Snapshot struct {
	Entries []Entry
}

// snapshotHeader starts every encoded snapshot.
const snapshotHeader = "kaiping-draw-snapshot/v1\n"

// NewSnapshot returns the snapshot of entries in canonical form: entries sorted by expert,
// each entry's specialties sorted and deduplicated. entries is not modified.
func NewSnapshot(entries []Entry) Snapshot {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		specs := slices.Clone(e.Specialties)
		slices.Sort(specs)
		out[i] = Entry{Expert: e.Expert, City: e.City, Specialties: slices.Compact(specs)}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Expert, b.Expert) })
	return Snapshot{Entries: out}
}

// Encode returns the canonical bytes of the snapshot, the bytes its digest covers:
//
//	kaiping-draw-snapshot/v1\n
//	<expert>\t<city>\t<specialty>,<specialty>...\n    one line per entry, in order
func (s Snapshot) Encode() []byte {
	var b bytes.Buffer
	b.Grow(len(snapshotHeader) + len(s.Entries)*64)
	b.WriteString(snapshotHeader)
	for _, e := range s.Entries {
		b.WriteString(e.Expert)
		b.WriteByte('\t')
		b.WriteString(e.City)
		b.WriteByte('\t')
		for i, sp := range e.Specialties {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(sp)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Digest is "sha256:" and the lowercase hex SHA-256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// DecodeSnapshot parses canonical snapshot bytes. Anything that would not encode back to
// exactly b (unsorted, duplicated, malformed) is KindInvalid "draw.snapshot_format": a
// snapshot has exactly one spelling, so its digest identifies it.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	bad := func(line int, why string) (Snapshot, error) {
		return Snapshot{}, invalid("draw.snapshot_format", "专家库快照格式错误（第 %d 行）：%s", line, why)
	}
	rest, ok := bytes.CutPrefix(b, []byte(snapshotHeader))
	if !ok {
		return bad(1, "缺少版本行 kaiping-draw-snapshot/v1")
	}
	var s Snapshot
	line := 1
	for len(rest) > 0 {
		line++
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return bad(line, "缺少换行")
		}
		fields := strings.Split(string(rest[:i]), "\t")
		rest = rest[i+1:]
		if len(fields) != 3 || fields[0] == "" || fields[1] == "" || fields[2] == "" {
			return bad(line, "每行须为 专家ID<TAB>城市<TAB>专业代码")
		}
		specs := strings.Split(fields[2], ",")
		if !slices.IsSorted(specs) || len(slices.Compact(slices.Clone(specs))) != len(specs) || slices.Contains(specs, "") {
			return bad(line, "专业代码须升序且不重复")
		}
		if n := len(s.Entries); n > 0 && s.Entries[n-1].Expert >= fields[0] {
			return bad(line, "专家须按 ID 升序且不重复")
		}
		s.Entries = append(s.Entries, Entry{Expert: fields[0], City: fields[1], Specialties: specs})
	}
	return s, nil
}

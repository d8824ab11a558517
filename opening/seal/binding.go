package seal

import (
	"fmt"
	"strings"

	"github.com/kaiping/kaiping"
)

// EnvelopeKind is which part of a bid an envelope holds (DESIGN.md, "Sealing").
type EnvelopeKind string

// The envelope kinds.
const (
	// Summary is the 开标一览表: price, duration, quality and the other fields the tender
	// names, read out at the opening (唱标).
	Summary EnvelopeKind = "summary"
	// Technical is the technical bid (技术标); in two-envelope tenders (双信封) it opens first.
	Technical EnvelopeKind = "technical"
	// Commercial is the commercial bid (商务标); in two-envelope tenders it opens later, and
	// only for bidders whose technical bid passed.
	Commercial EnvelopeKind = "commercial"
)

// Valid reports whether k is one of the envelope kinds.
func (k EnvelopeKind) Valid() bool { return k == Summary || k == Technical || k == Commercial }

// Label is the Simplified Chinese name users know the envelope by.
func (k EnvelopeKind) Label() string {
	switch k {
	case Summary:
		return "开标一览表"
	case Technical:
		return "技术标"
	case Commercial:
		return "商务标"
	}
	return string(k)
}

// Binding ties an envelope to its context: which tender and section (标段) it was sealed
// for, by which bidder, and which part of the bid it holds. It is written in the header and
// covered by the header MAC, so the server can refuse an envelope meant for another tender,
// bidder or kind before accepting it, and nobody can relabel it afterwards.
type Binding struct {
	Tender  kaiping.ID   // 招标项目
	Section kaiping.ID   // 标段 (a tender without sections uses its one section's ID)
	Bidder  kaiping.ID   // the bidder principal (投标人)
	Kind    EnvelopeKind // summary, technical or commercial
}

// maxIDLen bounds the identifiers in a header; kaiping IDs (UUIDs) take 36.
const maxIDLen = 64

// validID reports whether s fits the header grammar for identifiers: 1 to 64 bytes of
// A-Z a-z 0-9 '.' '_' '-'. kaiping.ID values (UUIDs) always do; the grammar is wider so the
// format does not depend on how IDs are minted.
func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks that every field is present and fits the header grammar.
func (b Binding) Validate() error {
	var bad []string
	if !validID(string(b.Tender)) {
		bad = append(bad, "招标项目编号")
	}
	if !validID(string(b.Section)) {
		bad = append(bad, "标段编号")
	}
	if !validID(string(b.Bidder)) {
		bad = append(bad, "投标人编号")
	}
	if !b.Kind.Valid() {
		bad = append(bad, "信封类型")
	}
	if len(bad) > 0 {
		return errBindingInvalid(strings.Join(bad, "、"))
	}
	return nil
}

// Check reports, as seal.binding_mismatch, every field in which the header's binding differs
// from want: the server calls it on upload with the tender, section, authenticated bidder
// and expected kind. The header MAC is what makes the answer trustworthy, and it can only be
// checked with the file key, at the opening; before that, Check catches honest mistakes
// (the wrong file uploaded) and any later relabelling is caught by the MAC.
func (h *Header) Check(want Binding) error {
	got := h.Binding
	var diffs []string
	if got.Tender != want.Tender {
		diffs = append(diffs, fmt.Sprintf("招标项目（文件为 %s，应为 %s）", got.Tender, want.Tender))
	}
	if got.Section != want.Section {
		diffs = append(diffs, fmt.Sprintf("标段（文件为 %s，应为 %s）", got.Section, want.Section))
	}
	if got.Bidder != want.Bidder {
		diffs = append(diffs, fmt.Sprintf("投标人（文件为 %s，应为 %s）", got.Bidder, want.Bidder))
	}
	if got.Kind != want.Kind {
		diffs = append(diffs, fmt.Sprintf("信封类型（文件为 %s，应为 %s）", got.Kind.Label(), want.Kind.Label()))
	}
	if len(diffs) > 0 {
		return kaiping.Errorf(kaiping.KindInvalid, CodeBindingMismatch,
			"密封文件不属于本次投标：%s", strings.Join(diffs, "；"))
	}
	return nil
}

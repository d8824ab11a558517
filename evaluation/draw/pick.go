package draw

import (
	"fmt"
	"strings"

	"github.com/kaiping/kaiping"
)

// Member is one drawn expert: which quota they fill and at which position of the draw's
// sequence they were found.
type Member struct {
	Expert   string `json:"expert"`
	Quota    int    `json:"quota"` // index into Rules.Quotas
	Position int    `json:"position"`
	Outside  bool   `json:"outside"` // home city is not the host city
}

// Drawer holds one draw's sequence: the snapshot permuted by a Fisher–Yates shuffle whose
// swaps come from the seed, generated lazily as far as the draw has looked. Replay a draw by
// calling Initial and then Replace for each replacement in the order they happened.
type Drawer struct {
	rules   Rules
	entries []Entry
	perm    []int // perm[:done] is final; the rest is still to be shuffled
	done    int
	rand    *stream

	active []Member // current members; a replaced member is removed
	used   map[string]bool
	open   []int // vacant seats per quota
}

// New prepares the draw of rules over snapshot with seed. The seed must be SeedSize bytes.
func New(seed []byte, snapshot Snapshot, rules Rules) (*Drawer, error) {
	if len(seed) != SeedSize {
		return nil, invalid("draw.seed_size", "抽取种子须为 %d 字节", SeedSize)
	}
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	perm := make([]int, len(snapshot.Entries))
	for i := range perm {
		perm[i] = i
	}
	open := make([]int, len(rules.Quotas))
	for i, q := range rules.Quotas {
		open[i] = q.Count
	}
	return &Drawer{rules: rules, entries: snapshot.Entries, perm: perm, rand: newStream(seed),
		used: map[string]bool{}, open: open}, nil
}

// at returns the snapshot entry at position p of the sequence, shuffling as far as needed:
// the forward Fisher–Yates step for position i swaps perm[i] with perm[i+uniform(n-i)].
func (d *Drawer) at(p int) Entry {
	n := len(d.perm)
	for d.done <= p {
		i := d.done
		if i < n-1 {
			j := i + int(d.rand.uniform(uint64(n-i)))
			d.perm[i], d.perm[j] = d.perm[j], d.perm[i]
		}
		d.done++
	}
	return d.entries[d.perm[p]]
}

func (d *Drawer) outsideNeeded() int {
	have := 0
	for _, m := range d.active {
		if m.Outside {
			have++
		}
	}
	return max(0, d.rules.MinOutside-have)
}

func (d *Drawer) vacancies() int {
	n := 0
	for _, o := range d.open {
		n += o
	}
	return n
}

// consider offers the entry at position p and takes it if it fills an open seat without
// making the outside-city minimum impossible: a local expert is taken only while more seats
// stay open than outside experts are still needed.
func (d *Drawer) consider(p int) (Member, bool) {
	e := d.at(p)
	if d.used[e.Expert] {
		return Member{}, false
	}
	outside := e.City != d.rules.HostCity
	if !outside && d.vacancies()-1 < d.outsideNeeded() {
		return Member{}, false
	}
	qi := d.rules.quotaOf(e.Specialties, d.open)
	if qi < 0 {
		return Member{}, false
	}
	m := Member{Expert: e.Expert, Quota: qi, Position: p, Outside: outside}
	d.open[qi]--
	d.used[e.Expert] = true
	d.active = append(d.active, m)
	return m, true
}

// Initial walks the sequence from position 0 and returns the committee, in the order found.
// When the pool runs out first, it returns a *ShortageError naming each unfilled quota and
// by how many experts it falls short (KindConflict "draw.unsatisfiable").
func (d *Drawer) Initial() ([]Member, error) {
	if len(d.active) > 0 || len(d.used) > 0 {
		return nil, kaiping.Internal("draw.Initial", fmt.Errorf("called twice"))
	}
	if err := Precheck(Snapshot{Entries: d.entries}, d.rules); err != nil {
		return nil, err
	}
	var out []Member
	for p := 0; p < len(d.perm) && d.vacancies() > 0; p++ {
		if m, ok := d.consider(p); ok {
			out = append(out, m)
		}
	}
	if d.vacancies() > 0 {
		return nil, d.shortage("抽取序列已用尽")
	}
	return out, nil
}

// Replace removes expert (who declined or did not show) and fills their seat with the
// earliest position of the same sequence holding an expert never drawn before who matches
// the reopened quota and keeps the outside-city minimum reachable. With nobody left it
// returns ok=false and the seat stays vacant. An expert who is not a current member is
// KindConflict "draw.not_member".
func (d *Drawer) Replace(expert string) (m Member, ok bool, err error) {
	idx := -1
	for i, a := range d.active {
		if a.Expert == expert {
			idx = i
		}
	}
	if idx < 0 {
		return Member{}, false, kaiping.Errorf(kaiping.KindConflict, "draw.not_member", "专家 %s 不是本次抽取的在册成员", expert)
	}
	d.open[d.active[idx].Quota]++
	d.active = append(d.active[:idx], d.active[idx+1:]...)
	for p := 0; p < len(d.perm); p++ {
		if m, ok := d.consider(p); ok {
			return m, true, nil
		}
	}
	return Member{}, false, nil
}

// Active returns the current members in the order they were drawn.
func (d *Drawer) Active() []Member { return append([]Member(nil), d.active...) }

// Shortfall is one constraint the pool cannot meet.
type Shortfall struct {
	Quota     string `json:"quota"` // specialty code, or "outside" for the outside-city minimum
	Needed    int    `json:"needed"`
	Available int    `json:"available"`
}

// ShortageError says why a committee cannot be drawn: per quota, how many experts were
// needed and how many the pool could give.
type ShortageError struct {
	Shortfalls []Shortfall
	kerr       *kaiping.Error
}

func (e *ShortageError) Error() string { return e.kerr.Error() }

// Unwrap exposes the kaiping error: KindConflict "draw.unsatisfiable".
func (e *ShortageError) Unwrap() error { return e.kerr }

func newShortage(prefix string, s []Shortfall) *ShortageError {
	parts := make([]string, len(s))
	for i, f := range s {
		what := "专业 " + f.Quota
		if f.Quota == "outside" {
			what = "异地专家"
		}
		parts[i] = fmt.Sprintf("%s需 %d 人，可抽 %d 人，缺 %d 人", what, f.Needed, f.Available, f.Needed-f.Available)
	}
	return &ShortageError{Shortfalls: s, kerr: kaiping.Errorf(kaiping.KindConflict, "draw.unsatisfiable",
		"抽取条件无法满足（%s）：%s", prefix, strings.Join(parts, "；"))}
}

// Precheck counts, without any randomness, whether the snapshot can meet each quota and
// the outside-city minimum on its own; the *ShortageError names every one that fails. A
// draw runs it before committing to a seed, so an impossible request records nothing.
func Precheck(snap Snapshot, rules Rules) error {
	counts := make([]int, len(rules.Quotas))
	outside := 0
	for _, e := range snap.Entries {
		for qi, q := range rules.Quotas {
			if matches(e.Specialties, q.Specialty) {
				counts[qi]++
			}
		}
		if e.City != rules.HostCity && rules.matchesAny(e.Specialties) {
			outside++
		}
	}
	var s []Shortfall
	for qi, q := range rules.Quotas {
		if counts[qi] < q.Count {
			s = append(s, Shortfall{Quota: q.Specialty, Needed: q.Count, Available: counts[qi]})
		}
	}
	if outside < rules.MinOutside {
		s = append(s, Shortfall{Quota: "outside", Needed: rules.MinOutside, Available: outside})
	}
	if s != nil {
		return newShortage("符合条件的专家不足", s)
	}
	return nil
}

// shortage reports the quotas the walk left open.
func (d *Drawer) shortage(prefix string) error {
	var s []Shortfall
	for qi, q := range d.rules.Quotas {
		if d.open[qi] > 0 {
			s = append(s, Shortfall{Quota: q.Specialty, Needed: q.Count, Available: q.Count - d.open[qi]})
		}
	}
	if need := d.outsideNeeded(); need > 0 {
		s = append(s, Shortfall{Quota: "outside", Needed: d.rules.MinOutside, Available: d.rules.MinOutside - need})
	}
	return newShortage(prefix, s)
}

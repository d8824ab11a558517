package kaiping

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestNewID(t *testing.T) {
	seen := map[ID]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !id.Valid() || id[14] != '4' {
			t.Fatalf("%q is not a canonical UUIDv4", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []ID{"", "not-an-id", "0123456789abcdef0123456789abcdef0123", "01234567-89ab-cdef-0123-456789ABCDEF"} {
		if bad.Valid() {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	base := E(KindTooLate, "bid.late", "投标截止时间已过")
	wrapped := fmt.Errorf("pg.CompleteBid x: %w", base)
	if KindOf(wrapped) != KindTooLate || CodeOf(wrapped) != "bid.late" || !IsKind(wrapped, KindTooLate) {
		t.Errorf("kind/code lost through wrapping: %s %s", KindOf(wrapped), CodeOf(wrapped))
	}
	plain := errors.New("boom")
	if KindOf(plain) != KindInternal || CodeOf(plain) != "internal" || IsKind(nil, KindInternal) {
		t.Error("a plain error must be internal, nil must be no kind")
	}
	in := Internal("op", plain)
	if !errors.Is(in, plain) || in.Message == "boom" {
		t.Error("internal errors must wrap their cause and hide it from the message")
	}
}

func TestRoles(t *testing.T) {
	p := Principal{Roles: []Role{RoleBidder}}
	if !p.Has(RoleBidder) || p.Has(RoleAdmin) {
		t.Error("Has")
	}
	for _, r := range Roles {
		if !r.Valid() || r.Label() == string(r) {
			t.Errorf("role %s: valid %v label %q", r, r.Valid(), r.Label())
		}
	}
	if Role("king").Valid() {
		t.Error("unknown role valid")
	}
}

func TestManualClock(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	c := NewManualClock(t0)
	c.Advance(time.Nanosecond)
	if !c.Now().Equal(t0.Add(time.Nanosecond)) {
		t.Error("Advance")
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Error("Set")
	}
	c.SetTick(time.Microsecond)
	if a, b := c.Now(), c.Now(); !a.Equal(t0) || !b.Equal(t0.Add(time.Microsecond)) {
		t.Errorf("ticking clock read %v then %v", a, b)
	}
}

// TestActorAtPrecision: recorded times are truncated to microseconds, never rounded, so a
// time 1ns before a deadline stays before it and one 999ns after stays after.
func TestActorAtPrecision(t *testing.T) {
	deadline := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	if at := SystemActor(deadline.Add(-time.Nanosecond)).At; !at.Before(deadline) || at.Nanosecond()%1000 != 0 {
		t.Errorf("1ns before the deadline recorded as %v", at)
	}
	if at := SystemActor(deadline.Add(999 * time.Nanosecond)).At; at.Before(deadline) {
		t.Errorf("999ns after the deadline recorded as %v", at)
	}
}

package kaiping

import (
	"sync"
	"time"
)

// Clock tells the time. Every deadline check takes one, so tests can stand one nanosecond
// before and after a deadline.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a clock that moves only when told to. The zero value is not usable; use
// NewManualClock. It is safe for concurrent use.
type ManualClock struct {
	mu   sync.Mutex
	now  time.Time
	tick time.Duration
}

// NewManualClock returns a clock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now
	c.now = c.now.Add(c.tick)
	return now
}

// SetTick makes every later Now advance the clock by d after reading it (0, the default,
// stands still). A test firing many requests at once uses it to have the clock cross a
// deadline in the middle of them, at a point that does not depend on scheduling.
func (c *ManualClock) SetTick(d time.Duration) {
	c.mu.Lock()
	c.tick = d
	c.mu.Unlock()
}

// Set moves the clock to t, forwards or backwards.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// ClockHealth says whether the server's clock may judge a deadline (投标截止、解密时限、签到时长):
// a deadline judged on a clock that drifted is judged wrongly, so none is judged until the
// clock is synchronised again.
type ClockHealth interface {
	// Synchronised returns nil when the clock is synchronised and within the configured
	// offset of the reference time, and otherwise ClockUnsynchronised with the reason.
	Synchronised() error
}

// CheckedClock is a clock with its health: what the server injects where a deadline is
// judged. Tests give it a ManualClock and a health of their own.
type CheckedClock struct {
	Clock
	Health ClockHealth
}

// Synchronised asks the clock's health.
func (c CheckedClock) Synchronised() error { return c.Health.Synchronised() }

// Synchronised returns nil when c may judge a deadline now: a clock that cannot tell its
// health (SystemClock, ManualClock, a development server with the check switched off) may;
// one that can answers for itself. Every deadline judgement calls it before comparing.
func Synchronised(c Clock) error {
	if h, ok := c.(ClockHealth); ok {
		return h.Synchronised()
	}
	return nil
}

// ClockUnsynchronised is the refusal of a deadline judgement on a clock that is not
// synchronised: KindUnavailable "clock.unsynchronised", nothing is judged or recorded, and
// the caller tries again once the clock is back.
func ClockUnsynchronised(reason string) *Error {
	return Errorf(KindUnavailable, "clock.unsynchronised",
		"服务器时钟未同步（%s），暂不判定任何截止时间，请稍后重试；交易中心已收到告警", reason)
}

// BeijingTime is China Standard Time (UTC+8, no daylight saving): the zone in which times are
// shown to people and calendar days are counted.
var BeijingTime = time.FixedZone("CST", 8*3600)

// BeijingString is t as a person reads it in a tool's output: Beijing time to the second,
// saying so ("2026-12-08 09:30:00（北京时间）"), whatever the zone of the computer that prints
// it; "—" for the zero time.
func BeijingString(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(BeijingTime).Format(time.DateTime) + "（北京时间）"
}

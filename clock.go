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

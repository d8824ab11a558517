package kaiping_test

import (
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

// TestBeijingString: a tool prints Beijing time with its label whatever zone the instant and
// the computer are in, to the second, and a dash for no time.
func TestBeijingString(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"UTC instant", time.Date(2026, 12, 8, 1, 30, 5, 900, time.UTC), "2026-12-08 09:30:05（北京时间）"},
		{"across midnight", time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC), "2026-12-08 00:00:00（北京时间）"},
		{"another zone", time.Date(2026, 12, 8, 9, 30, 0, 0, time.FixedZone("EST", -5*3600)), "2026-12-08 22:30:00（北京时间）"},
		{"zero", time.Time{}, "—"},
	} {
		if got := kaiping.BeijingString(tc.at); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

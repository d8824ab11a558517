package opening

import (
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

// TestCheckTransition walks the whole state machine: every listed move is allowed to its
// movers and refused to the others with hall.role; every other pair is hall.state.
func TestCheckTransition(t *testing.T) {
	states := []HallState{HallBidding, HallSealed, HallCheckingIn, HallDecrypting, HallPublished, HallConfirming, HallClosed, HallFailed}
	allowed := map[[2]HallState][]By{}
	for _, tr := range HallTransitions {
		allowed[[2]HallState{tr.From, tr.To}] = tr.By
	}
	for _, from := range states {
		for _, to := range states {
			for _, by := range []By{ByHost, BySystem} {
				err := CheckTransition(from, to, by)
				movers, listed := allowed[[2]HallState{from, to}]
				want := "hall.state"
				if listed {
					want = "hall.role"
					for _, m := range movers {
						if m == by {
							want = ""
						}
					}
				}
				if got := codeOrEmpty(err); got != want {
					t.Errorf("%s → %s by %s: %v, want %q", from, to, by, err, want)
				}
			}
		}
	}
	// The refusal names both states, so the host knows where the hall stands.
	err := CheckTransition(HallSealed, HallDecrypting, ByHost)
	if e, ok := err.(*kaiping.Error); !ok || e.Kind != kaiping.KindConflict || !contains(e.Message, "已截标封存", "解密中") {
		t.Errorf("out of order: %v", err)
	}
}

func codeOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return kaiping.CodeOf(err)
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestUnlockOpen(t *testing.T) {
	opens := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	closes := opens.Add(30 * time.Minute)
	tests := []struct {
		state HallState
		at    time.Time
		code  string
	}{
		{HallBidding, opens, "hall.window_not_open"},
		{HallSealed, opens, "hall.window_not_open"},
		{HallCheckingIn, opens, "hall.window_not_open"},
		{HallDecrypting, opens, ""},
		{HallDecrypting, closes.Add(-time.Nanosecond), ""},
		{HallDecrypting, closes, "hall.window_closed"},
		{HallPublished, opens, "hall.window_closed"},
		{HallClosed, opens, "hall.window_closed"},
		{HallFailed, opens, "hall.state"},
	}
	for _, tt := range tests {
		h := HallStatus{State: tt.state, WindowOpensAt: &opens, WindowClosesAt: &closes}
		if got := codeOrEmpty(h.UnlockOpen(tt.at)); got != tt.code {
			t.Errorf("%s at %v: %q, want %q", tt.state, tt.at.Sub(opens), got, tt.code)
		}
	}
}

func TestSealOutcome(t *testing.T) {
	if s, r := SealOutcome(2, 3); s != HallFailed || !contains(r, "不足 3 家（2 家）") {
		t.Errorf("2 of 3: %s %q", s, r)
	}
	if s, r := SealOutcome(3, 3); s != HallSealed || r != "" {
		t.Errorf("3 of 3: %s %q", s, r)
	}
	if s, _ := SealOutcome(4, 5); s != HallFailed {
		t.Errorf("4 of a raised minimum of 5: %s", s)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name              string
		e                 HallEnvelope
		outcome, reasonIs string
	}{
		{"decrypted", HallEnvelope{State: EnvDecrypted}, "", ""},
		{"never unlocked", HallEnvelope{State: EnvSealed}, OutcomeRevoked, ReasonNotUnlocked},
		{"wrong keys only", HallEnvelope{State: EnvSealed, Attempts: 3}, OutcomeRevoked, ReasonWrongKey},
		{"right key refused by a full queue", HallEnvelope{State: EnvSealed, Attempts: 1, BusyRefusals: 1}, OutcomeWithdrawn, ReasonBusy},
		{"broken file", HallEnvelope{State: EnvCorrupt, ErrorCode: "seal.chunk_auth"}, OutcomeRevoked, "seal.chunk_auth"},
		{"our storage failed", HallEnvelope{State: EnvError, ErrorCode: ReasonPlatformError}, OutcomeWithdrawn, ReasonPlatformError},
	}
	for _, tt := range tests {
		if o, r := tt.e.Classify(); o != tt.outcome || r != tt.reasonIs {
			t.Errorf("%s: %s %s, want %s %s", tt.name, o, r, tt.outcome, tt.reasonIs)
		}
	}
}

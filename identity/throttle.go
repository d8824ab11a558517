package identity

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
)

// FailedLogin is one refused login attempt. They are kept in their own table, not the
// ledger: anyone on the internet can fail a login, and the ledger (signed, kept 15 years)
// must not be theirs to grow.
type FailedLogin struct {
	At          time.Time
	Address     string
	Fingerprint string     // of the leaf certificate presented, "" if none could be read
	Principal   kaiping.ID // the certificate's principal, if it is registered
	// Signed: the signature over the nonce verified, so the key holder made the attempt.
	Signed bool
	Code   string // why it was refused
}

// Throttle bounds failed logins within Window: MaxPerAddress from one network address, and
// MaxPerCertificate made with one certificate's key (attempts whose signature verified:
// certificates are public, and counting every attempt that names one would let anyone lock
// its holder out at a bid deadline). Past either, login answers KindThrottled
// "auth.throttled" (429) with the wait in Retry-After.
type Throttle struct {
	Window            time.Duration
	MaxPerAddress     int
	MaxPerCertificate int
}

// DefaultThrottle is 20 failures per address and 5 per certificate in 15 minutes.
var DefaultThrottle = Throttle{Window: 15 * time.Minute, MaxPerAddress: 20, MaxPerCertificate: 5}

// WithThrottle replaces DefaultThrottle.
func WithThrottle(t Throttle) Option { return func(s *Service) { s.throttle = t } }

// checkThrottle refuses a login attempt from a's address, or with fingerprint, that has failed
// too often lately.
func (s *Service) checkThrottle(ctx context.Context, a kaiping.Actor, fingerprint string) error {
	since := a.At.Add(-s.throttle.Window)
	byAddr, byCert, err := s.store.RecentFailure(ctx, addressText(a), fingerprint,
		s.throttle.MaxPerAddress, s.throttle.MaxPerCertificate, since)
	if err != nil {
		return err
	}
	// Allowed again when the failure that reached the limit leaves the window.
	until := byAddr
	if byCert.After(until) {
		until = byCert
	}
	if until.IsZero() {
		return nil
	}
	return &kaiping.Error{Kind: kaiping.KindThrottled, Code: "auth.throttled",
		Message: "登录失败次数过多，请稍后再试", RetryAfter: until.Add(s.throttle.Window).Sub(a.At)}
}

// recordFailure keeps a refused login; only refusals of the attempt itself count (not an
// outage, not the throttle).
func (s *Service) recordFailure(ctx context.Context, a kaiping.Actor, fingerprint string, principal kaiping.ID, signed bool, cause error) {
	switch kaiping.KindOf(cause) {
	case kaiping.KindInternal, kaiping.KindUnavailable, kaiping.KindThrottled:
		return
	}
	// A failure to record must not turn a refusal into an internal error; the refusal stands.
	_ = s.store.RecordFailedLogin(ctx, FailedLogin{At: a.At, Address: addressText(a), Fingerprint: fingerprint,
		Principal: principal, Signed: signed, Code: kaiping.CodeOf(cause)})
}

func addressText(a kaiping.Actor) string {
	if !a.Address.IsValid() {
		return ""
	}
	return a.Address.String()
}

package iox

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done (then it returns ctx's error): the pause of the
// clients' polling loops, which must stop at once when their command is interrupted.
func Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

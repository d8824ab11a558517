package clocksync

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Adjtimex reads the kernel's clock discipline with adjtimex(2) (read only: Modes 0): what
// chronyd or ntpd told the kernel about how well the clock is kept.
type Adjtimex struct{}

// KernelSync implements Kernel.
func (Adjtimex) KernelSync() (KernelState, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return KernelState{}, fmt.Errorf("adjtimex: %w", err)
	}
	// TIME_ERROR, or STA_UNSYNC set: no daemon is disciplining the clock (or it gave up).
	synced := state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
	return KernelState{Synchronised: synced, MaxError: time.Duration(tx.Maxerror) * time.Microsecond}, nil
}

//go:build !linux

package clocksync

import "errors"

// Adjtimex reads the kernel's clock discipline; only Linux has adjtimex(2).
type Adjtimex struct{}

// KernelSync implements Kernel: elsewhere the kernel cannot be asked, and the clock counts
// as unsynchronised unless require_kernel_sync is off.
func (Adjtimex) KernelSync() (KernelState, error) {
	return KernelState{}, errors.New("adjtimex: only on Linux")
}

package seat

import (
	"errors"
	"time"
)

// selfCPU is not measured on Windows: the seat's bench runs on the Linux test machines.
func selfCPU() (time.Duration, error) {
	return 0, errors.New("seat: CPU time is measured on Linux only")
}

package devenv

import "testing"

// Run is Main returning the exit code instead of exiting, for a TestMain that has its own
// clean-up to do after the servers stopped.
func Run(m *testing.M, needs ...Need) int { return run(m, needs) }

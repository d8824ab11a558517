package devenv

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// Child is a server process a test runs, kills and starts again on the same command line:
// kaiping itself, for the fault suite. Its output is appended to one log across restarts.
type Child struct {
	name    string
	path    string
	args    []string
	env     []string
	logPath string
	ready   func(context.Context) error
	proc    *process
}

// StartChild runs path with args and env (the whole environment) in its own process group,
// output appended to logPath, and waits until ready succeeds.
func StartChild(ctx context.Context, name, logPath string, ready func(context.Context) error, env []string, path string, args ...string) (*Child, error) {
	c := &Child{name: name, path: path, args: args, env: env, logPath: logPath, ready: ready}
	return c, c.Start(ctx)
}

// Start starts the process again (it must not be running) and waits until it is ready.
func (c *Child) Start(ctx context.Context) error {
	cmd := exec.Command(c.path, c.args...)
	cmd.Env = c.env
	proc, err := start(c.name, cmd, c.logPath)
	if err != nil {
		return err
	}
	c.proc = proc
	return waitReady(ctx, proc, c.logPath, 60*time.Second, c.ready)
}

// Kill kills the process group with SIGKILL, as a power cut or the OOM killer would: no
// shutdown code runs. It returns once the process is gone.
func (c *Child) Kill() {
	if c.proc == nil {
		return
	}
	_ = syscall.Kill(-c.proc.Pid(), syscall.SIGKILL)
	<-c.proc.done
}

// Stop asks the process to shut down (SIGTERM), killing it after 10 seconds.
func (c *Child) Stop() {
	if c.proc != nil {
		c.proc.stop(syscall.SIGTERM, 10*time.Second)
	}
}

// Pid is the running process's ID.
func (c *Child) Pid() int { return c.proc.Pid() }

// LogTail is the end of the process's log, for a failing test to show.
func (c *Child) LogTail(n int64) string { return tail(c.logPath, n) }

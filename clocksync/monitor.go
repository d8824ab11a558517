// Package clocksync watches the server's clock: whether the kernel says it is synchronised
// (adjtimex) and how far it is from the configured NTP servers. A deadline judged on a clock
// that drifted is judged wrongly, so while the clock is not trusted the server judges none
// (kaiping.ClockHealth) and says so on /readyz and the host's board.
package clocksync

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/beevik/ntp"

	"github.com/kaiping/kaiping"
)

// Kernel tells whether the kernel's clock is being disciplined (chronyd, ntpd).
type Kernel interface {
	KernelSync() (KernelState, error)
}

// KernelState is what adjtimex says.
type KernelState struct {
	Synchronised bool
	MaxError     time.Duration
}

// Config is what the monitor checks.
type Config struct {
	// Servers are the NTP servers ("host" or "host:port") the clock is compared with; the
	// median offset of those that answer counts. None answering is unsynchronised: a clock
	// nobody can vouch for does not judge a deadline.
	Servers []string
	// MaxOffset is the largest offset from the servers' time still trusted.
	MaxOffset time.Duration
	// RequireKernelSync also asks the kernel (adjtimex) whether a daemon keeps the clock.
	RequireKernelSync bool
	// Interval is how often Run checks.
	Interval time.Duration
	// Timeout bounds one NTP query.
	Timeout time.Duration
}

// Status is the outcome of one check.
type Status struct {
	// Problem is why the clock is not trusted, in Chinese; "" when it is.
	Problem   string        `json:"problem,omitempty"`
	Offset    time.Duration `json:"offset_ns"`
	Servers   int           `json:"servers_answered"`
	Kernel    *bool         `json:"kernel_synchronised,omitempty"`
	CheckedAt time.Time     `json:"checked_at"`
}

// Monitor checks the clock (Check, Run) and answers kaiping.ClockHealth from its last check.
// Before the first check the clock is not trusted.
type Monitor struct {
	cfg    Config
	kernel Kernel
	log    *slog.Logger

	mu   sync.Mutex
	last Status
}

var _ kaiping.ClockHealth = (*Monitor)(nil)

// New returns a monitor that has not checked yet.
func New(cfg Config, kernel Kernel, log *slog.Logger) *Monitor {
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	return &Monitor{cfg: cfg, kernel: kernel, log: log, last: Status{Problem: "尚未完成时钟校验"}}
}

// Synchronised implements kaiping.ClockHealth from the last check.
func (m *Monitor) Synchronised() error {
	if st := m.Status(); st.Problem != "" {
		return kaiping.ClockUnsynchronised(st.Problem)
	}
	return nil
}

// Status is the last check's outcome.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// Check asks the kernel and every NTP server now, keeps the outcome and returns it. A change
// of verdict is logged (an unsynchronised clock as an error: it stops every deadline).
func (m *Monitor) Check(ctx context.Context) Status {
	st := m.measure(ctx)
	m.mu.Lock()
	was := m.last
	m.last = st
	m.mu.Unlock()
	switch {
	case st.Problem != "" && st.Problem != was.Problem:
		m.log.Error("clock not synchronised: deadlines are not judged", "problem", st.Problem, "offset", st.Offset)
	case st.Problem == "" && was.Problem != "":
		m.log.Info("clock synchronised again", "offset", st.Offset, "servers", st.Servers)
	}
	return st
}

func (m *Monitor) measure(ctx context.Context) Status {
	st := Status{CheckedAt: time.Now()}
	if m.cfg.RequireKernelSync {
		ks, err := m.kernel.KernelSync()
		synced := err == nil && ks.Synchronised
		st.Kernel = &synced
		if !synced {
			st.Problem = "操作系统报告时钟未由 NTP 同步"
			if err != nil {
				st.Problem = "无法读取操作系统的时钟同步状态"
			}
			return st
		}
	}
	offsets := m.query(ctx)
	st.Servers = len(offsets)
	if len(offsets) == 0 {
		st.Problem = fmt.Sprintf("配置的 %d 个 NTP 服务器均无应答，无法核对时间", len(m.cfg.Servers))
		return st
	}
	slices.Sort(offsets)
	st.Offset = offsets[len(offsets)/2]
	if st.Offset > m.cfg.MaxOffset || -st.Offset > m.cfg.MaxOffset {
		st.Problem = fmt.Sprintf("与标准时间相差 %s，超过允许的 %s", st.Offset.Round(time.Millisecond), m.cfg.MaxOffset)
	}
	return st
}

// query asks every server at once and returns the offsets of the valid answers.
func (m *Monitor) query(ctx context.Context) []time.Duration {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		offsets []time.Duration
	)
	for _, server := range m.cfg.Servers {
		wg.Go(func() {
			if ctx.Err() != nil {
				return
			}
			r, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: m.cfg.Timeout})
			if err == nil {
				err = r.Validate()
			}
			if err != nil {
				m.log.Warn("NTP server did not answer", "server", server, "err", err)
				return
			}
			mu.Lock()
			offsets = append(offsets, r.ClockOffset)
			mu.Unlock()
		})
	}
	wg.Wait()
	return offsets
}

// Run checks every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Check(ctx)
		}
	}
}

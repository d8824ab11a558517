package livekit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
)

// Load is the media benchmark scenario, the same for both backends (seat.Load): Seats
// publish audio and video and subscribe to everyone; Subscribers and Hidden only subscribe.
type Load = seat.Load

// Result is what a Load measured (seat.Result); FirstFrame here runs to the publisher's
// first key frame.
type Result = seat.Result

// benchAgent is one participant of a benchmark.
type benchAgent struct {
	*Agent
	identity  string
	publishes bool
}

// Bench runs load in a new room of media (created, then closed) and measures it. media must
// be the LiveKit backend (signaling/livekit), whose grants these agents speak; the embedded
// side of the comparison runs the same Load with clients/seat's agents.
func Bench(ctx context.Context, media signaling.Media, load Load) (Result, error) {
	load = load.WithDefaults()
	res := Result{Load: load}
	if load.Seats < 1 {
		return res, errors.New("bench: at least one publishing seat is needed")
	}
	if err := media.CreateRoom(ctx, load.Room, signaling.RoomOptions{MaxParticipants: load.Seats + load.Subscribers + load.Hidden}); err != nil {
		return res, err
	}
	defer media.CloseRoom(context.WithoutCancel(ctx), load.Room)
	publisher := signaling.Permissions{PublishAudio: true, PublishVideo: true, Data: true, Subscribe: signaling.Subscription{All: true}}
	watcher := signaling.Permissions{Subscribe: signaling.Subscription{All: true}}
	roles := []struct {
		n     int
		name  string
		perms signaling.Permissions
	}{
		{load.Seats, "工位", publisher},
		{load.Subscribers, "观看", watcher},
		{load.Hidden, "监督", signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true}},
	}
	var agents []benchAgent
	for _, r := range roles {
		for i := range r.n {
			g, err := media.Grant(ctx, load.Room, kaiping.Principal{ID: kaiping.NewID(), Name: fmt.Sprintf("%s%d", r.name, i+1)}, r.perms)
			if err != nil {
				return res, err
			}
			if g.Backend != "livekit" {
				return res, fmt.Errorf("bench: these agents speak LiveKit, not the %q backend", g.Backend)
			}
			cfg := ConfigFromGrant(g)
			cfg.VideoBitrate = load.VideoBitrate
			agents = append(agents, benchAgent{Agent: New(cfg), identity: g.Identity, publishes: r.perms.PublishVideo})
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, len(agents))
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Run(runCtx); err != nil {
				errs <- fmt.Errorf("agent %s: %w", a.identity, err)
			}
		}()
	}
	defer func() {
		stop()
		wg.Wait()
	}()

	if err := awaitFrames(ctx, agents, load.JoinTimeout, errs); err != nil {
		return res, err
	}
	res.FirstFrame = firstFrames(agents)
	res.FirstFrameP50, res.FirstFrameP99 = seat.NearestRank(res.FirstFrame, 50), seat.NearestRank(res.FirstFrame, 99)
	if err := sleep(ctx, load.Warmup); err != nil {
		return res, err
	}
	before, cpu0, self0, err := measure(agents, load.ServerPID)
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := sleep(ctx, load.Duration); err != nil {
		return res, err
	}
	after, cpu1, self1, err := measure(agents, load.ServerPID)
	if err != nil {
		return res, err
	}
	res.Window = time.Since(start)
	res.Forwarded, res.Bytes, res.Lost = after.packets-before.packets, after.bytes-before.bytes, after.lost-before.lost
	if total := res.Forwarded + res.Lost; total > 0 {
		res.LossRatio = float64(res.Lost) / float64(total)
	}
	res.ServerCPU, res.AgentCPU = cpu1-cpu0, self1-self0
	if res.Forwarded > 0 {
		res.CPUPerPacket = res.ServerCPU / time.Duration(res.Forwarded)
	}
	select {
	case err := <-errs:
		return res, err
	default:
	}
	return res, nil
}

// awaitFrames waits until every agent has a key frame from every other publisher.
func awaitFrames(ctx context.Context, agents []benchAgent, timeout time.Duration, errs <-chan error) error {
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		for _, a := range agents {
			s := a.Stats()
			for _, p := range agents {
				if p.publishes && p.identity != a.identity && s.FirstFrame(p.identity).IsZero() {
					missing++
				}
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d subscriber–publisher pairs still without a frame after %s", missing, timeout)
		}
		select {
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// firstFrames is, for every subscriber–publisher pair, join start to first key frame.
func firstFrames(agents []benchAgent) []time.Duration {
	var out []time.Duration
	for _, a := range agents {
		s := a.Stats()
		for _, p := range agents {
			if p.publishes && p.identity != a.identity {
				out = append(out, s.FirstFrame(p.identity).Sub(s.JoinStarted))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

type totals struct{ packets, bytes, lost uint64 }

// measure sums what every agent received and reads the server's and this process's CPU.
func measure(agents []benchAgent, pid int) (totals, time.Duration, time.Duration, error) {
	var t totals
	for _, a := range agents {
		for _, tr := range a.Stats().Received {
			t.packets += tr.Packets
			t.bytes += tr.Bytes
			t.lost += tr.Lost
		}
	}
	self, err := ProcessCPU(os.Getpid())
	if err != nil {
		return t, 0, 0, err
	}
	if pid == 0 {
		return t, 0, self, nil
	}
	server, err := ProcessCPU(pid)
	return t, server, self, err
}

// clockTicks is the unit of /proc/<pid>/stat times (USER_HZ, 100 on every Linux ABI).
const clockTicks = 100

// ProcessCPU is the CPU time (user + system) process pid has used so far, from
// /proc/<pid>/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may contain spaces: the fields follow the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

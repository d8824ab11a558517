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
	"github.com/kaiping/kaiping/signaling"
)

// Load is a benchmark scenario of issue 4, run with seat agents as participants: Seats
// publish audio and video and subscribe to everyone; Subscribers (visible) and Hidden
// (supervisors) only subscribe to everyone. (a) an evaluation room is Seats 9, Hidden 3;
// (b) an opening broadcast is Seats 1, Subscribers 300.
type Load struct {
	Room                       string
	Seats, Subscribers, Hidden int
	// VideoBitrate of each publisher's synthetic VP8 (25 fps). Default 500 kbps.
	VideoBitrate int
	// Warmup runs after every subscriber has a frame from every publisher; Duration is the
	// measured window after it. Defaults 2 s and 10 s.
	Warmup, Duration time.Duration
	// JoinTimeout bounds the wait for every first frame. Default 60 s.
	JoinTimeout time.Duration
	// ServerPID is the media server's process, whose CPU time is read from /proc; 0 (the
	// embedded SFU, inside this process) leaves ServerCPU zero.
	ServerPID int
}

// Result is what a Load measured.
type Result struct {
	Load Load
	// Window is the measured window's actual length.
	Window time.Duration
	// Forwarded is the RTP packets the server delivered to all agents during the window,
	// Bytes their size, Lost the packets missing from their sequence numbers.
	Forwarded, Bytes, Lost uint64
	LossRatio              float64
	// FirstFrame has, for every subscriber and publisher pair, the time from the
	// subscriber starting to join to the first key frame of the publisher's video.
	FirstFrame                   []time.Duration
	FirstFrameP50, FirstFrameP99 time.Duration
	// ServerCPU is the server's CPU time (user + system) during the window, and
	// CPUPerPacket that divided by Forwarded. AgentCPU is this process's, for context: the
	// agents share the machine with the server.
	ServerCPU, CPUPerPacket, AgentCPU time.Duration
}

func (l Load) withDefaults() Load {
	if l.VideoBitrate == 0 {
		l.VideoBitrate = 500_000
	}
	if l.Warmup == 0 {
		l.Warmup = 2 * time.Second
	}
	if l.Duration == 0 {
		l.Duration = 10 * time.Second
	}
	if l.JoinTimeout == 0 {
		l.JoinTimeout = 60 * time.Second
	}
	return l
}

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
	load = load.withDefaults()
	res := Result{Load: load}
	if load.Seats < 1 {
		return res, errors.New("bench: at least one publishing seat is needed")
	}
	if err := media.CreateRoom(ctx, load.Room, signaling.RoomOptions{MaxParticipants: load.Seats + load.Subscribers + load.Hidden}); err != nil {
		return res, err
	}
	defer media.CloseRoom(context.WithoutCancel(ctx), load.Room)
	seat := signaling.Permissions{PublishAudio: true, PublishVideo: true, Data: true, Subscribe: signaling.Subscription{All: true}}
	watcher := signaling.Permissions{Subscribe: signaling.Subscription{All: true}}
	roles := []struct {
		n     int
		name  string
		perms signaling.Permissions
	}{
		{load.Seats, "工位", seat},
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
	res.FirstFrameP50, res.FirstFrameP99 = percentile(res.FirstFrame, 50), percentile(res.FirstFrame, 99)
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

// percentile returns the p-th percentile (nearest rank) of sorted ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	rank := (p*len(ds) + 99) / 100
	return ds[max(rank, 1)-1]
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

// String is the result as one line of figures.
func (r Result) String() string {
	return fmt.Sprintf("%d seats + %d subscribers + %d hidden, %s: %d packets forwarded (%.1f MB), loss %.3f%%, "+
		"join-to-first-frame p50 %s p99 %s, server CPU %s (%.2f µs/packet), agents' CPU %s",
		r.Load.Seats, r.Load.Subscribers, r.Load.Hidden, r.Window.Round(time.Millisecond), r.Forwarded,
		float64(r.Bytes)/1e6, 100*r.LossRatio, r.FirstFrameP50.Round(time.Millisecond), r.FirstFrameP99.Round(time.Millisecond),
		r.ServerCPU, float64(r.CPUPerPacket)/float64(time.Microsecond), r.AgentCPU)
}

package seat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"time"

	"github.com/prometheus/procfs"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// Load is the media benchmark scenario on the embedded backend, run with seat agents as
// participants. It mirrors clients/seat/livekit.Load, so that both backends are measured on
// the same load and report the same figures: Seats publish audio and video and subscribe to
// everyone; Subscribers (visible) and Hidden (supervisors) only subscribe to everyone.
// (a) an evaluation room is Seats 9, Hidden 3; (b) an opening broadcast is Seats 1,
// Subscribers 300.
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
	// ServerPID is the SFU's process, whose CPU time is read from /proc; 0 (an SFU inside
	// this process) leaves ServerCPU zero.
	ServerPID int
}

// Result is what a Load measured; its fields mean what clients/seat/livekit.Result's do.
type Result struct {
	Load Load
	// Window is the measured window's actual length.
	Window time.Duration
	// Forwarded is the RTP packets the server delivered to all agents during the window,
	// Bytes their size, Lost the packets missing from their sequence numbers.
	Forwarded, Bytes, Lost uint64
	LossRatio              float64
	// FirstFrame has, for every subscriber and publisher pair, the time from the subscriber
	// starting to join to the first packet of the publisher's video; every frame of the
	// synthetic source is a key frame, so that packet belongs to a decodable frame.
	FirstFrame                   []time.Duration
	FirstFrameP50, FirstFrameP99 time.Duration
	// ServerCPU is the server's CPU time (user + system) during the window, and
	// CPUPerPacket that divided by Forwarded. AgentCPU is this process's, for context: the
	// agents share the machine with the server.
	ServerCPU, CPUPerPacket, AgentCPU time.Duration
}

// Rooms is what Bench needs of the embedded backend: a room and grants to it.
// *embedded.Server has it, and so does a client of an SFU running in a process of its own
// (kaiping bench media), whose CPU can then be measured apart from the agents'.
type Rooms interface {
	CreateRoom(ctx context.Context, room string, opts signaling.RoomOptions) error
	CloseRoom(ctx context.Context, room string) error
	Grant(ctx context.Context, room string, who kaiping.Principal, perms signaling.Permissions) (signaling.Grant, error)
}

// embeddedBackend is embedded.Backend, which this package cannot import: the embedded
// backend's tests use these agents.
const embeddedBackend = "embedded"

// WithDefaults fills in the defaults of the fields left zero.
func (l Load) WithDefaults() Load {
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

// BenchBackend is what BenchWith needs of one backend's agents.
type BenchBackend struct {
	// Name is the backend whose grants the agents speak (signaling.Grant.Backend): a grant
	// of another backend is refused.
	Name string
	// Agent builds the participant joining with g under load. meter, if not nil, counts the
	// agent's packets where they arrive; BenchWith closes it.
	Agent func(g signaling.Grant, load Load) (p Participant, meter Meter, err error)
}

// Meter counts an agent's RTP packets below the agent, where they arrive (the embedded
// agents' UDP sockets): the packets missing from the sequence numbers and those seen. With
// meters, a benchmark's loss is theirs, and a run in which they saw fewer than half the
// packets the agents counted is refused: the media went another way (ICE-TCP), and the
// loss would be a false zero. Without, the loss is the agents' own (TrackStats.Lost).
type Meter interface {
	Counts() (lost, got uint64)
	Close() error
}

// benchAgent is one participant of a benchmark.
type benchAgent struct {
	Participant
	identity  string
	publishes bool
	meter     Meter     // nil: the backend has none
	started   time.Time // when Run began, set before Run is called
}

// Bench runs load in a new room of rooms (created, then closed) with the embedded backend's
// agents and measures it, with every agent in this process on loopback. The agents' media
// goes over UDP, each on a socket of its own that also counts the RTP sequence numbers that
// never arrived.
func Bench(ctx context.Context, rooms Rooms, load Load) (Result, error) {
	return BenchWith(ctx, rooms, BenchBackend{Name: embeddedBackend, Agent: embeddedBenchAgent}, load)
}

// embeddedBenchAgent is an agent of this package joining with g, on a metered UDP socket on
// loopback.
func embeddedBenchAgent(g signaling.Grant, load Load) (Participant, Meter, error) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	meter := &lossMeter{PacketConn: udp, streams: map[uint32]*seqSpan{}}
	cfg := ConfigFromGrant(g)
	cfg.VideoBitrate, cfg.Loopback, cfg.UDPConn = load.VideoBitrate, true, meter
	return New(cfg), meter, nil
}

// BenchWith runs load in a new room of rooms (created, then closed) with backend's agents
// and measures it: both backends' benchmarks are this one driver, so that they report the
// same figures measured the same way.
func BenchWith(ctx context.Context, rooms Rooms, backend BenchBackend, load Load) (Result, error) {
	load = load.WithDefaults()
	res := Result{Load: load}
	if load.Seats < 1 || load.Subscribers < 0 || load.Hidden < 0 {
		return res, errors.New("bench: at least one publishing seat is needed, and no negative counts")
	}
	if err := rooms.CreateRoom(ctx, load.Room, signaling.RoomOptions{MaxParticipants: load.Seats + load.Subscribers + load.Hidden}); err != nil {
		return res, err
	}
	defer rooms.CloseRoom(context.WithoutCancel(ctx), load.Room)
	agents, err := benchAgents(ctx, rooms, backend, load)
	defer func() {
		for _, a := range agents {
			if a.meter != nil {
				_ = a.meter.Close()
			}
		}
	}()
	if err != nil {
		return res, err
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, len(agents))
	for _, a := range agents {
		a.started = time.Now()
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

	if err := awaitFirstFrames(ctx, agents, load.JoinTimeout, errs); err != nil {
		return res, err
	}
	res.FirstFrame = firstFrames(agents)
	res.FirstFrameP50, res.FirstFrameP99 = NearestRank(res.FirstFrame, 50), NearestRank(res.FirstFrame, 99)
	if err := pause(ctx, load.Warmup); err != nil {
		return res, err
	}
	before, err := sample(agents, load.ServerPID)
	if err != nil {
		return res, err
	}
	if err := pause(ctx, load.Duration); err != nil {
		return res, err
	}
	after, err := sample(agents, load.ServerPID)
	if err != nil {
		return res, err
	}
	res.Window = after.at.Sub(before.at)
	res.Forwarded, res.Bytes, res.Lost = after.packets-before.packets, after.bytes-before.bytes, after.lost-before.lost
	if total := res.Forwarded + res.Lost; total > 0 {
		res.LossRatio = float64(res.Lost) / float64(total)
	}
	res.ServerCPU, res.AgentCPU = after.server-before.server, after.self-before.self
	if res.Forwarded > 0 {
		res.CPUPerPacket = res.ServerCPU / time.Duration(res.Forwarded)
	}
	if metered := after.metered - before.metered; after.meters && metered < res.Forwarded/2 {
		return res, fmt.Errorf("bench: the UDP sockets saw %d RTP packets of the %d delivered: the media did not go over UDP", metered, res.Forwarded)
	}
	select {
	case err := <-errs:
		return res, err
	default:
	}
	return res, nil
}

// benchAgents grants every participant of load and builds its agent. The agents built are
// returned also with an error, for their meters to be closed.
func benchAgents(ctx context.Context, rooms Rooms, backend BenchBackend, load Load) ([]*benchAgent, error) {
	seatPerms := signaling.Permissions{PublishAudio: true, PublishVideo: true, Data: true, Subscribe: signaling.Subscription{All: true}}
	roles := []struct {
		n     int
		name  string
		perms signaling.Permissions
	}{
		{load.Seats, "工位", seatPerms},
		{load.Subscribers, "观看", signaling.Permissions{Subscribe: signaling.Subscription{All: true}}},
		{load.Hidden, "监督", signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true}},
	}
	var agents []*benchAgent
	for _, r := range roles {
		for i := range r.n {
			g, err := rooms.Grant(ctx, load.Room, kaiping.Principal{ID: kaiping.NewID(), Name: fmt.Sprintf("%s%d", r.name, i+1)}, r.perms)
			if err != nil {
				return agents, err
			}
			if g.Backend != backend.Name {
				return agents, fmt.Errorf("bench: these agents speak the %s backend's protocol, not the %q backend's", backend.Name, g.Backend)
			}
			p, meter, err := backend.Agent(g, load)
			if err != nil {
				return agents, err
			}
			agents = append(agents, &benchAgent{Participant: p, identity: g.Identity, publishes: r.perms.PublishVideo, meter: meter})
		}
	}
	return agents, nil
}

// awaitFirstFrames waits until every agent has video from every other publisher.
func awaitFirstFrames(ctx context.Context, agents []*benchAgent, timeout time.Duration, errs <-chan error) error {
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		for _, a := range agents {
			for _, p := range agents {
				if p.publishes && p != a && a.FirstFrame(p.identity).IsZero() {
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

// firstFrames is, for every subscriber–publisher pair, join start to first frame, sorted.
func firstFrames(agents []*benchAgent) []time.Duration {
	var out []time.Duration
	for _, a := range agents {
		for _, p := range agents {
			if p.publishes && p != a {
				out = append(out, a.FirstFrame(p.identity).Sub(a.started))
			}
		}
	}
	slices.Sort(out)
	return out
}

// NearestRank is the p-th percentile of ds, sorted ascending, by the nearest-rank method;
// 0 for no values.
func NearestRank(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[max((p*len(ds)+99)/100, 1)-1]
}

// benchSample is the agents' counters and the CPU times at one moment.
type benchSample struct {
	at                            time.Time
	packets, bytes, lost, metered uint64
	meters                        bool // the agents have meters: lost and metered are theirs
	server, self                  time.Duration
}

// sample sums what every agent received and reads the server's and this process's CPU.
func sample(agents []*benchAgent, serverPID int) (benchSample, error) {
	s := benchSample{at: time.Now()}
	for _, a := range agents {
		for _, t := range a.Received() {
			s.packets += t.Packets
			s.bytes += t.Bytes
			if a.meter == nil {
				s.lost += t.Lost
			}
		}
		if a.meter != nil {
			lost, got := a.meter.Counts()
			s.lost += lost
			s.metered += got
			s.meters = true
		}
	}
	self, err := selfCPU()
	if err != nil {
		return s, err
	}
	s.self = self
	if serverPID == 0 {
		return s, nil
	}
	s.server, err = ProcessCPU(serverPID)
	return s, err
}

// ProcessCPU is the CPU time (user + system) process pid has used so far, from /proc.
func ProcessCPU(pid int) (time.Duration, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, err
	}
	return time.Duration(st.CPUTime() * float64(time.Second)), nil
}

func pause(ctx context.Context, d time.Duration) error {
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

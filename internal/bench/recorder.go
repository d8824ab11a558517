package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/procfs"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	lkseat "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/recorder"
)

// The recorder's figures in `kaiping bench media`: the real recorder (signaling/recorder)
// joins the room as its hidden recording participant, in a child process of its own, so
// that its CPU is that process's; beside it, in another child, its anchor: a hidden seat
// agent that reads every packet of the same tracks and discards it, the cheapest hidden
// subscriber there is, so that the difference is what recording adds (reordering, the
// containers, writing the spool).

// hiddenPerms are the recorder's permissions (signaling.Recordings grants the same), and
// its anchor's.
var hiddenPerms = signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true}

// recorderStart is the first line the benchmark writes to `kaiping bench child recorder`.
type recorderStart struct {
	Grant signaling.Grant `json:"grant"`
	// Spool is the recorder's spool folder.
	Spool string `json:"spool"`
	// Discard makes the child the anchor instead: a hidden seat agent of the grant's backend
	// that reads and discards every packet.
	Discard bool `json:"discard"`
}

// recorderRequest is every later line: "status" or "stop".
type recorderRequest struct {
	Op string `json:"op"`
}

// recorderReply answers every line; the first answers the start.
type recorderReply struct {
	// Tracks counts the tracks that have delivered packets, Packets and Bytes what they
	// delivered: the anchor's RTP packets and bytes received so far; the recorder's packets
	// as of its last checkpoint (every 5 s), and at stop the bytes of its files.
	Tracks  int    `json:"tracks"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// At the recorder's stop: its rates, each track's packets and file bytes over that
	// track's first-to-last packet span, summed over the tracks; the packets it counted
	// lost; and how long closing took (leaving, flushing, syncing, hashing the files).
	PacketsPerS  float64 `json:"packets_per_s,omitempty"`
	BytesPerS    float64 `json:"bytes_per_s,omitempty"`
	Lost         uint64  `json:"lost,omitempty"`
	CloseSeconds float64 `json:"close_seconds,omitempty"`

	Error *childError `json:"error,omitempty"`
}

func recorderChildCommand() *cli.Command {
	return &cli.Command{Name: "recorder", Action: childAction(runRecorderChild)}
}

// hiddenSubscriber is what `kaiping bench child recorder` runs: the recorder or its anchor.
type hiddenSubscriber interface {
	status() (recorderReply, error)
	stop(ctx context.Context) (recorderReply, error)
}

// runRecorderChild is `kaiping bench child recorder`: it joins with the grant of its first
// stdin line, as the recorder or as its anchor, answers "status" and "stop" lines on
// stdout, and ends after "stop" or when stdin ends.
func runRecorderChild(ctx context.Context, _ *cli.Command) error {
	in := json.NewDecoder(bufio.NewReader(os.Stdin))
	out := json.NewEncoder(os.Stdout)
	var start recorderStart
	if err := in.Decode(&start); err != nil {
		return err
	}
	log := slog.New(withoutNoStore{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
	var sub hiddenSubscriber
	var err error
	if start.Discard {
		sub, err = startDiscarding(start.Grant)
	} else {
		sub, err = startBenchRecording(ctx, start, log)
	}
	if err != nil {
		return out.Encode(recorderReply{Error: childErrorOf(err)})
	}
	if err := out.Encode(recorderReply{}); err != nil {
		_, _ = sub.stop(ctx)
		return err
	}
	stopped := false
	err = serveChild(ctx, in, out, func(req recorderRequest) (any, bool) {
		var r recorderReply
		var err error
		switch req.Op {
		case "status":
			r, err = sub.status()
		case "stop":
			r, err = sub.stop(ctx)
			stopped = true
		default:
			err = errUnknownOp(req.Op)
		}
		if err != nil {
			r = recorderReply{Error: childErrorOf(err)}
		}
		return r, stopped
	})
	if !stopped {
		_, _ = sub.stop(context.WithoutCancel(ctx))
	}
	return err
}

// codeNoStore is spoolOnly's refusal.
const codeNoStore = "bench.no_store"

// spoolOnly is the recorder's archive and catalog in the benchmark. The real ones are the
// archive bucket and the recordings catalog with its ledger entry in PostgreSQL, which
// need the whole app; this one refuses to begin storing, so a recording stops once its
// spool is final (every file's size and SHA-256 in the manifest), as it would before the
// upload, and nothing is uploaded.
type spoolOnly struct{}

var (
	_ recorder.Archive = spoolOnly{}
	_ recorder.Catalog = spoolOnly{}
)

func errNoStore() error {
	return kaiping.E(kaiping.KindUnavailable, codeNoStore, "基准测试不归档录像")
}

// Put implements recorder.Archive.
func (spoolOnly) Put(context.Context, string, io.Reader, int64, string) (recorder.Object, error) {
	return recorder.Object{}, errNoStore()
}

// Stat implements recorder.Archive.
func (spoolOnly) Stat(context.Context, string) (recorder.Object, error) {
	return recorder.Object{}, errNoStore()
}

// Get implements recorder.Archive.
func (spoolOnly) Get(context.Context, string) (io.ReadCloser, error) { return nil, errNoStore() }

// Begin implements recorder.Catalog.
func (spoolOnly) Begin(context.Context, recorder.Pending) error { return errNoStore() }

// Commit implements recorder.Catalog.
func (spoolOnly) Commit(context.Context, recorder.Stored) (int64, error) { return 0, errNoStore() }

// Pending implements recorder.Catalog.
func (spoolOnly) Pending(context.Context, time.Time) ([]recorder.Pending, error) {
	return nil, errNoStore()
}

// withoutNoStore leaves out the log records of spoolOnly's refusal: the recorder reports a
// failed store as an error, but here it is the plan.
type withoutNoStore struct{ slog.Handler }

// Handle implements slog.Handler.
func (h withoutNoStore) Handle(ctx context.Context, r slog.Record) error {
	refused := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && kaiping.CodeOf(err) == codeNoStore {
			refused = true
		}
		return !refused
	})
	if refused {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h withoutNoStore) WithAttrs(as []slog.Attr) slog.Handler {
	return withoutNoStore{h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h withoutNoStore) WithGroup(name string) slog.Handler {
	return withoutNoStore{h.Handler.WithGroup(name)}
}

// benchRecording is the recorder recording one room, with the product's settings.
type benchRecording struct {
	rec *recorder.Recording
	dir string // its spool folder
}

func startBenchRecording(ctx context.Context, start recorderStart, log *slog.Logger) (*benchRecording, error) {
	r, err := recorder.New(recorder.Config{SpoolDir: start.Spool, Loopback: true}, spoolOnly{}, spoolOnly{}, kaiping.SystemClock{}, log)
	if err != nil {
		return nil, err
	}
	rec, err := r.Start(ctx, start.Grant)
	if err != nil {
		return nil, err
	}
	return &benchRecording{rec: rec, dir: filepath.Join(start.Spool, rec.Room(), string(rec.ID()))}, nil
}

// status reads the last checkpoint's manifest.
func (b *benchRecording) status() (recorderReply, error) {
	select {
	case <-b.rec.Done():
		_, err := b.rec.Result()
		return recorderReply{}, fmt.Errorf("the recording ended before it was stopped: %w", err)
	default:
	}
	m, _, err := recorder.ReadManifest(b.dir)
	if err != nil {
		return recorderReply{}, err
	}
	var r recorderReply
	for _, f := range m.Files {
		if f.Packets > 0 {
			r.Tracks++
			r.Packets += f.Packets
		}
	}
	return r, nil
}

// stop stops the recording and reads its final manifest.
func (b *benchRecording) stop(ctx context.Context) (recorderReply, error) {
	start := time.Now()
	if err := b.rec.Stop(ctx); kaiping.CodeOf(err) != codeNoStore {
		return recorderReply{}, fmt.Errorf("stopping the recording: %v", err)
	}
	r := recorderReply{CloseSeconds: time.Since(start).Seconds()}
	m, _, err := recorder.ReadManifest(b.dir)
	if err != nil {
		return r, err
	}
	if !m.Final {
		return r, errors.New("the recording's manifest is not final")
	}
	for _, f := range m.Files {
		r.Bytes += uint64(f.Size)
		r.Packets += f.Packets
		r.Lost += f.Lost
		if f.Packets > 0 {
			r.Tracks++
		}
		if span := f.LastPacketAt.Sub(f.StartedAt).Seconds(); span > 0 {
			r.PacketsPerS += float64(f.Packets) / span
			r.BytesPerS += float64(f.Size) / span
		}
	}
	return r, nil
}

// discarding is the anchor: a hidden seat agent that receives every track, counts its
// packets and discards them.
type discarding struct {
	received func() []seat.TrackStats
	cancel   context.CancelFunc
	done     chan struct{}
	err      error // Run's, once done is closed
}

func startDiscarding(g signaling.Grant) (*discarding, error) {
	d := &discarding{done: make(chan struct{})}
	var agent seat.Participant
	switch g.Backend {
	case sideEmbedded:
		cfg := seat.ConfigFromGrant(g)
		cfg.Loopback = true
		agent = seat.New(cfg)
	case sideLiveKit:
		agent = lkseat.New(lkseat.ConfigFromGrant(g))
	default:
		return nil, kaiping.Errorf(kaiping.KindInvalid, "bench.backend", "基准订阅者不支持音视频后端 %q", g.Backend)
	}
	d.received = agent.Received
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		defer close(d.done)
		d.err = agent.Run(ctx)
	}()
	return d, nil
}

func (d *discarding) status() (recorderReply, error) {
	select {
	case <-d.done:
		return recorderReply{}, fmt.Errorf("the subscriber stopped: %v", d.err)
	default:
	}
	var r recorderReply
	for _, t := range d.received() {
		if t.Packets > 0 {
			r.Tracks++
			r.Packets += t.Packets
			r.Bytes += t.Bytes
		}
	}
	return r, nil
}

func (d *discarding) stop(context.Context) (recorderReply, error) {
	r, err := d.status()
	d.cancel()
	<-d.done
	return r, err
}

// recorderChild is `kaiping bench child recorder` running, joined.
type recorderChild struct{ *benchChild }

// startRecorderChild starts a child with start and waits until it has joined.
func startRecorderChild(ctx context.Context, start recorderStart) (*recorderChild, error) {
	bc, err := startBenchChild("recorder", nil)
	if err != nil {
		return nil, err
	}
	c := &recorderChild{bc}
	var r recorderReply
	if err := c.exchangeWithin(ctx, 30*time.Second, start, &r); err != nil || r.Error != nil {
		_ = c.stop()
		return nil, errors.Join(err, r.Error.err())
	}
	return c, nil
}

func (c *recorderChild) call(op string) (recorderReply, error) {
	var r recorderReply
	if err := c.exchange(recorderRequest{Op: op}, &r); err != nil {
		return r, err
	}
	return r, r.Error.err()
}

// childSample is a child's reply to "status" with its CPU time and the bytes it has handed
// to write system calls (wchar in /proc/PID/io), at one moment.
type childSample struct {
	at    time.Time
	cpu   time.Duration
	wchar uint64
	recorderReply
}

func (c *recorderChild) sample() (childSample, error) {
	r, err := c.call("status")
	if err != nil {
		return childSample{}, err
	}
	p, err := procfs.NewProc(c.pid())
	if err != nil {
		return childSample{}, err
	}
	st, err := p.Stat()
	if err != nil {
		return childSample{}, err
	}
	pio, err := p.IO()
	if err != nil {
		return childSample{}, err
	}
	return childSample{at: time.Now(), cpu: time.Duration(st.CPUTime() * float64(time.Second)), wchar: pio.WChar, recorderReply: r}, nil
}

// recorderPair is the recorder and its anchor in one room.
type recorderPair struct {
	rec, anchor *recorderChild
	once        sync.Once
}

// recorderPairSize is the participants a recorderPair adds to a room.
const recorderPairSize = 2

// startRecorderPair joins the recorder and its anchor with grants from grant.
func startRecorderPair(ctx context.Context, grant func(name string) (signaling.Grant, error), spool string) (*recorderPair, error) {
	p := &recorderPair{}
	for _, c := range []struct {
		to      **recorderChild
		name    string
		discard bool
	}{{&p.rec, signaling.RecorderName, false}, {&p.anchor, "基准订阅者", true}} {
		g, err := grant(c.name)
		if err == nil {
			*c.to, err = startRecorderChild(ctx, recorderStart{Grant: g, Spool: spool, Discard: c.discard})
		}
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("joining the %s: %w", c.name, err)
		}
	}
	return p, nil
}

// sample samples the recorder, then its anchor.
func (p *recorderPair) sample() (rec, anchor childSample, err error) {
	if rec, err = p.rec.sample(); err == nil {
		anchor, err = p.anchor.sample()
	}
	return rec, anchor, err
}

// stop ends both children (once).
func (p *recorderPair) stop() error {
	var err error
	p.once.Do(func() {
		for _, c := range []*recorderChild{p.rec, p.anchor} {
			if c != nil {
				err = errors.Join(err, c.stop())
			}
		}
	})
	return err
}

// roomJoiner joins a room just created, with grants to it from grant.
type roomJoiner func(ctx context.Context, grant func(name string) (signaling.Grant, error)) error

// roomsJoined are rooms that join has joined as soon as they are created, with room for
// the recorderPair beside the load.
type roomsJoined struct {
	seat.Rooms
	join roomJoiner
}

// CreateRoom implements seat.Rooms.
func (r roomsJoined) CreateRoom(ctx context.Context, room string, opts signaling.RoomOptions) error {
	if opts.MaxParticipants > 0 {
		opts.MaxParticipants += recorderPairSize
	}
	if err := r.Rooms.CreateRoom(ctx, room, opts); err != nil {
		return err
	}
	return r.join(ctx, func(name string) (signaling.Grant, error) {
		return r.Rooms.Grant(ctx, room, kaiping.Principal{ID: kaiping.NewID(), Name: name}, hiddenPerms)
	})
}

// mediaJoined is roomsJoined for the LiveKit agents, which take a whole signaling.Media.
type mediaJoined struct {
	signaling.Media
	rooms roomsJoined
}

// CreateRoom implements signaling.Media.
func (m mediaJoined) CreateRoom(ctx context.Context, room string, opts signaling.RoomOptions) error {
	return m.rooms.CreateRoom(ctx, room, opts)
}

// recorderRun is one run of the recorder and its anchor on one side.
type recorderRun struct {
	window              time.Duration // the anchor's; the recorder's differs by the time of a status call
	recCPU, anchorCPU   time.Duration
	recWindow           time.Duration
	recWChar            uint64        // bytes the recorder handed to write calls in its window
	rec                 recorderReply // the recorder's at stop
	anchorPkts, anchorB uint64        // received by the anchor in the window
}

// perMinute is x over d, per minute.
func perMinute(x float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return x / d.Minutes()
}

func (r recorderRun) recCPUPerMin() float64    { return perMinute(r.recCPU.Seconds(), r.recWindow) }
func (r recorderRun) anchorCPUPerMin() float64 { return perMinute(r.anchorCPU.Seconds(), r.window) }
func (r recorderRun) recMiBPerMin() float64    { return r.rec.BytesPerS * 60 / (1 << 20) }
func (r recorderRun) anchorMiBPerMin() float64 {
	return perMinute(float64(r.anchorB), r.window) / (1 << 20)
}
func (r recorderRun) recWCharMiBPerMin() float64 {
	return perMinute(float64(r.recWChar), r.recWindow) / (1 << 20)
}
func (r recorderRun) anchorPPS() float64 { return perMinute(float64(r.anchorPkts), r.window) / 60 }

// recPerPacket is the recorder's CPU per recorded packet in µs: its CPU rate over its
// packet rate.
func (r recorderRun) recPerPacket() float64 {
	if r.rec.PacketsPerS <= 0 || r.recWindow <= 0 {
		return 0
	}
	return float64(r.recCPU.Microseconds()) / r.recWindow.Seconds() / r.rec.PacketsPerS
}

func (r recorderRun) anchorPerPacket() float64 {
	if r.anchorPkts == 0 {
		return 0
	}
	return float64(r.anchorCPU.Microseconds()) / float64(r.anchorPkts)
}

// String is the run as one line of figures.
func (r recorderRun) String() string {
	return fmt.Sprintf("%.2f CPU s/min (anchor %.2f), %.2f µs/packet (anchor %.2f), %.1f MiB/min written (anchor received %.1f), %.0f packets/s (anchor %.0f)",
		r.recCPUPerMin(), r.anchorCPUPerMin(), r.recPerPacket(), r.anchorPerPacket(), r.recMiBPerMin(), r.anchorMiBPerMin(), r.rec.PacketsPerS, r.anchorPPS())
}

// recorderReadyPoll is how often the recorder and its anchor are asked whether every
// publisher's tracks have reached them.
const recorderReadyPoll = 200 * time.Millisecond

// benchRecorder runs load on a fresh server of side with the recorder and its anchor
// joining the room as it is created, each in a child process, and measures both over a
// window once every publisher's tracks reach them. The agents' own figures of this run
// are not kept: the server forwards to two more subscribers than in the SFU's runs.
func benchRecorder(ctx context.Context, load mediaLoad, side, room, dir string) (recorderRun, error) {
	spool := filepath.Join(dir, room+"-spool")
	defer os.RemoveAll(spool)
	pairs := make(chan *recorderPair, 1)
	join := func(ctx context.Context, grant func(string) (signaling.Grant, error)) error {
		p, err := startRecorderPair(ctx, grant, spool)
		if err == nil {
			pairs <- p
		}
		return err
	}
	// The agents run until the recorder's window is over, then they are cancelled: their
	// window is long enough for the recorder's to fit (a checkpoint, 5 s, may pass before
	// the recorder reports its tracks).
	agents := load
	agents.window = load.joinWait + 2*load.warmup + load.window + time.Minute
	agentsCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	agentsDone := make(chan error, 1)
	go func() {
		var err error
		if side == sideEmbedded {
			_, err = benchEmbedded(agentsCtx, agents, room, nil, join)
		} else {
			_, err = benchLiveKit(agentsCtx, agents, room, filepath.Join(dir, room), join)
		}
		agentsDone <- err
	}()
	// finish cancels the agents once the pair has stopped, and reports what went wrong first.
	finish := func(p *recorderPair, err error) error {
		if p != nil {
			err = errors.Join(err, p.stop())
		}
		cancel()
		if aerr := <-agentsDone; err == nil && aerr != nil && !errors.Is(aerr, context.Canceled) {
			err = fmt.Errorf("the room's agents: %w", aerr)
		}
		select {
		case q := <-pairs: // joined as the agents failed
			_ = q.stop()
		default:
		}
		return err
	}
	var p *recorderPair
	select {
	case p = <-pairs:
	case err := <-agentsDone:
		agentsDone <- err
		return recorderRun{}, finish(nil, fmt.Errorf("the room ended before the recorder joined: %v", err))
	}
	// wait pauses for d unless the agents stop first.
	wait := func(d time.Duration) error {
		select {
		case err := <-agentsDone:
			agentsDone <- err
			return fmt.Errorf("the room's agents stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	want := 2 * load.seats // audio and video
	for deadline := time.Now().Add(load.joinWait + 10*time.Second); ; {
		rs, err := p.rec.call("status")
		as, aerr := p.anchor.call("status")
		if err = errors.Join(err, aerr); err != nil {
			return recorderRun{}, finish(p, err)
		}
		if rs.Tracks >= want && as.Tracks >= want {
			break
		}
		if time.Now().After(deadline) {
			return recorderRun{}, finish(p, fmt.Errorf("the recorder has %d of the %d tracks, its anchor %d", rs.Tracks, want, as.Tracks))
		}
		if err := wait(recorderReadyPoll); err != nil {
			return recorderRun{}, finish(p, err)
		}
	}
	run, err := measureRecorder(p, load, wait)
	return run, finish(p, err)
}

// measureRecorder samples both children over the load's window, after its warm-up, then
// stops the recorder for its rates.
func measureRecorder(p *recorderPair, load mediaLoad, wait func(time.Duration) error) (recorderRun, error) {
	if err := wait(load.warmup); err != nil {
		return recorderRun{}, err
	}
	r0, a0, err := p.sample()
	if err != nil {
		return recorderRun{}, err
	}
	if err := wait(load.window); err != nil {
		return recorderRun{}, err
	}
	r1, a1, err := p.sample()
	if err != nil {
		return recorderRun{}, err
	}
	final, err := p.rec.call("stop")
	if err != nil {
		return recorderRun{}, err
	}
	return recorderRun{
		window: a1.at.Sub(a0.at), recWindow: r1.at.Sub(r0.at),
		recCPU: r1.cpu - r0.cpu, anchorCPU: a1.cpu - a0.cpu, recWChar: r1.wchar - r0.wchar,
		rec: final, anchorPkts: a1.Packets - a0.Packets, anchorB: a1.Bytes - a0.Bytes,
	}, nil
}

// recorderSides names the sides in the recorder's figures.
var recorderSides = []struct{ side, name, anchor string }{
	{sideEmbedded, "embedded SFU", "hidden subscriber discarding, clients/seat"},
	{sideLiveKit, "LiveKit", "hidden subscriber discarding, clients/seat/livekit"},
}

// addRecorderFigures adds the recorder's figures, its method and its notes to the room's
// result.
func addRecorderFigures(r *benchResult, load mediaLoad, runs map[string][]recorderRun) {
	values := func(rs []recorderRun, f func(recorderRun) float64) []float64 {
		out := make([]float64, len(rs))
		for i, x := range rs {
			out[i] = f(x)
		}
		return out
	}
	for _, s := range recorderSides {
		rs := runs[s.side]
		if len(rs) == 0 {
			continue
		}
		fig := func(name, unit string, ours, anchor func(recorderRun) float64) {
			r.Figures = append(r.Figures, newFigure(fmt.Sprintf("recorder on %s: %s", s.name, name), unit, s.anchor, "median", values(rs, ours), values(rs, anchor), nil))
		}
		fig("CPU seconds per minute of room", "s", recorderRun.recCPUPerMin, recorderRun.anchorCPUPerMin)
		fig("CPU per recorded packet", "µs", recorderRun.recPerPacket, recorderRun.anchorPerPacket)
		fig("bytes per minute of room (the anchor: RTP bytes received)", "MiB", recorderRun.recMiBPerMin, recorderRun.anchorMiBPerMin)
		med := func(f func(recorderRun) float64) float64 { return medianOf(values(rs, f)) }
		r.Notes = append(r.Notes, fmt.Sprintf("Recorder on %s (medians): %.0f packets/s recorded, its anchor received %.0f; %.1f MiB/min handed to write calls (wchar: the files, the manifest rewritten every 5 s, the signaling socket); "+
			"closing the recording (leaving, flushing, fsync, SHA-256 of every file into the final manifest) took %.2f s; %.0f packets counted lost over the whole recording.",
			s.name, med(func(x recorderRun) float64 { return x.rec.PacketsPerS }), med(recorderRun.anchorPPS), med(recorderRun.recWCharMiBPerMin),
			med(func(x recorderRun) float64 { return x.rec.CloseSeconds }), med(func(x recorderRun) float64 { return float64(x.rec.Lost) })))
	}
	r.Method += fmt.Sprintf(" Recorder: in a run of its own after each SFU run (so the SFU's figures above never include it), the real recorder (signaling/recorder: recorder.New with the product's settings, Start with a hidden subscribe-all grant as signaling.Recordings makes) "+
		"joins the room as soon as it is created, in a child process of its own (`kaiping bench child recorder`, spooling under the benchmark's folder); beside it, in another child, its anchor, a hidden seat agent that reads every packet of the same tracks and discards it "+
		"(clients/seat on ours, clients/seat/livekit on LiveKit: the cheapest hidden subscriber of each backend, so the difference is what recording adds). Once both have all %d tracks, %s of warm-up, then a %s window: CPU is each child's utime+stime over the window (/proc), per minute of room; "+
		"the recorder's packets and bytes per minute are the rates in its final manifest (every track's packets and file size over its first-to-last packet span, summed over the tracks), the anchor's the RTP packets and bytes it received in the window; CPU per packet divides the two. "+
		"Storing is left out: at close the product uploads the files to the archive bucket under its compliance lock and commits the catalog row and the ledger entry in PostgreSQL, which needs the whole app; here the recorder stops once its spool is final (sizes and SHA-256 in the manifest), and the notes give how long closing took.",
		2*load.seats, load.warmup, load.window)
}

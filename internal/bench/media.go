package bench

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	lkseat "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/embedded"
	lksignal "github.com/kaiping/kaiping/signaling/livekit"
)

// The two sides of the media figures: ours and the anchor.
const (
	sideEmbedded = "embedded"
	sideLiveKit  = "livekit"
)

// liveKitAnchor names the anchor of the media figures.
const liveKitAnchor = "livekit-server v1.13.5, same load"

// sfuJoinRate is the embedded SFU's join limit in the benchmark (joins a second, and the
// burst): LiveKit has none configured, and the product's default (20 a second, burst 40)
// would stretch a 300-subscriber broadcast's joins over 13 seconds, which would measure the
// limiter rather than the SFU.
const sfuJoinRate = 1000

// mediaAttempts is how often one run of one side is tried: a join storm of hundreds of
// agents on a shared two-core machine sometimes has a client give up joining (LiveKit's
// after 15 s) or the SFU drop a peer whose ICE is not up in 15 s. A failed attempt is named
// in the notes and run again on a fresh server.
const mediaAttempts = 3

// mediaScenarios are the media loads measured: participants by role.
var mediaScenarios = map[string]struct {
	title                      string
	seats, subscribers, hidden int
}{
	"room":      {"(a) an evaluation room", 9, 0, 3},
	"broadcast": {"(b) an opening broadcast", 1, 300, 0},
}

func benchMediaCommand() *cli.Command {
	return &cli.Command{
		Name: "media",
		Usage: "the embedded SFU against livekit-server on the same load of seat agents: server CPU per forwarded packet, " +
			"join-to-first-frame, packet loss",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "scenario", Value: "room", Usage: "room: 9 seats publishing audio and video, each subscribing to all, and 3 hidden supervisors; broadcast: 1 publisher to --subscribers"},
			&cli.IntFlag{Name: "seats", Usage: "publishing seats (default: the scenario's)"},
			&cli.IntFlag{Name: "subscribers", Usage: "visible subscribers that only watch (default: the scenario's)"},
			&cli.IntFlag{Name: "hidden", Usage: "hidden supervisors that only watch (default: the scenario's)"},
			&cli.IntFlag{Name: "bitrate", Value: 500_000, Usage: "each publisher's video, bits a second"},
			&cli.IntFlag{Name: "seconds", Value: 30, Usage: "the measured window of each run, in seconds"},
			&cli.DurationFlag{Name: "warmup", Value: 2 * time.Second, Usage: "wait after every first frame before the window starts"},
			&cli.DurationFlag{Name: "join-timeout", Value: 2 * time.Minute, Usage: "how long every subscriber may take to get every publisher's first frame"},
			&cli.IntFlag{Name: "runs", Value: 3, Usage: "runs of each side, alternating which goes first; the figures are the medians"},
			&cli.StringFlag{Name: "tmpdir", Usage: "folder to work in (default: the system's temporary folder); everything written is removed at the end"},
			&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to this file (for `kaiping bench report`)"},
			&cli.BoolFlag{Name: "recorder", Usage: "also measure the recorder joining the room, against a hidden subscriber that discards what it receives, in runs of their own (default: on for the room, off for the broadcast)"},
			profileFlag(),
		},
		Action: benchMedia,
	}
}

// mediaLoad is what one run of either side puts on its server.
type mediaLoad struct {
	scenario, title            string
	seats, subscribers, hidden int
	bitrate                    int
	warmup, window, joinWait   time.Duration
	recorder                   bool // also measure the recorder, in runs of its own
}

func newMediaLoad(cmd *cli.Command) (mediaLoad, error) {
	sc, ok := mediaScenarios[cmd.String("scenario")]
	if !ok {
		return mediaLoad{}, kaiping.Errorf(kaiping.KindInvalid, "bench.scenario", "--scenario 须为 room 或 broadcast，收到 %q", cmd.String("scenario"))
	}
	l := mediaLoad{scenario: cmd.String("scenario"), title: sc.title, seats: sc.seats, subscribers: sc.subscribers, hidden: sc.hidden,
		bitrate: int(cmd.Int("bitrate")), warmup: cmd.Duration("warmup"), window: time.Duration(cmd.Int("seconds")) * time.Second,
		joinWait: cmd.Duration("join-timeout"), recorder: cmd.String("scenario") == "room"}
	if cmd.IsSet("recorder") {
		l.recorder = cmd.Bool("recorder")
	}
	for name, n := range map[string]*int{"seats": &l.seats, "subscribers": &l.subscribers, "hidden": &l.hidden} {
		if cmd.IsSet(name) {
			*n = int(cmd.Int(name))
		}
	}
	switch {
	case l.seats < 1 || l.subscribers < 0 || l.hidden < 0 || l.seats+l.subscribers+l.hidden < 2 || l.seats+l.subscribers+l.hidden > 500:
		return l, kaiping.Errorf(kaiping.KindInvalid, "bench.participants", "须至少 1 个发布工位、共至少 2 名且至多 500 名参与者，收到工位 %d、观看 %d、监督 %d", l.seats, l.subscribers, l.hidden)
	case l.window < time.Second:
		return l, kaiping.Errorf(kaiping.KindInvalid, "bench.seconds", "--seconds 须至少为 1，收到 %d", cmd.Int("seconds"))
	case l.bitrate < 10_000 || l.bitrate > 10_000_000:
		return l, kaiping.Errorf(kaiping.KindInvalid, "bench.bitrate", "--bitrate 须在 10000 至 10000000 之间，收到 %d", l.bitrate)
	case cmd.Int("runs") < 1:
		return l, kaiping.Errorf(kaiping.KindInvalid, "bench.runs", "--runs 须至少为 1，收到 %d", cmd.Int("runs"))
	case l.warmup < 0 || l.joinWait <= 0:
		return l, kaiping.Errorf(kaiping.KindInvalid, "bench.duration", "--warmup 不能为负，--join-timeout 须为正")
	}
	return l, nil
}

// mediaRun is one run of one side, in the report's units.
type mediaRun struct {
	cpuPerPacket float64 // µs of server CPU per packet forwarded
	packetsPerS  float64 // packets forwarded per second of server CPU
	p50, p99     float64 // join-to-first-frame, ms
	lossPPM      float64 // packets lost per million due
	forwarded    uint64
	pps          float64 // forwarded, packets a second of window
	mbps         float64 // forwarded, MB a second of window
	serverCores  float64 // server CPU seconds per second of window
	agentCores   float64
}

func newMediaRun(window time.Duration, forwarded, bytes, lost uint64, p50, p99, serverCPU, agentCPU time.Duration) mediaRun {
	r := mediaRun{forwarded: forwarded, p50: ms(p50), p99: ms(p99), pps: float64(forwarded) / window.Seconds(),
		mbps: float64(bytes) / window.Seconds() / 1e6, serverCores: serverCPU.Seconds() / window.Seconds(), agentCores: agentCPU.Seconds() / window.Seconds()}
	if forwarded > 0 {
		r.cpuPerPacket = float64(serverCPU.Microseconds()) / float64(forwarded)
		r.lossPPM = 1e6 * float64(lost) / float64(forwarded+lost)
	}
	if serverCPU > 0 {
		r.packetsPerS = float64(forwarded) / serverCPU.Seconds()
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchMedia(ctx context.Context, cmd *cli.Command) error {
	load, err := newMediaLoad(cmd)
	if err != nil {
		return err
	}
	runs := int(cmd.Int("runs"))
	dir, err := os.MkdirTemp(cmd.String("tmpdir"), "kaiping-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &benchSetup{runs: runs, dir: dir, loadStart: loadAverage()}
	var profileEnvs []string
	profilePrefix := ""
	if p := cmd.String("profile"); p != "" {
		profilePrefix = filepath.Join(p, "embedded-sfu-"+load.scenario)
		profileEnvs = []string{profileEnv + "=" + profilePrefix}
	}
	sides := []string{sideEmbedded, sideLiveKit}
	got := map[string][]mediaRun{}
	recorded := map[string][]recorderRun{}
	var failed []string
	// attempts runs one run of a side until it succeeds, at most mediaAttempts times, each
	// time on a fresh server in a room of its own.
	attempts := func(run int, what string, once func(room string) error) error {
		for attempt := 1; ; attempt++ {
			err := once(fmt.Sprintf("bench-%s-%d-%d", strings.ReplaceAll(what, " ", "-"), run+1, attempt))
			if err == nil {
				return nil
			}
			if attempt == mediaAttempts || ctx.Err() != nil {
				return fmt.Errorf("%s, run %d, attempt %d: %w", what, run+1, attempt, err)
			}
			fmt.Fprintf(os.Stderr, "bench: run %d/%d %-8s attempt %d failed, trying again on a fresh server: %v\n", run+1, runs, what, attempt, err)
			failed = append(failed, fmt.Sprintf("%s, run %d, attempt %d: %v", what, run+1, attempt, err))
		}
	}
	for run := range runs {
		for k := range sides {
			side := sides[(k+run)%len(sides)]
			var r mediaRun
			err := attempts(run, side, func(room string) (err error) {
				if side == sideEmbedded {
					r, err = benchEmbedded(ctx, load, room, profileEnvs, nil)
				} else {
					r, err = benchLiveKit(ctx, load, room, filepath.Join(dir, room), nil)
				}
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "bench: run %d/%d %-8s %7.2f µs CPU/packet  %8d packets  first frame p50 %6.0f ms p99 %6.0f ms  loss %6.0f ppm  server %.2f cores, agents %.2f\n",
				run+1, runs, side, r.cpuPerPacket, r.forwarded, r.p50, r.p99, r.lossPPM, r.serverCores, r.agentCores)
			got[side] = append(got[side], r)
			if !load.recorder {
				continue
			}
			var rr recorderRun
			err = attempts(run, side+" recorder", func(room string) (err error) {
				rr, err = benchRecorder(ctx, load, side, room, dir)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "bench: run %d/%d %-8s recorder %s\n", run+1, runs, side, rr)
			recorded[side] = append(recorded[side], rr)
		}
	}
	r := mediaResult(b, load, got[sideEmbedded], got[sideLiveKit])
	if load.recorder {
		addRecorderFigures(&r, load, recorded)
	}
	if len(failed) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("Attempts that failed and were run again on a fresh server (they count in no figure): %s.", strings.Join(failed, "; ")))
	}
	if profilePrefix != "" {
		r.Notes = append(r.Notes, profileNote(ctx, profilePrefix))
	}
	return emitResult(cmd, r)
}

// profileFrames are the frames whose cumulative share of the SFU's CPU the profile note
// gives, with what they are.
var profileFrames = []struct{ frame, what string }{
	{"signaling/embedded.(*downTrack).writeLoop", "the subscribers' writer goroutines"},
	{"net.(*UDPConn).writeTo", "one sendto system call per packet per subscriber"},
	{"srtp/v3.(*SessionSRTP).writeRTP", "SRTP encryption and the write under it"},
	{"interceptor/pkg/nack.(*ResponderInterceptor).BindLocalStream.func1", "the NACK responder, which keeps a copy of every packet sent, and the write under it"},
	{"signaling/embedded.(*publishedTrack).readLoop", "reading the publishers' packets and queueing them"},
	{"runtime.findRunnable", "the scheduler finding goroutines to wake"},
}

// profileNote says where the embedded SFU child spent its CPU, from its profiles (files
// named prefix-*.pprof) through `go tool pprof -top`: the functions with the most time of
// their own, and the shares of the forwarding path's frames.
func profileNote(ctx context.Context, prefix string) string {
	files, _ := filepath.Glob(prefix + "-*.pprof")
	exe, err := os.Executable()
	if err != nil || len(files) == 0 {
		return fmt.Sprintf("No CPU profile of the embedded SFU was written under %s.", filepath.Dir(prefix))
	}
	out, err := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof", "-top", "-nodecount=400", exe}, files...)...).Output()
	if err != nil {
		return fmt.Sprintf("CPU profiles of the embedded SFU are in %s (`go tool pprof` failed: %v).", filepath.Dir(prefix), err)
	}
	return describeProfile(parsePprofTop(string(out)))
}

// pprofRow is one row of `go tool pprof -top`: a function and its shares of all samples.
type pprofRow struct {
	name            string
	flatPct, cumPct float64
}

func parsePprofTop(out string) []pprofRow {
	var rows []pprofRow
	table := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "flat" && f[1] == "flat%" {
			table = true
			continue
		}
		if !table || len(f) < 6 {
			continue
		}
		var flat, cum float64
		if _, err := fmt.Sscanf(f[1]+" "+f[4], "%f%% %f%%", &flat, &cum); err != nil {
			continue
		}
		rows = append(rows, pprofRow{name: strings.Join(f[5:], " "), flatPct: flat, cumPct: cum})
	}
	return rows
}

func describeProfile(rows []pprofRow) string {
	if len(rows) == 0 {
		return "The embedded SFU's CPU profile had no samples."
	}
	var own, path []string
	for _, r := range rows[:min(5, len(rows))] {
		own = append(own, fmt.Sprintf("%s %.1f%%", r.name, r.flatPct))
	}
	for _, pf := range profileFrames {
		for _, r := range rows {
			if strings.HasSuffix(r.name, pf.frame) {
				path = append(path, fmt.Sprintf("%.1f%% in %s (%s)", r.cumPct, pf.frame, pf.what))
				break
			}
		}
	}
	return fmt.Sprintf("Where the embedded SFU's CPU went (pprof of its child over all runs, joins included): most time of their own in %s; cumulatively %s.",
		strings.Join(own, ", "), strings.Join(path, "; "))
}

// mediaResult turns the runs into the scenario's figures and notes.
func mediaResult(b *benchSetup, load mediaLoad, emb, lk []mediaRun) benchResult {
	values := func(rs []mediaRun, f func(mediaRun) float64) []float64 {
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	figure := func(name, unit string, f func(mediaRun) float64, goal *benchGoal) benchFigure {
		return newFigure(name, unit, liveKitAnchor, "median", values(emb, f), values(lk, f), goal)
	}
	var cpuGoal *benchGoal
	if load.scenario == "room" {
		cpuGoal = &benchGoal{MinRatio: 1} // the goal: CPU per packet at or below LiveKit's
	}
	pairs := load.seats*(load.seats-1) + load.seats*(load.subscribers+load.hidden)
	r := b.result(fmt.Sprintf("Media plane %s: %s, %d subscribers, %d hidden (size: one publisher's video per second)",
		load.title, plural(load.seats, "seat"), load.subscribers, load.hidden), fmt.Sprintf(
		"Ours is the embedded pion SFU (signaling/embedded) in a process of its own (`kaiping bench child sfu`: embedded.New with one UDP port and ICE-TCP on loopback, its WebSocket on fiber; the benchmark creates the room and the grants through the child's stdin); "+
			"the anchor is livekit-server v1.13.5 (devenv.StartLiveKit, its defaults, one UDP port and ICE-TCP on loopback) through the LiveKit backend (signaling/livekit). A fresh server for every run; the sides alternate which goes first. "+
			"The participants are seat agents in the benchmark's process, all started at once: clients/seat (pion) on ours, clients/seat/livekit (server-sdk-go) on LiveKit, both publishing the same synthetic 320×240 VP8 (every frame a key frame, %d kbps, 25 fps) and 20 ms Opus packets, "+
			"%s each publishing audio and video and subscribing to everyone, %d visible and %d hidden participants subscribing to everyone: %d subscriber–publisher pairs. "+
			"When every pair has its first frame, %s of warm-up, then a %s window: CPU per packet is the server process's utime+stime over the window (/proc) divided by the RTP packets all agents received in it; "+
			"loss is the packets missing from the RTP sequence numbers over those due; join-to-first-frame runs from an agent starting to join to the publisher's first video packet (ours) or first key-frame packet (LiveKit), over all pairs.",
		load.bitrate/1000, plural(load.seats, "seat"), load.subscribers, load.hidden, pairs, load.warmup, load.window))
	r.Size = int64(load.bitrate / 8)
	r.Figures = []benchFigure{
		figure("server CPU per forwarded packet", "µs", func(m mediaRun) float64 { return m.cpuPerPacket }, nil),
		figure("packets forwarded per server CPU second (the inverse: a ratio ≥ 1 means CPU per packet at or below LiveKit's)", "pkt", func(m mediaRun) float64 { return m.packetsPerS }, cpuGoal),
		figure("join-to-first-frame, p50 over all pairs", "ms", func(m mediaRun) float64 { return m.p50 }, nil),
		figure("join-to-first-frame, p99 over all pairs", "ms", func(m mediaRun) float64 { return m.p99 }, nil),
		figure("packet loss (per million packets due)", "ppm", func(m mediaRun) float64 { return m.lossPPM }, nil),
	}
	med := func(rs []mediaRun, f func(mediaRun) float64) float64 { return medianOf(values(rs, f)) }
	r.Notes = []string{
		fmt.Sprintf("Forwarded in the window (medians): ours %.0f packets/s (%.1f per pair), %.2f MB/s; LiveKit %.0f packets/s (%.1f per pair), %.2f MB/s. "+
			"The publishers send the same on both sides; packets beyond that (retransmissions, LiveKit's padding probes) count as forwarded and lower that side's CPU per packet, while packets lost count nowhere. "+
			"Server CPU: ours %.2f cores, LiveKit %.2f. The agents' process: %.2f cores beside ours, %.2f beside LiveKit (pion agents and server-sdk-go agents differ; the agents share the two cores with the server).",
			med(emb, func(m mediaRun) float64 { return m.pps }), med(emb, func(m mediaRun) float64 { return m.pps / float64(pairs) }), med(emb, func(m mediaRun) float64 { return m.mbps }),
			med(lk, func(m mediaRun) float64 { return m.pps }), med(lk, func(m mediaRun) float64 { return m.pps / float64(pairs) }), med(lk, func(m mediaRun) float64 { return m.mbps }),
			med(emb, func(m mediaRun) float64 { return m.serverCores }), med(lk, func(m mediaRun) float64 { return m.serverCores }),
			med(emb, func(m mediaRun) float64 { return m.agentCores }), med(lk, func(m mediaRun) float64 { return m.agentCores })),
		fmt.Sprintf("The embedded SFU's join limiter is raised to %d joins a second for the benchmark (the product's default is 20 a second, burst 40), as LiveKit has none configured: both servers take the same burst of joins.", sfuJoinRate),
		"Loss is counted at the agents: ours from the RTP headers arriving at each agent's UDP socket (SRTP leaves them in the clear), LiveKit's from the packets its client hands over; packets a busy agent process fails to read in time count as lost on both sides.",
	}
	r.Notes = append(r.Notes, mediaVerdicts(r.Figures)...)
	r.Notes = append(r.Notes, lossyRuns("ours", emb)...)
	r.Notes = append(r.Notes, lossyRuns("LiveKit", lk)...)
	return r
}

// mediaVerdicts says plainly, figure by figure, where ours is worse than LiveKit.
func mediaVerdicts(fs []benchFigure) []string {
	var worse []string
	for _, f := range fs {
		higherIsBetter := f.Unit == "pkt"
		if (higherIsBetter && f.Ours >= f.Anchor) || (!higherIsBetter && f.Ours <= f.Anchor) {
			continue
		}
		if f.Anchor == 0 {
			worse = append(worse, fmt.Sprintf("%s (%.1f %s against none)", f.Name, f.Ours, f.Unit))
			continue
		}
		worse = append(worse, fmt.Sprintf("%s (%.2f×)", f.Name, f.Ratio))
	}
	if len(worse) == 0 {
		return []string{"Ours is at or better than LiveKit on every figure of this scenario."}
	}
	return []string{fmt.Sprintf("Ours is worse than LiveKit on: %s.", strings.Join(worse, "; "))}
}

// lossyRunPPM is the loss above which a run is named in the notes: the medians hide it.
const lossyRunPPM = 10_000

// lossyRuns names the runs of a side that lost more than 1% of their packets.
func lossyRuns(side string, rs []mediaRun) []string {
	var out []string
	for i, r := range rs {
		if r.lossPPM > lossyRunPPM {
			out = append(out, fmt.Sprintf("Run %d of %s lost %.1f%% of the packets due (%.0f packets/s arrived); its CPU per packet counts only the packets that arrived, so it is inflated (%.1f µs).",
				i+1, side, r.lossPPM/1e4, r.pps, r.cpuPerPacket))
		}
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// benchEmbedded runs load on a fresh embedded SFU in a child process; join, if set, joins
// the room as soon as it is created.
func benchEmbedded(ctx context.Context, load mediaLoad, room string, env []string, join roomJoiner) (mediaRun, error) {
	sfu, err := startSFUChild(ctx, env)
	if err != nil {
		return mediaRun{}, err
	}
	var rooms seat.Rooms = sfu
	if join != nil {
		rooms = roomsJoined{sfu, join}
	}
	res, err := seat.Bench(ctx, rooms, seat.Load{
		Room: room, Seats: load.seats, Subscribers: load.subscribers, Hidden: load.hidden, VideoBitrate: load.bitrate,
		Warmup: load.warmup, Duration: load.window, JoinTimeout: load.joinWait, ServerPID: sfu.pid(),
	})
	if err := errors.Join(err, sfu.stop()); err != nil {
		return mediaRun{}, err
	}
	return newMediaRun(res.Window, res.Forwarded, res.Bytes, res.Lost, res.FirstFrameP50, res.FirstFrameP99, res.ServerCPU, res.AgentCPU), nil
}

// benchLiveKit runs load on a fresh livekit-server working in dir (removed after); join,
// if set, joins the room as soon as it is created.
func benchLiveKit(ctx context.Context, load mediaLoad, room, dir string, join roomJoiner) (mediaRun, error) {
	defer os.RemoveAll(dir)
	srv, err := devenv.StartLiveKit(ctx, dir)
	if err != nil {
		return mediaRun{}, err
	}
	defer srv.Stop()
	media, err := lksignal.New(lksignal.Config{URL: srv.URL, APIKey: srv.APIKey, APISecret: srv.APISecret},
		nil, kaiping.SystemClock{}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return mediaRun{}, err
	}
	defer media.Close()
	var rooms signaling.Media = media
	if join != nil {
		rooms = mediaJoined{media, roomsJoined{media, join}}
	}
	res, err := lkseat.Bench(ctx, rooms, lkseat.Load{
		Room: room, Seats: load.seats, Subscribers: load.subscribers, Hidden: load.hidden, VideoBitrate: load.bitrate,
		Warmup: load.warmup, Duration: load.window, JoinTimeout: load.joinWait, ServerPID: srv.Pid(),
	})
	if err != nil {
		return mediaRun{}, err
	}
	return newMediaRun(res.Window, res.Forwarded, res.Bytes, res.Lost, res.FirstFrameP50, res.FirstFrameP99, res.ServerCPU, res.AgentCPU), nil
}

// sfuRequest is one line the benchmark writes to the SFU child's stdin.
type sfuRequest struct {
	Op    string                `json:"op"` // create, close or grant
	Room  string                `json:"room"`
	Max   int                   `json:"max,omitempty"`
	Who   kaiping.Principal     `json:"who"`
	Perms signaling.Permissions `json:"perms"`
}

// sfuReply is one line the child answers with on stdout; its first line carries only URL.
type sfuReply struct {
	URL   string           `json:"url,omitempty"`
	Grant *signaling.Grant `json:"grant,omitempty"`
	Error *childError      `json:"error,omitempty"`
}

// childError carries a *kaiping.Error across a child's pipe.
type childError struct {
	Kind    kaiping.Kind `json:"kind"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
}

func childErrorOf(err error) *childError {
	return &childError{Kind: kaiping.KindOf(err), Code: kaiping.CodeOf(err), Message: err.Error()}
}

// err is the error again, nil for none.
func (e *childError) err() error {
	if e == nil {
		return nil
	}
	return kaiping.E(e.Kind, e.Code, e.Message)
}

// benchChild is `kaiping bench child NAME` running, spoken to in JSON lines: requests on
// its stdin, replies on its stdout. Closing its stdin ends it.
type benchChild struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *json.Decoder
	mu   sync.Mutex // one exchange at a time
	done chan error
}

// startBenchChild starts `kaiping bench child name` with extra environment.
func startBenchChild(name string, env []string) (*benchChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "bench", "child", name)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &benchChild{name: name, cmd: cmd, in: in, out: json.NewDecoder(bufio.NewReader(out)), done: make(chan error, 1)}, nil
}

func (c *benchChild) pid() int { return c.cmd.Process.Pid }

// exchange writes req as one line (none if nil) and reads the child's next line into reply.
func (c *benchChild) exchange(req, reply any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return err
		}
		if _, err := c.in.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("bench child %s: %w", c.name, err)
		}
	}
	if err := c.out.Decode(reply); err != nil {
		return fmt.Errorf("bench child %s: %w", c.name, err)
	}
	return nil
}

// exchangeWithin is exchange bounded by ctx and timeout. A child that does not answer in
// time is left blocked: stop ends it.
func (c *benchChild) exchangeWithin(ctx context.Context, timeout time.Duration, req, reply any) error {
	done := make(chan error, 1)
	go func() { done <- c.exchange(req, reply) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		return fmt.Errorf("bench child %s: no answer in %s", c.name, timeout)
	}
}

// stop closes the child's stdin, which ends it, and waits for it to exit.
func (c *benchChild) stop() error {
	_ = c.in.Close()
	go func() { c.done <- c.cmd.Wait() }()
	select {
	case err := <-c.done:
		if err != nil {
			return fmt.Errorf("bench child %s: %w", c.name, err)
		}
		return nil
	case <-time.After(30 * time.Second):
		// SIGQUIT has the Go runtime print every goroutine's stack to stderr: what the child
		// was stuck in.
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		return fmt.Errorf("bench child %s did not stop within 30 s (its goroutines are dumped above)", c.name)
	}
}

// sfuChild is an embedded SFU in a child process. It implements seat.Rooms.
type sfuChild struct {
	*benchChild
	url string
}

var _ seat.Rooms = (*sfuChild)(nil)

// startSFUChild starts `kaiping bench child sfu` and waits for its signaling URL.
func startSFUChild(ctx context.Context, env []string) (*sfuChild, error) {
	bc, err := startBenchChild("sfu", env)
	if err != nil {
		return nil, err
	}
	c := &sfuChild{benchChild: bc}
	var hello sfuReply
	err = c.exchangeWithin(ctx, 30*time.Second, nil, &hello)
	if c.url = hello.URL; err == nil && c.url == "" {
		err = errors.New("bench child sfu: no URL")
	}
	if err != nil {
		_ = c.stop()
		return nil, err
	}
	return c, nil
}

func (c *sfuChild) call(req sfuRequest) (sfuReply, error) {
	var r sfuReply
	if err := c.exchange(req, &r); err != nil {
		return sfuReply{}, err
	}
	return r, r.Error.err()
}

// CreateRoom implements seat.Rooms.
func (c *sfuChild) CreateRoom(_ context.Context, room string, opts signaling.RoomOptions) error {
	_, err := c.call(sfuRequest{Op: "create", Room: room, Max: opts.MaxParticipants})
	return err
}

// CloseRoom implements seat.Rooms.
func (c *sfuChild) CloseRoom(_ context.Context, room string) error {
	_, err := c.call(sfuRequest{Op: "close", Room: room})
	return err
}

// Grant implements seat.Rooms.
func (c *sfuChild) Grant(_ context.Context, room string, who kaiping.Principal, perms signaling.Permissions) (signaling.Grant, error) {
	r, err := c.call(sfuRequest{Op: "grant", Room: room, Who: who, Perms: perms})
	if err != nil {
		return signaling.Grant{}, err
	}
	if r.Grant == nil {
		return signaling.Grant{}, errors.New("bench child sfu: a reply without the grant")
	}
	return *r.Grant, nil
}

func sfuChildCommand() *cli.Command {
	return &cli.Command{Name: "sfu", Action: childAction(runSFUChild)}
}

// runSFUChild is `kaiping bench child sfu`: an embedded SFU on loopback whose room and
// grants the parent asks for, one JSON line at a time on stdin; it answers on stdout and
// stops when stdin ends.
func runSFUChild(ctx context.Context, _ *cli.Command) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	secret := make([]byte, 32)
	if _, err := crand.Read(secret); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	url := "ws://" + ln.Addr().String() + "/media/ws"
	srv, err := embedded.New(embedded.Config{
		Secret: secret, URL: url, UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", Loopback: true,
		JoinsPerSecond: sfuJoinRate, JoinBurst: sfuJoinRate,
	}, nil, kaiping.SystemClock{}, log)
	if err != nil {
		ln.Close()
		return err
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/media/ws", srv.FiberHandler())
	go func() { _ = app.Listener(ln) }()
	defer app.Shutdown()
	defer srv.Close()

	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(sfuReply{URL: url}); err != nil {
		return err
	}
	return serveChild(ctx, json.NewDecoder(bufio.NewReader(os.Stdin)), out, func(req sfuRequest) (any, bool) {
		var r sfuReply
		var err error
		switch req.Op {
		case "create":
			err = srv.CreateRoom(ctx, req.Room, signaling.RoomOptions{MaxParticipants: req.Max})
		case "close":
			err = srv.CloseRoom(ctx, req.Room)
		case "grant":
			var g signaling.Grant
			g, err = srv.Grant(ctx, req.Room, req.Who, req.Perms)
			r.Grant = &g
		default:
			err = errUnknownOp(req.Op)
		}
		if err != nil {
			r = sfuReply{Error: childErrorOf(err)}
		}
		return r, false
	})
}

// serveChild is a child's side of its pipes: it reads every request on in, one JSON line
// each, and writes handle's reply on out, until in ends (or ctx: the child was stopped),
// or handle's reply is its last.
func serveChild[Req any](ctx context.Context, in *json.Decoder, out *json.Encoder, handle func(Req) (reply any, last bool)) error {
	// Stopped (SIGTERM), it ends as when stdin ends.
	stopped := context.AfterFunc(ctx, func() { _ = os.Stdin.Close() })
	defer stopped()
	for {
		var req Req
		if err := in.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		reply, last := handle(req)
		if err := out.Encode(reply); err != nil || last {
			return err
		}
	}
}

func errUnknownOp(op string) error {
	return kaiping.Errorf(kaiping.KindInvalid, "bench.op", "未知操作 %q", op)
}

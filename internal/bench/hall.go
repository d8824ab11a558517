package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/httpapi/live"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/sim"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// fanoutAnchorName names the anchor of the watchers figures.
const fanoutAnchorName = "bare fan-out: pgx LISTEN, one loop writing to every socket"

// anchorChannel is the channel the anchor listens on.
const anchorChannel = "kaiping_bench_anchor"

// hallOverseers is how many of the watchers are the host's board; the others are bidders.
const hallOverseers = 20

func benchHallWatchersCommand() *cli.Command {
	return &cli.Command{
		Name: "hall-watchers",
		Usage: "WebSocket watchers of one opening hall: delay from a change to the last watcher and server memory per watcher, " +
			"against a bare LISTEN/NOTIFY fan-out to the same clients",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "watchers", Value: 2000, Usage: "live connections watching the hall"},
			&cli.IntFlag{Name: "changes", Value: 100, Usage: "changes of the hall measured in each run"},
			&cli.IntFlag{Name: "runs", Value: 3, Usage: "runs of each side; the figures are the medians"},
			&cli.StringFlag{Name: "tmpdir", Usage: "folder to work in (default: the system's temporary folder); everything written is removed at the end"},
			&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to this file (for `kaiping bench report`)"},
			&cli.StringFlag{Name: "child-watch", Hidden: true, Usage: "child: the WebSocket URL its watchers connect to"},
			&cli.StringFlag{Name: "child-tokens", Hidden: true, Usage: "child: the file of session tokens, one per watcher"},
			&cli.IntFlag{Name: "child-views", Hidden: true, Usage: "child: how many of the watchers get a view after each change"},
		},
		Action: benchHallWatchers,
	}
}

// watchSample is one run of one side.
type watchSample struct {
	events []float64 // ms from the change to the last watcher having its event, per change
	views  []float64 // ms to the last watcher having the view after it (ours only)
	asks   []float64 // ms the change's own request took, until its answer
	afters []float64 // ms from the change's answer (committed for sure) to the last watcher
	memKiB float64   // server resident set per watcher
	goKiB  float64   // Go heap and stacks per watcher
}

func benchHallWatchers(ctx context.Context, cmd *cli.Command) error {
	if cmd.String("child-watch") != "" {
		return watchersChild(cmd)
	}
	n, changes, runs := int(cmd.Int("watchers")), int(cmd.Int("changes")), int(cmd.Int("runs"))
	switch {
	case n < hallOverseers+3:
		return kaiping.Errorf(kaiping.KindInvalid, "bench.watchers", "--watchers 须至少为 %d，收到 %d", hallOverseers+3, n)
	case changes < 2:
		return kaiping.Errorf(kaiping.KindInvalid, "bench.changes", "--changes 须至少为 2，收到 %d", changes)
	case runs < 1:
		return kaiping.Errorf(kaiping.KindInvalid, "bench.runs", "--runs 须至少为 1，收到 %d", runs)
	}
	dir, err := os.MkdirTemp(cmd.String("tmpdir"), "kaiping-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// As root, PostgreSQL runs as the postgres user and must reach its data folder inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	b := &benchSetup{runs: runs, dir: dir, loadStart: loadAverage()}
	w, stop, err := newWatchWorld(ctx, dir, n)
	if err != nil {
		stop()
		return err
	}
	defer stop()
	anchor, err := startFanoutAnchor(ctx, w.dbURL)
	if err != nil {
		return err
	}
	defer anchor.close()

	got := map[string][]watchSample{}
	sides := []string{"ours", "anchor"}
	for run := range runs {
		for k := range sides {
			side := sides[(k+run)%len(sides)]
			s, err := w.measure(ctx, side, anchor, n, changes)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", side, run+1, err)
			}
			fmt.Fprintf(os.Stderr, "bench: run %d/%d %-6s p99 %6.1f ms  median %6.1f ms (the change itself: median %.1f ms)  %5.1f KiB/watcher\n",
				run+1, runs, side, percentile(s.events, 99), percentile(s.events, 50), percentile(s.asks, 50), s.memKiB)
			got[side] = append(got[side], s)
		}
	}
	ours, anc := got["ours"], got["anchor"]
	p := func(ss []watchSample, q float64, of func(watchSample) []float64) []float64 {
		out := make([]float64, len(ss))
		for i, s := range ss {
			out[i] = percentile(of(s), q)
		}
		return out
	}
	events := func(s watchSample) []float64 { return s.events }
	afters := func(s watchSample) []float64 { return s.afters }
	views := func(s watchSample) []float64 { return s.views }
	mem := func(ss []watchSample, goHeap bool) []float64 {
		out := make([]float64, len(ss))
		for i, s := range ss {
			out[i] = s.memKiB
			if goHeap {
				out[i] = s.goKiB
			}
		}
		return out
	}
	b.size = int64(w.frameBytes)
	r := b.result(fmt.Sprintf("%d WebSocket watchers of one opening hall (size: one event message)", n), fmt.Sprintf(
		"A kaiping server in the benchmark's process (its own PostgreSQL and MinIO on loopback) holds a hall whose record is published; a child process opens %d WebSocket connections to GET …/hall/live, "+
			"%d as the host (each gets the event and then the board after every change) and the others as three bidders (each gets the event), and reads every message. "+
			"A change is an objection raised by a fourth bidder or the host's answer to it, through the HTTP API, one at a time (%d per run): the hall's row, event and ledger entry are committed, "+
			"PostgreSQL notifies every kaiping process, the server reads the new event once and fans it out. The delay runs from just before the change's HTTP request (so it includes the request and its commit) "+
			"to the moment the last of the watchers has the event (wall clocks of the two processes, one machine); p99 is over the changes of a run. The third figure starts the clock when the change's answer comes back instead, "+
			"when its commit is certainly done: it leaves out the request's own delays (a lower bound: the notice may leave before the answer). "+
			"The anchor is the same path done the barest way, with the same libraries and the same clients: pg_notify of a message of the same size committed by the benchmark, one pgx LISTEN connection, "+
			"one loop writing it to every socket in turn (no rooms, no roles, no buffers, no views). Memory per watcher is the growth of the server process's resident set (VmRSS, after a GC and "+
			"returning freed memory to the system) from before the watchers connect to when all have their first message, divided by their number.",
		n, hallOverseers, changes))
	r.Figures = []benchFigure{
		newFigure(fmt.Sprintf("p99 delay, change → event at the last of %d watchers", n), "ms", fanoutAnchorName, "median", p(ours, 99, events), p(anc, 99, events), &benchGoal{Below: 250}),
		newFigure("median delay, change → event at the last watcher", "ms", fanoutAnchorName, "median", p(ours, 50, events), p(anc, 50, events), nil),
		newFigure("p99 delay, change answered (committed) → event at the last watcher", "ms", fanoutAnchorName, "median", p(ours, 99, afters), p(anc, 99, afters), nil),
		newFigure(fmt.Sprintf("p99 delay, change → new board at the last of the %d host watchers", hallOverseers), "ms", fanoutAnchorName+" (its event)", "median", p(ours, 99, views), p(anc, 99, events), nil),
		newFigure("server memory per watcher (RSS)", "KiB", fanoutAnchorName, "max", mem(ours, false), mem(anc, false), nil),
	}
	asks := func(ss []watchSample, q float64) string {
		out := make([]float64, len(ss))
		for i, s := range ss {
			out[i] = percentile(s.asks, q)
		}
		return joinFloats(out)
	}
	r.Notes = []string{
		fmt.Sprintf("Of the delay, the change itself (from the request to its answer; the event is committed before the answer and may reach watchers before it): ours, the objection or answer through the API, median %s ms, p99 %s ms; anchor, the pg_notify statement, median %s ms, p99 %s ms (per run).",
			asks(ours, 50), asks(ours, 99), asks(anc, 50), asks(anc, 99)),
		fmt.Sprintf("Go heap and stacks per watcher (runtime.MemStats HeapInuse+StackInuse, same moments): ours %s KiB; anchor %s KiB.",
			joinFloats(mem(ours, true)), joinFloats(mem(anc, true))),
		fmt.Sprintf("The host's board grows with the objections: %d bytes after the last change of a run, sent to each of the %d host connections. A bidder gets the event alone: these changes leave its own view as it was.",
			w.boardBytes, hallOverseers),
		"The watchers' client process shares the machine's cores with the server and PostgreSQL: its reading is part of every figure, on both sides.",
	}
	return emitResult(cmd, r)
}

// percentile is the q-th percentile (nearest rank) of xs.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*q/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// watchWorld is a kaiping server (on a manual clock, so that the bid set seals at once)
// with a tender whose record is published, four bidders and the host.
type watchWorld struct {
	dbURL   string
	base    string
	tender  opening.Tender
	host    *sim.Party
	bidders []*sim.Party // A, B and C watch; D objects
	tokens  string       // the watchers' tokens, one per line

	objection              kaiping.ID // the last objection raised, to be answered
	frameBytes, boardBytes int
}

// newWatchWorld starts PostgreSQL, MinIO and kaiping under dir and takes a hall to its
// published record; stop stops them, also after an error.
func newWatchWorld(ctx context.Context, dir string, n int) (*watchWorld, func(), error) {
	clock := kaiping.NewManualClock(time.Now())
	live := opening.DefaultLiveConfig
	// The watchers share four logins; the limit per principal is for people, not for this.
	live.PerPrincipal, live.MaxConnections = n, n+100
	srv, stop, err := startBenchServers(ctx, dir, app.WithClock(clock), app.WithLiveConfig(live))
	if err != nil {
		return nil, func() {}, err // startBenchServers stopped what it started
	}
	w := &watchWorld{dbURL: srv.setup.Config.Database.URL, base: srv.base}
	if err := w.open(ctx, dir, srv.setup, srv.app, clock, n); err != nil {
		stop()
		return nil, func() {}, err
	}
	return w, stop, nil
}

// open creates the tender, has four bidders submit, seals the set, checks them in, has
// them decrypt and publishes the record, then writes the watchers' tokens.
func (w *watchWorld) open(ctx context.Context, dir string, setup *app.DevSetup, a *app.App, clock *kaiping.ManualClock, n int) error {
	admin := apiclient.New(w.base)
	if _, err := admin.Login(ctx, setup.Admin.CertPEM(), setup.Admin.Key); err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	parties := filepath.Join(dir, "parties")
	if err := os.MkdirAll(parties, 0o700); err != nil {
		return err
	}
	var err error
	if w.host, err = sim.NewParty(ctx, w.base, parties, setup, admin, devpki.SM2, "性能测试主持人", kaiping.RoleHost); err != nil {
		return err
	}
	deadline := clock.Now().Add(time.Hour)
	if err := w.host.Client.Do(ctx, http.MethodPost, "/api/v1/tenders", opening.Tender{
		Code: "BENCH-HALL-" + string(kaiping.NewID())[:8], Title: "性能测试：开标大厅实时推送", Tenderer: "性能测试招标人",
		Deadline: deadline, Plan: opening.SingleEnvelope, Suite: string(seal.AES256GCM), CheckInMinutes: 1,
		SummaryFields: []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
		Sections:      []opening.Section{{Code: "BD1", Name: "一标段"}},
	}, &w.tender); err != nil {
		return fmt.Errorf("create tender: %w", err)
	}
	if err := admin.AssignStaff(ctx, w.tender.ID, kaiping.DutyHost, w.host.ID); err != nil {
		return err
	}
	for i, name := range []string{"性能测试投标人甲", "性能测试投标人乙", "性能测试投标人丙", "性能测试投标人丁"} {
		p, err := sim.NewParty(ctx, w.base, parties, setup, admin, devpki.ECDSA, name, kaiping.RoleBidder)
		if err != nil {
			return err
		}
		if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/registrations",
			opening.RegisterRequest{Certificate: identity.Fingerprint(p.Cert.Cert.Raw)}, nil); err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
		if _, err := sim.SubmitSummary(ctx, w.tender, p, fmt.Sprintf(`{"price":"%d.00"}`, 1000000+i)); err != nil {
			return err
		}
		w.bidders = append(w.bidders, p)
	}
	clock.Set(deadline.Add(opening.SealSettle))
	if _, err := a.Submit.SealDue(ctx); err != nil {
		return err
	}
	for _, p := range append([]*sim.Party{w.host}, w.bidders...) { // the clock jumped past their sessions
		if _, err := p.Client.Login(ctx, p.Cert.CertPEM(), p.Cert.Key); err != nil {
			return err
		}
	}
	if err := w.move(ctx, opening.HallCheckingIn); err != nil {
		return err
	}
	for _, p := range w.bidders {
		if err := p.Client.Do(ctx, http.MethodPost, w.hallPath("/checkins"), nil, nil); err != nil {
			return err
		}
	}
	clock.Advance(time.Duration(w.tender.CheckInMinutes) * time.Minute) // the check-in period runs out
	if err := w.move(ctx, opening.HallDecrypting); err != nil {
		return err
	}
	for _, p := range w.bidders {
		if err := w.unlock(ctx, p); err != nil {
			return err
		}
	}
	if err := w.move(ctx, opening.HallPublished); err != nil {
		return err
	}
	var lines strings.Builder
	for i := range n {
		p := w.bidders[i%3]
		if i < hallOverseers {
			p = w.host
		}
		lines.WriteString(p.Client.Token + "\n")
	}
	w.tokens = filepath.Join(dir, "tokens")
	return os.WriteFile(w.tokens, []byte(lines.String()), 0o600)
}

func (w *watchWorld) hallPath(rest string) string {
	return "/api/v1/tenders/" + string(w.tender.ID) + "/sections/BD1/hall" + rest
}

func (w *watchWorld) move(ctx context.Context, to opening.HallState) error {
	return w.host.Client.Do(ctx, http.MethodPost, w.hallPath("/transitions"), opening.TransitionRequest{To: to}, nil)
}

// unlock hands in p's file key, unwrapped with its key, and waits until it is verified (the
// host publishes before the window ends only when every bid is decrypted).
func (w *watchWorld) unlock(ctx context.Context, p *sim.Party) error {
	if err := sim.Unlock(ctx, p, w.hallPath("")); err != nil {
		return err
	}
	for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(20 * time.Millisecond) {
		var v opening.BidderHallView
		if err := p.Client.Do(ctx, http.MethodGet, w.hallPath(""), nil, &v); err != nil {
			return err
		}
		if !slices.ContainsFunc(v.Envelopes, func(e opening.UnlockStatus) bool { return e.State != opening.EnvDecrypted }) {
			return nil
		}
	}
	return fmt.Errorf("%s's envelopes not verified within a minute", p.Name)
}

// change makes the i-th measured change of the hall: an objection by the fourth bidder, or
// the host's answer to the last one.
func (w *watchWorld) change(ctx context.Context, i int) error {
	if i%2 == 0 {
		var o opening.Objection
		err := w.bidders[3].Client.Do(ctx, http.MethodPost, w.hallPath("/objections"),
			opening.ObjectionRequest{Text: fmt.Sprintf("性能测试异议第 %d 条：请核对开标记录", i/2+1)}, &o)
		w.objection = o.ID
		return err
	}
	return w.host.Client.Do(ctx, http.MethodPost, w.hallPath("/objections/"+string(w.objection)+"/answer"),
		opening.AnswerRequest{Answer: "已核对，开标记录无误"}, nil)
}

// measure runs one side: a child connects n watchers to it, then changes are made one at
// a time and the child says when the last watcher has each.
func (w *watchWorld) measure(ctx context.Context, side string, anchor *fanoutAnchor, n, changes int) (watchSample, error) {
	var s watchSample
	url := anchor.url
	args := []string{"bench", "hall-watchers", "--watchers", strconv.Itoa(n)}
	if side == "ours" {
		url = "ws" + strings.TrimPrefix(w.base, "http") + w.hallPath("/live")
		args = append(args, "--child-tokens", w.tokens, "--child-views", strconv.Itoa(hallOverseers))
	}
	exe, err := os.Executable()
	if err != nil {
		return s, err
	}
	cmd := exec.CommandContext(ctx, exe, append(args, "--child-watch", url)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return s, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return s, err
	}
	cmd.Stderr = os.Stderr
	rss0, go0 := serverMemory()
	if err := cmd.Start(); err != nil {
		return s, err
	}
	defer func() {
		// Closing its input ends the child; one stuck waiting for a lost watcher is killed.
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	ch := make(chan []string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ch <- strings.Fields(sc.Text())
		}
		close(ch)
	}()
	lines := &childLines{ch: ch, kept: map[string][]watchLine{}}
	if _, err := lines.next("ready", -1, 5*time.Minute); err != nil {
		return s, err
	}
	rss1, go1 := serverMemory()
	s.memKiB, s.goKiB = float64(rss1-rss0)/float64(n), float64(go1-go0)/1024/float64(n)
	for i := range changes {
		start := time.Now()
		version := int64(-1)
		if side == "ours" {
			err = w.change(ctx, i)
		} else {
			version = int64(i + 1)
			err = anchor.notify(ctx, version, max(w.frameBytes, 400))
		}
		if err != nil {
			return s, err
		}
		answered := time.Now()
		s.asks = append(s.asks, float64(answered.Sub(start).Nanoseconds())/1e6)
		at, err := lines.next("e", version, 30*time.Second)
		if err != nil {
			return s, err
		}
		s.events = append(s.events, float64(at.ns-start.UnixNano())/1e6)
		s.afters = append(s.afters, float64(at.ns-answered.UnixNano())/1e6)
		if side != "ours" {
			continue
		}
		if i == 0 && w.frameBytes == 0 {
			if err := w.sizes(ctx, at.version); err != nil {
				return s, err
			}
		}
		viewAt, err := lines.next("v", at.version, 30*time.Second)
		if err != nil {
			return s, err
		}
		s.views = append(s.views, float64(viewAt.ns-start.UnixNano())/1e6)
	}
	if side == "ours" {
		var v opening.BoardView
		if err := w.host.Client.Do(ctx, http.MethodGet, w.hallPath("/board"), nil, &v); err == nil {
			b, _ := jsonSize(v)
			w.boardBytes = b
		}
	}
	return s, nil
}

// sizes notes how big a change's event message is: the anchor sends as many bytes.
func (w *watchWorld) sizes(ctx context.Context, version int64) error {
	var evs struct{ Events []opening.HallEvent }
	if err := w.host.Client.Do(ctx, http.MethodGet, w.hallPath("/events?after="+strconv.FormatInt(version-1, 10)), nil, &evs); err != nil || len(evs.Events) == 0 {
		return fmt.Errorf("read the event of version %d: %v", version, err)
	}
	// The very frame the server sends.
	frame, err := live.EventFrame(version, evs.Events[0])
	w.frameBytes = len(frame)
	return err
}

func jsonSize(v any) (int, error) {
	b, err := json.Marshal(v)
	return len(b), err
}

// watchLine is a child's line: what every watcher now has, the version, the time the last
// one got it.
type watchLine struct {
	version int64
	ns      int64
}

// childLines reads the child's lines: "e" and "v" lines may come in either order (the 20
// boards can all arrive before the last of the events), so lines not yet asked for are kept.
type childLines struct {
	ch   <-chan []string
	kept map[string][]watchLine // by kind, in order
}

// next returns the first line of kind for version (any version if -1), waiting for it; an
// "x" line (a watcher lost its connection) is an error.
func (c *childLines) next(kind string, version int64, timeout time.Duration) (watchLine, error) {
	deadline := time.After(timeout)
	for {
		for i, l := range c.kept[kind] {
			if version < 0 || l.version == version {
				c.kept[kind] = slices.Delete(c.kept[kind], i, i+1)
				return l, nil
			}
		}
		select {
		case f, ok := <-c.ch:
			switch {
			case !ok:
				return watchLine{}, fmt.Errorf("the watchers' process ended before %q", kind)
			case len(f) > 0 && f[0] == "x":
				return watchLine{}, fmt.Errorf("a watcher lost its connection: %s", strings.Join(f[1:], " "))
			case len(f) == 1:
				c.kept[f[0]] = append(c.kept[f[0]], watchLine{})
			case len(f) == 3:
				var l watchLine
				l.version, _ = strconv.ParseInt(f[1], 10, 64)
				l.ns, _ = strconv.ParseInt(f[2], 10, 64)
				c.kept[f[0]] = append(c.kept[f[0]], l)
			default:
				return watchLine{}, fmt.Errorf("the watchers' process printed %q", f)
			}
		case <-deadline:
			return watchLine{}, fmt.Errorf("no %q line for version %d within %v: a watcher missed it", kind, version, timeout)
		}
	}
}

// serverMemory is this process's resident set (KiB) and Go heap and stacks (bytes), after a
// collection that returns freed memory to the system.
func serverMemory() (rssKiB int64, goBytes uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return statusKiB("VmRSS:"), ms.HeapInuse + ms.StackInuse
}

// fanoutAnchor is the barest fan-out of a notice to WebSocket clients: one LISTEN
// connection and one loop writing each notice to every socket in turn.
type fanoutAnchor struct {
	url    string
	db     *pgx.Conn
	stop   func()
	mu     sync.Mutex
	conns  map[*fws.Conn]struct{}
	notify func(ctx context.Context, version int64, size int) error
}

func startFanoutAnchor(ctx context.Context, dbURL string) (*fanoutAnchor, error) {
	a := &fanoutAnchor{conns: map[*fws.Conn]struct{}{}}
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	f.Get("/watch", fws.New(func(c *fws.Conn) {
		a.mu.Lock()
		_ = c.WriteMessage(fws.TextMessage, []byte(`{"type":"hello"}`))
		a.conns[c] = struct{}{}
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			delete(a.conns, c)
			a.mu.Unlock()
		}()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = f.Listener(ln) }()
	a.url = "ws://" + ln.Addr().String() + "/watch"
	listen, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	if _, err := listen.Exec(ctx, "LISTEN "+anchorChannel); err != nil {
		return nil, err
	}
	if a.db, err = pgx.Connect(ctx, dbURL); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := listen.WaitForNotification(lctx)
			if err != nil {
				return
			}
			msg := []byte(n.Payload)
			a.mu.Lock()
			for c := range a.conns {
				_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				_ = c.WriteMessage(fws.TextMessage, msg)
			}
			a.mu.Unlock()
		}
	}()
	a.notify = func(ctx context.Context, version int64, size int) error {
		head := fmt.Sprintf(`{"type":"event","version":%d,"pad":"`, version)
		_, err := a.db.Exec(ctx, `SELECT pg_notify($1, $2)`, anchorChannel, head+strings.Repeat("x", max(size-len(head)-2, 0))+`"}`)
		return err
	}
	a.stop = func() {
		cancel()
		<-done
		_ = listen.Close(context.Background())
		_ = a.db.Close(context.Background())
		_ = f.Shutdown()
	}
	return a, nil
}

func (a *fanoutAnchor) close() { a.stop() }

// watchersChild is the child of hall-watchers: it connects its watchers, prints "ready"
// once each has its first message, then for every version "e <version> <ns>" when the last
// watcher has its event and "v <version> <ns>" when the last has the view or hall state
// after it (ns: Unix nanoseconds), and "x <error>" if a connection is lost. It stops when
// its standard input closes.
func watchersChild(cmd *cli.Command) error {
	n := int(cmd.Int("watchers"))
	tokens := make([]string, n)
	if path := cmd.String("child-tokens"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := strings.Fields(string(b))
		if len(lines) < n {
			return fmt.Errorf("%d tokens for %d watchers", len(lines), n)
		}
		copy(tokens, lines)
	}
	out := &watchTracker{events: watchCounts{n: n, m: map[int64]*watchCount{}}, views: watchCounts{n: int(cmd.Int("child-views")), m: map[int64]*watchCount{}},
		w: bufio.NewWriter(os.Stdout)}
	var first sync.WaitGroup
	first.Add(n)
	conns := make([]*websocket.Conn, n)
	var closing, dialing sync.WaitGroup
	stopping := make(chan struct{})
	sem := make(chan struct{}, 16) // connections being opened at once
	dialErrs := make(chan error, n)
	for i := range n {
		dialing.Add(1)
		closing.Add(1)
		go func() {
			defer closing.Done()
			sem <- struct{}{}
			d := websocket.Dialer{HandshakeTimeout: time.Minute, Subprotocols: []string{opening.LiveProtocol}}
			if tokens[i] != "" {
				d.Subprotocols = append(d.Subprotocols, httpapi.BearerProtocol+tokens[i])
			}
			c, _, err := d.Dial(cmd.String("child-watch"), nil)
			<-sem
			conns[i] = c
			dialing.Done()
			if err != nil {
				dialErrs <- fmt.Errorf("watcher %d: %w", i, err)
				return
			}
			got := false
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					select {
					case <-stopping:
					default:
						out.line("x %v", err)
					}
					return
				}
				now := time.Now().UnixNano()
				kind, version := messageHead(data)
				if !got {
					got = true
					first.Done()
				}
				switch kind {
				case "event":
					out.note(&out.events, "e", version, now)
				case "view":
					out.note(&out.views, "v", version, now)
				}
			}
		}()
	}
	dialing.Wait()
	select {
	case err := <-dialErrs:
		return err
	default:
	}
	first.Wait()
	out.line("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	close(stopping)
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	closing.Wait()
	return nil
}

// messageHead reads the type and version at the start of a live message without decoding
// the rest: {"type":"event","version":12,...}.
func messageHead(b []byte) (string, int64) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"type":"`))
	if !ok {
		return "", 0
	}
	kind, rest, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return "", 0
	}
	rest, ok = bytes.CutPrefix(rest, []byte(`,"version":`))
	if !ok {
		return string(kind), 0
	}
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return string(kind), 0
	}
	v, _ := strconv.ParseInt(string(rest[:end]), 10, 64)
	return string(kind), v
}

// watchTracker counts, per version, the watchers that have its event and its view.
type watchTracker struct {
	mu            sync.Mutex
	w             *bufio.Writer
	events, views watchCounts
}

// watchCounts counts per version the watchers that have something, of n that should.
type watchCounts struct {
	n int
	m map[int64]*watchCount
}

type watchCount struct {
	n    int
	last int64
}

func (t *watchTracker) note(cs *watchCounts, kind string, version, ns int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := cs.m[version]
	if c == nil {
		c = &watchCount{}
		cs.m[version] = c
	}
	c.n++
	c.last = max(c.last, ns)
	if c.n == cs.n {
		fmt.Fprintf(t.w, "%s %d %d\n", kind, version, c.last)
		_ = t.w.Flush()
	}
}

func (t *watchTracker) line(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format+"\n", args...)
	_ = t.w.Flush()
}

package main

import (
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/minio/minio-go/v7"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// openingAnchorName names the anchor of the unlock figures.
const openingAnchorName = "seal.Decrypt of the same envelopes from MinIO, same workers, same arrivals"

// The goals of issue 5 for a full opening.
var (
	openingLatencyGoal = &benchGoal{Below: 500}    // p99 unlock latency, ms
	openingPublishGoal = &benchGoal{Below: 1000}   // last verified → record published, ms
	openingVerifyGoal  = &benchGoal{MinRatio: 0.8} // verification throughput against seal's decryption
)

func benchOpeningCommand() *cli.Command {
	return &cli.Command{
		Name: "opening",
		Usage: "a full no-show opening with simulated bidders (check-in, unlock, record, confirm): unlock latency, " +
			"time to the published record, verification throughput against seal's own decryption of the same envelopes",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "bidders", Value: 1000, Usage: "bidders in the opening (at least 3: fewer bids are no opening)"},
			&cli.StringFlag{Name: "bid-size", Value: "1MiB", Usage: "plaintext of each bidder's technical envelope: bytes or with KiB, MiB, GiB"},
			&cli.StringFlag{Name: "ramp", Usage: "counts of bidders to open in turn, e.g. 1000,2000,4000,6531, stopping after the first that misses a goal (default: --bidders alone)"},
			&cli.DurationFlag{Name: "spread", Value: time.Minute, Usage: "bidders start unlocking at random moments over this long after the window opens, \"in the same minute\" by default (0: all at once, the hardest case)"},
			&cli.IntFlag{Name: "runs", Value: 1, Usage: "openings of each count; the figures are their medians"},
			&cli.IntFlag{Name: "concurrency", Value: 16, Usage: "bidders doing a set-up step, checking in or confirming at once"},
			&cli.StringFlag{Name: "tmpdir", Usage: "folder to work in (default: the system's temporary folder); everything written is removed at the end"},
			&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to this file (for `kaiping bench report`)"},
			&cli.StringFlag{Name: "profile", Usage: "write a CPU profile of each opening's unlocking (server and bidders: one process) into this folder"},
		},
		Action: benchOpening,
	}
}

// openingPlan is what the flags ask for.
type openingPlan struct {
	counts      []int
	runs        int
	bidSize     int64
	spread      time.Duration
	concurrency int
	profile     string // folder for CPU profiles of the unlocking, if set
}

func parseOpeningPlan(cmd *cli.Command) (openingPlan, error) {
	p := openingPlan{spread: cmd.Duration("spread"), profile: cmd.String("profile"), concurrency: int(cmd.Int("concurrency")), runs: int(cmd.Int("runs")), counts: []int{int(cmd.Int("bidders"))}}
	var err error
	if p.bidSize, err = parseSize(cmd.String("bid-size")); err != nil {
		return p, err
	}
	if ramp := strings.TrimSpace(cmd.String("ramp")); ramp != "" {
		p.counts = nil
		for _, f := range strings.Split(ramp, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 3 || len(p.counts) > 0 && n <= p.counts[len(p.counts)-1] {
				return p, kaiping.Errorf(kaiping.KindInvalid, "bench.ramp", "--ramp %q 无效：须为逗号分隔、递增的投标人数，每个至少为 3", ramp)
			}
			p.counts = append(p.counts, n)
		}
	}
	switch {
	case p.counts[0] < 3:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.bidders", "--bidders 须至少为 3（不足 3 家不得开标），收到 %d", p.counts[0])
	case p.runs < 1:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.runs", "--runs 须至少为 1，收到 %d", p.runs)
	case p.spread < 0:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.spread", "--spread 不能为负，收到 %s", p.spread)
	case p.concurrency < 1:
		return p, kaiping.Errorf(kaiping.KindInvalid, "bench.concurrency", "--concurrency 须至少为 1，收到 %d", p.concurrency)
	}
	return p, nil
}

func benchOpening(ctx context.Context, cmd *cli.Command) error {
	plan, err := parseOpeningPlan(cmd)
	if err != nil {
		return err
	}
	dir, err := benchDir(cmd.String("tmpdir"))
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &benchSetup{size: plan.bidSize, runs: plan.runs, dir: dir, loadStart: loadAverage()}
	counts, err := rampOpenings(plan.counts, plan.runs, func(n, run int) (openingSample, error) {
		s, err := runOpening(ctx, b.path(fmt.Sprintf("%d-%d", n, run)), n, plan)
		if err != nil {
			return s, fmt.Errorf("opening with %d bidders, run %d: %w", n, run, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %d bidders, run %d/%d: unlock p50 %.0f ms p99 %.0f ms (anchor %.0f / %.0f), %d busy retries, %d live reconnects; published %.0f ms after the last; verified %.1f MB/s (anchor %.1f); %.1f confirmations/s; %.0f s in all\n",
			n, run, plan.runs, percentile(s.latencies, 50), percentile(s.latencies, 99), percentile(s.anchorLatencies, 50), percentile(s.anchorLatencies, 99),
			s.retries, s.reconnects, s.publishMs, s.oursMBps(), s.anchorMBps(), s.confirmsPerSec, s.wallSeconds)
		return s, nil
	})
	if err != nil {
		return err
	}
	return emitResult(cmd, openingResult(b, plan, counts))
}

// rampOpenings runs runs openings of each count in turn (run counts from 1) and stops after
// the first count that misses a goal: larger ones would miss it too.
func rampOpenings(counts []int, runs int, run func(n, run int) (openingSample, error)) ([]openingRuns, error) {
	var out []openingRuns
	for _, n := range counts {
		var rs openingRuns
		for r := range runs {
			s, err := run(n, r+1)
			if err != nil {
				return out, err
			}
			rs = append(rs, s)
		}
		out = append(out, rs)
		if !rs.figures().met() {
			break
		}
	}
	return out, nil
}

// openingRuns are the openings of one count.
type openingRuns []openingSample

// openingSample is what one opening of n bidders measured.
type openingSample struct {
	n int
	// latencies are ms per bidder from its first unlock request to the moment its live view
	// shows every one of its envelopes decrypted; anchorLatencies per bidder from its arrival
	// to its last envelope decrypted by the bare pipeline.
	latencies, anchorLatencies []float64
	retries                    int   // unlock requests refused with hall.busy and made again
	reconnects                 int   // live connections the server dropped while unlocking, opened again
	bytes                      int64 // envelope bytes verified (sealed files, headers included)
	// oursSeconds runs from the first unlock accepted to the last envelope seen verified;
	// anchorSeconds from the first arrival to the last envelope decrypted.
	oursSeconds, anchorSeconds float64
	unlockSeconds              float64 // the start of unlocking → the last envelope seen verified
	publishMs                  float64 // last envelope seen verified → publication answered
	boardMs                    float64 // the host's GET of the board right after
	recordMs                   float64 // publication answered → a bidder holds the checked record
	confirmsPerSec             float64
	checkinsPerSec             float64
	setupSeconds, wallSeconds  float64
	unlockCPU                  cpuSeconds // CPU used while unlocking, by process name
}

func (s openingSample) oursMBps() float64   { return float64(s.bytes) / s.oursSeconds / 1e6 }
func (s openingSample) anchorMBps() float64 { return float64(s.bytes) / s.anchorSeconds / 1e6 }

// openingFigures are one opening's figures.
type openingFigures []benchFigure

// met reports whether every goal of these figures is met.
func (fs openingFigures) met() bool {
	return !slices.ContainsFunc(fs, func(f benchFigure) bool { return f.Met != nil && !*f.Met })
}

// figures are the medians over the runs.
func (rs openingRuns) figures() openingFigures {
	each := func(f func(openingSample) float64) []float64 {
		out := make([]float64, len(rs))
		for i, s := range rs {
			out[i] = f(s)
		}
		return out
	}
	fig := func(name, unit, anchor string, ours, anc func(openingSample) float64, goal *benchGoal) benchFigure {
		return newFigure(fmt.Sprintf(name, rs[0].n), unit, anchor, "median", each(ours), each(anc), goal)
	}
	p := func(q float64, of func(openingSample) []float64) func(openingSample) float64 {
		return func(s openingSample) float64 { return percentile(of(s), q) }
	}
	ours := func(s openingSample) []float64 { return s.latencies }
	anc := func(s openingSample) []float64 { return s.anchorLatencies }
	return openingFigures{
		fig("p99 unlock latency, %d bidders (request → own envelopes shown verified)", "ms", openingAnchorName, p(99, ours), p(99, anc), openingLatencyGoal),
		fig("median unlock latency, %d bidders", "ms", openingAnchorName, p(50, ours), p(50, anc), nil),
		fig("last envelope verified → record published, %d bidders", "ms", "the host's GET of the board just after (reads the same envelopes)",
			func(s openingSample) float64 { return s.publishMs }, func(s openingSample) float64 { return s.boardMs }, openingPublishGoal),
		fig("verification throughput, %d bidders", "MB/s", openingAnchorName, openingSample.oursMBps, openingSample.anchorMBps, openingVerifyGoal),
		fig("confirmations of the record, %d bidders", "/s", "check-ins of the same bidders, same concurrency",
			func(s openingSample) float64 { return s.confirmsPerSec }, func(s openingSample) float64 { return s.checkinsPerSec }, nil),
	}
}

// openingResult gathers the openings' figures, largest count last.
func openingResult(b *benchSetup, plan openingPlan, counts []openingRuns) benchResult {
	arrival := "all at once, the moment the host opens the decrypt window"
	if plan.spread > 0 {
		arrival = fmt.Sprintf("at moments drawn uniformly over the %s after the host opens the decrypt window", plan.spread)
	}
	workers := runtime.GOMAXPROCS(0)
	names := make([]string, len(counts))
	for i, rs := range counts {
		names[i] = strconv.Itoa(rs[0].n)
	}
	r := b.result(fmt.Sprintf("A full no-show opening, %s bidders (size: each technical envelope)", strings.Join(names, ", then ")), fmt.Sprintf(
		"Each run of each count is one opening on fresh servers: PostgreSQL, MinIO and a kaiping server in the benchmark's process on loopback, on a manual clock so the bid set seals at once. "+
			"Not timed: every bidder gets a P-256 certificate and logs in, registers, seals a summary (its price) and a technical envelope of %s of random bytes to itself and uploads both "+
			"(presigned multipart, receipt); the set is sealed; all check in (%d at a time); each bidder opens the hall's live WebSocket (GET …/hall/live) and the host opens the decrypt window. "+
			"Timed: the bidders start %s; each fetches its envelopes' headers, unwraps both file keys with its own key and POSTs them to …/hall/unlocks "+
			"(on hall.busy it waits the Retry-After the server gives and tries again); the server checks each key, records it and its ledger entry, and its verification queue "+
			"(%d workers, the default: one per core) reads each envelope back from MinIO and decrypts every chunk. Unlock latency runs from a bidder's first unlock request to the moment "+
			"its live view shows both its envelopes decrypted (so it includes any waiting for retries, the queue, and the push; a live connection the server drops is opened again "+
			"at once, as the hall's page does, and counted); p50 and p99 over the bidders. "+
			"The moment the last bidder sees its envelopes verified, the host POSTs the transition to published (the server builds the record from every envelope, digests it and commits it with its ledger entry): "+
			"that figure runs to the answer. Verification throughput is the envelope bytes (sealed files, headers included) over the time from the first unlock accepted to the last envelope "+
			"seen verified (with a spread of arrivals both sides are paced by them, and the ratio says whether verification kept up; all at once, it compares capacities). Then the host opens confirmation and every bidder fetches the record, checks its digest, signs it with its key and POSTs the signature (%d at a time). "+
			"The anchor, measured after each opening on the same servers, is the bare pipeline: the same envelopes, read with the server's own reader from the same MinIO and decrypted with "+
			"seal.Decrypt by the same number of workers from one queue, each bidder's two envelopes queued at the same moment after the start as in the opening (no HTTP, database, ledger or push). "+
			"A count misses its goals when p99 latency is 500 ms or more, publication takes 1 s or more, or verification runs below 0.8× the anchor; the ramp stops there. "+
			"The bidders' clients run in the benchmark's process and share the machine's cores with the server, PostgreSQL and MinIO, on both sides.",
		formatSize(plan.bidSize), plan.concurrency, arrival, workers, plan.concurrency))
	largest := 0
	for _, rs := range counts {
		fs := rs.figures()
		r.Figures = append(r.Figures, fs...)
		if fs.met() {
			largest = rs[0].n
		}
		for i, s := range rs {
			r.Notes = append(r.Notes, fmt.Sprintf("%d bidders, run %d: %d unlock requests refused busy and retried; %d live connections dropped by the server (up to the last envelope verified) and opened again; %d envelopes, %.1f MB; the record reached a bidder %.0f ms after its publication was answered; "+
				"CPU seconds while unlocking (%.1f s from the start to the last envelope seen verified): %s; set-up %.0f s, the whole opening with its anchor %.0f s.",
				s.n, i+1, s.retries, s.reconnects, 2*s.n, float64(s.bytes)/1e6, s.recordMs, s.unlockSeconds, s.unlockCPU, s.setupSeconds, s.wallSeconds))
		}
	}
	switch last := counts[len(counts)-1]; {
	case largest == 0:
		r.Notes = append(r.Notes, fmt.Sprintf("No opening of those tried held the goals on this machine: the smallest, %d bidders, missed one.", counts[0][0].n))
	case largest == last[0].n:
		r.Notes = append(r.Notes, fmt.Sprintf("The largest opening this machine held within the goals: %d bidders, the largest tried (the largest procurement we know of had 6,531).", largest))
	default:
		r.Notes = append(r.Notes, fmt.Sprintf("The largest opening this machine held within the goals: %d bidders; %d missed a goal (the largest procurement we know of had 6,531).", largest, last[0].n))
	}
	return r
}

// runOpening runs one whole opening of n bidders on fresh servers under dir and removes dir.
func runOpening(ctx context.Context, dir string, n int, plan openingPlan) (openingSample, error) {
	start := time.Now()
	s := openingSample{n: n}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, err
	}
	defer os.RemoveAll(dir)
	clock := kaiping.NewManualClock(time.Now())
	live := opening.DefaultLiveConfig
	live.MaxConnections = max(live.MaxConnections, n+100)
	srv, stop, err := startBenchServers(ctx, dir, app.WithClock(clock), app.WithLiveConfig(live))
	if err != nil {
		return s, err
	}
	defer stop()
	w, err := newOpeningWorld(ctx, dir, srv, clock, n, plan, &s)
	if err != nil {
		return s, err
	}
	defer w.close()
	s.setupSeconds = time.Since(start).Seconds()
	stopProfile, err := startProfile(profilePrefix(plan.profile, fmt.Sprintf("unlock-%d", n)))
	if err != nil {
		return s, err
	}
	cpu0 := treeCPU()
	err = w.unlockAll(ctx, &s)
	s.unlockCPU = treeCPU().since(cpu0)
	stopProfile()
	if err != nil {
		return s, err
	}
	if err := w.publish(ctx, &s); err != nil {
		return s, err
	}
	if err := w.confirmAll(ctx, &s); err != nil {
		return s, err
	}
	if err := w.anchor(ctx, srv, &s); err != nil {
		return s, fmt.Errorf("anchor: %w", err)
	}
	s.wallSeconds = time.Since(start).Seconds()
	return s, nil
}

// profilePrefix is where startProfile writes a profile named name under dir; none if dir
// is empty.
func profilePrefix(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}

// openingWorld is an opening in its decrypt window: n bidders checked in, each watching
// the hall live.
type openingWorld struct {
	base    string
	tender  opening.Tender
	host    *demoParty
	bidders []*openingBidder
	plan    openingPlan
	busy    time.Duration // the server's retry hint with hall.busy
	closing atomic.Bool   // set once the live connections are being closed on purpose
}

// openingBidder is one simulated bidder and what happened to it.
type openingBidder struct {
	*demoParty
	offset time.Duration                  // when it starts unlocking, after the window opens
	ws     atomic.Pointer[websocket.Conn] // the live connection now
	// reconnects counts live connections the server dropped and the bidder opened again.
	reconnects atomic.Int32
	// verified is closed when the bidder's live view first shows all its envelopes
	// decrypted, at seenAt; failed holds why it never will.
	verified chan struct{}
	seenAt   time.Time
	failed   atomic.Pointer[error]
	// postAt is its first unlock request; acceptedAt the answer of its first accepted one.
	postAt, acceptedAt time.Time
	retries            int
	keys               map[string][]byte // kind → file key, for the anchor
}

func (w *openingWorld) hallPath(rest string) string {
	return "/api/v1/tenders/" + string(w.tender.ID) + "/sections/BD1/hall" + rest
}

func (w *openingWorld) move(ctx context.Context, to opening.HallState) error {
	return w.host.client.Do(ctx, http.MethodPost, w.hallPath("/transitions"), opening.TransitionRequest{To: to}, nil)
}

// newOpeningWorld creates the tender and its n bidders, each with a sealed bid submitted,
// seals the set, checks everyone in (timing it: the anchor of the confirmations), connects
// everyone to the live hall and opens the decrypt window.
func newOpeningWorld(ctx context.Context, dir string, srv *benchServers, clock *kaiping.ManualClock, n int, plan openingPlan, s *openingSample) (*openingWorld, error) {
	w := &openingWorld{base: srv.base, plan: plan, busy: opening.DefaultHallConfig.BusyRetry}
	// One pool of connections for all: http.DefaultClient keeps two idle ones to a host,
	// and a thousand bidders would open and close one per request.
	shared := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	admin := apiclient.New(w.base)
	admin.HTTP = shared
	if _, err := admin.Login(ctx, srv.setup.Admin.CertPEM(), srv.setup.Admin.Key); err != nil {
		return nil, fmt.Errorf("admin login: %w", err)
	}
	parties := filepath.Join(dir, "parties")
	if err := os.MkdirAll(parties, 0o700); err != nil {
		return nil, err
	}
	var err error
	if w.host, err = newDemoParty(ctx, w.base, parties, srv.setup, admin, devpki.SM2, "性能测试主持人", kaiping.RoleHost); err != nil {
		return nil, err
	}
	w.host.client.HTTP = shared
	// The least lead the platform takes is a minute; the sessions (30 minutes) outlive the
	// jump of the clock past it and the sealing grace.
	deadline := clock.Now().Add(2 * time.Minute).Truncate(time.Second)
	if err := w.host.client.Do(ctx, http.MethodPost, "/api/v1/tenders", opening.Tender{
		Code: "BENCH-OPEN-" + string(kaiping.NewID())[:8], Title: fmt.Sprintf("性能测试：%d 家投标人不见面开标", n), Tenderer: "性能测试招标人",
		Deadline: deadline, Plan: opening.SingleEnvelope, Suite: string(seal.AES256GCM),
		SummaryFields: []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
		Sections:      []opening.Section{{Code: "BD1", Name: "一标段"}},
	}, &w.tender); err != nil {
		return nil, fmt.Errorf("create tender: %w", err)
	}
	offsets := arrivalOffsets(n, plan.spread)
	w.bidders = make([]*openingBidder, n)
	var sealedBytes atomic.Int64
	err = forEachBidder(ctx, n, plan.concurrency, "registered, sealed and submitted", func(i int) error {
		name := fmt.Sprintf("性能测试投标人%05d", i+1)
		p, err := newDemoParty(ctx, w.base, parties, srv.setup, admin, devpki.ECDSA, name, kaiping.RoleBidder)
		if err != nil {
			return err
		}
		p.client.HTTP = shared
		w.bidders[i] = &openingBidder{demoParty: p, offset: offsets[i], verified: make(chan struct{}), keys: map[string][]byte{}}
		if err := p.client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/registrations",
			opening.RegisterRequest{Certificate: identity.Fingerprint(p.cert.Cert.Raw)}, nil); err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
		body, err := randomBytes(plan.bidSize)
		if err != nil {
			return err
		}
		for _, env := range []struct {
			kind  seal.EnvelopeKind
			plain []byte
		}{{seal.Summary, []byte(fmt.Sprintf(`{"price":"%d.00"}`, 10000000+i))}, {seal.Technical, body}} {
			size, err := submitEnvelope(ctx, w.tender, p, env.kind, env.plain, shared)
			if err != nil {
				return err
			}
			sealedBytes.Add(size)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.bytes = sealedBytes.Load()
	clock.Set(deadline.Add(opening.SealGrace))
	if _, err := srv.app.Submit.SealDue(ctx); err != nil {
		return nil, err
	}
	if err := w.move(ctx, opening.HallCheckingIn); err != nil {
		return nil, err
	}
	secs, err := timeIt(func() error {
		return forEachBidder(ctx, n, plan.concurrency, "checked in", func(i int) error {
			return w.bidders[i].client.Do(ctx, http.MethodPost, w.hallPath("/checkins"), nil, nil)
		})
	})
	if err != nil {
		return nil, err
	}
	s.checkinsPerSec = float64(n) / secs
	if err := forEachBidder(ctx, n, plan.concurrency, "watching the hall live", func(i int) error {
		return w.watch(ctx, w.bidders[i])
	}); err != nil {
		w.close()
		return nil, err
	}
	if err := w.move(ctx, opening.HallDecrypting); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// arrivalOffsets draws when each of n bidders starts unlocking: uniformly over spread, or
// all at the start.
func arrivalOffsets(n int, spread time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	if spread > 0 {
		for i := range out {
			out[i] = rand.N(spread)
		}
	}
	return out
}

// randomBytes is n random bytes from a ChaCha8 stream seeded by crypto/rand: as
// incompressible as crypto/rand, and fast enough for thousands of bids.
func randomBytes(n int64) ([]byte, error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b, nil
}

// submitEnvelope seals plain as p's envelope of the given kind on the tender's first
// section and submits it as `kaiping bid submit` does, returning the sealed file's size.
// demoSubmit (demo_bids.go) is this for a summary, with the default HTTP client.
func submitEnvelope(ctx context.Context, t opening.Tender, p *demoParty, kind seal.EnvelopeKind, plain []byte, hc *http.Client) (int64, error) {
	to, err := sealRecipients(t, p.cert.Cert)
	if err != nil {
		return 0, err
	}
	var sealed bytes.Buffer
	b := seal.Binding{Tender: t.ID, Section: t.Sections[0].ID, Bidder: p.id, Kind: kind}
	if _, err := seal.Seal(&sealed, bytes.NewReader(plain), b, to, seal.WithSuite(seal.Suite(t.Suite))); err != nil {
		return 0, err
	}
	d, err := bidder.Digest(bytes.NewReader(sealed.Bytes()), seal.Suite(t.Suite))
	if err != nil {
		return 0, err
	}
	sub := bidder.NewSubmitter(p.client)
	sub.HTTP = hc
	if _, err := sub.Submit(ctx, string(t.ID), "BD1", string(kind), bytes.NewReader(sealed.Bytes()), d); err != nil {
		return 0, fmt.Errorf("%s submits its %s envelope: %w", p.name, kind, err)
	}
	return int64(sealed.Len()), nil
}

// forEachBidder runs f for 0..n-1, conc at a time, printing progress to stderr; the first
// error stops the rest from starting and is returned.
func forEachBidder(ctx context.Context, n, conc int, what string, f func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					cancel(err)
					return
				}
				if d := done.Add(1); d%int64(max(n/10, 1)) == 0 && n >= 100 {
					fmt.Fprintf(os.Stderr, "bench: %d/%d bidders %s (%.0f s)\n", d, n, what, time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// watch connects the bidder to the hall's live WebSocket and follows its view until the
// world closes, noting the first moment it shows every envelope decrypted. A connection the
// server drops is opened again at once, as the hall's page does (its first view brings the
// current state), and counted.
func (w *openingWorld) watch(ctx context.Context, b *openingBidder) error {
	d := websocket.Dialer{HandshakeTimeout: time.Minute, Subprotocols: []string{opening.LiveProtocol, opening.BearerProtocol + b.client.Token}}
	url := "ws" + strings.TrimPrefix(w.base, "http") + w.hallPath("/live")
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return fmt.Errorf("%s watches the hall: %w", b.name, err)
	}
	b.ws.Store(c)
	first := make(chan error, 1)
	go func() {
		got, seen := false, false
		for {
			_, data, err := c.ReadMessage()
			if !got {
				got = true
				first <- err
			}
			if err != nil {
				if w.closing.Load() || ctx.Err() != nil {
					return
				}
				b.reconnects.Add(1)
				if c, _, err = d.DialContext(ctx, url, nil); err != nil {
					err = fmt.Errorf("%s's live connection was dropped and could not be opened again: %w", b.name, err)
					b.failed.Store(&err)
					return
				}
				b.ws.Store(c)
				continue
			}
			if seen {
				continue
			}
			if kind, _ := messageHead(data); kind != opening.LiveView {
				continue
			}
			now := time.Now()
			var m struct {
				View opening.BidderHallView `json:"view"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				err = fmt.Errorf("%s's view: %w", b.name, err)
				b.failed.Store(&err)
				continue
			}
			envs := m.View.Envelopes
			if i := slices.IndexFunc(envs, func(e opening.UnlockStatus) bool { return e.State == opening.EnvCorrupt || e.State == opening.EnvError }); i >= 0 {
				err := fmt.Errorf("%s's %s envelope ended %s (%s)", b.name, envs[i].Kind, envs[i].State, envs[i].ErrorCode)
				b.failed.Store(&err)
			}
			if len(envs) > 0 && !slices.ContainsFunc(envs, func(e opening.UnlockStatus) bool { return e.State != opening.EnvDecrypted }) {
				seen, b.seenAt = true, now
				close(b.verified)
			}
		}
	}()
	return <-first
}

// close ends every live connection.
func (w *openingWorld) close() {
	w.closing.Store(true)
	for _, b := range w.bidders {
		if b == nil {
			continue
		}
		if c := b.ws.Load(); c != nil {
			c.Close()
		}
	}
}

// unlockAll has every bidder unlock from its offset on and waits until each sees its
// envelopes verified.
func (w *openingWorld) unlockAll(ctx context.Context, s *openingSample) error {
	start := time.Now()
	errs := make(chan error, len(w.bidders))
	for _, b := range w.bidders {
		go func() {
			if err := sleep(ctx, time.Until(start.Add(b.offset))); err != nil {
				errs <- err
				return
			}
			errs <- w.unlock(ctx, b)
		}()
	}
	for range w.bidders {
		if err := <-errs; err != nil {
			return err
		}
	}
	if err := w.waitVerified(ctx, 10*time.Minute+w.plan.spread); err != nil {
		return err
	}
	var first, last time.Time
	for _, b := range w.bidders {
		s.latencies = append(s.latencies, float64(b.seenAt.Sub(b.postAt).Microseconds())/1e3)
		s.retries += b.retries
		s.reconnects += int(b.reconnects.Load())
		if first.IsZero() || b.acceptedAt.Before(first) {
			first = b.acceptedAt
		}
		if b.seenAt.After(last) {
			last = b.seenAt
		}
	}
	s.oursSeconds = last.Sub(first).Seconds()
	s.unlockSeconds = last.Sub(start).Seconds()
	return nil
}

// waitVerified waits until every bidder has seen its envelopes verified, returning early
// with the first failure a bidder saw.
func (w *openingWorld) waitVerified(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, b := range w.bidders {
		for waiting := true; waiting; {
			select {
			case <-b.verified:
				waiting = false
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
				for _, o := range w.bidders {
					if err := o.failed.Load(); err != nil {
						return *err
					}
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%s's envelopes were not shown verified within %s", b.name, limit)
				}
			}
		}
	}
	return nil
}

// unlock does what `kaiping bid unlock` does for b: unwrap each file key and hand it in,
// waiting the server's hint and trying again while the queue is full.
func (w *openingWorld) unlock(ctx context.Context, b *openingBidder) error {
	keys, err := unwrapFileKeys(ctx, b.demoParty, w.hallPath(""))
	if err != nil {
		return err
	}
	for _, k := range keys {
		b.keys[k.Kind] = k.key
		for {
			if b.postAt.IsZero() {
				b.postAt = time.Now()
			}
			err := b.client.Do(ctx, http.MethodPost, w.hallPath("/unlocks"), opening.UnlockRequest{Envelope: k.Envelope, FileKey: k.key}, nil)
			if ae := (*apiclient.Error)(nil); errors.As(err, &ae) && ae.Code == "hall.busy" {
				b.retries++
				if err := sleep(ctx, w.busy); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("%s hands in its file key: %w", b.name, err)
			}
			if b.acceptedAt.IsZero() {
				b.acceptedAt = time.Now()
			}
			break
		}
	}
	return nil
}

// unwrappedKey is one of a bidder's envelopes with the file key it unwrapped locally.
type unwrappedKey struct {
	opening.EnvelopeHeader
	key []byte
}

// unwrapFileKeys fetches p's envelopes' headers from the hall and unwraps each file key
// with p's certificate key, as the bidder's tool does on its own machine. (demoUnlock and
// watchWorld.unlock do the same before handing the keys in.)
func unwrapFileKeys(ctx context.Context, p *demoParty, hall string) ([]unwrappedKey, error) {
	var envs struct{ Envelopes []opening.EnvelopeHeader }
	if err := p.client.Do(ctx, http.MethodGet, hall+"/envelopes", nil, &envs); err != nil {
		return nil, fmt.Errorf("%s's envelopes: %w", p.name, err)
	}
	id, err := seal.NewCertIdentity(p.cert.Cert, p.cert.Key)
	if err != nil {
		return nil, err
	}
	out := make([]unwrappedKey, 0, len(envs.Envelopes))
	for _, e := range envs.Envelopes {
		hdr, _, err := seal.ParseHeader(bytes.NewReader(e.Header))
		if err != nil {
			return nil, err
		}
		key, err := hdr.UnwrapFileKey(id)
		if err != nil {
			return nil, fmt.Errorf("%s unwraps its file key: %w", p.name, err)
		}
		out = append(out, unwrappedKey{EnvelopeHeader: e, key: key})
	}
	return out, nil
}

// publish has the host publish the record as soon as the last bidder saw its envelopes
// verified, then reads the board (the anchor) and has a bidder fetch the record.
func (w *openingWorld) publish(ctx context.Context, s *openingSample) error {
	var last time.Time
	for _, b := range w.bidders {
		if b.seenAt.After(last) {
			last = b.seenAt
		}
	}
	if err := w.move(ctx, opening.HallPublished); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	answered := time.Now()
	s.publishMs = float64(answered.Sub(last).Microseconds()) / 1e3
	var board opening.BoardView
	secs, err := timeIt(func() error { return w.host.client.Do(ctx, http.MethodGet, w.hallPath("/board"), nil, &board) })
	if err != nil {
		return err
	}
	s.boardMs = secs * 1e3
	if board.Decrypted != 2*len(w.bidders) {
		return fmt.Errorf("the board shows %d of %d envelopes decrypted", board.Decrypted, 2*len(w.bidders))
	}
	pr, rec, err := fetchRecord(ctx, w.bidders[0].client, w.hallPath(""))
	if err != nil {
		return fmt.Errorf("fetch the record: %w", err)
	}
	s.recordMs = float64(time.Since(answered).Microseconds()) / 1e3
	if len(rec.Bids) != len(w.bidders) || pr.Digest == "" {
		return fmt.Errorf("the record lists %d bids of %d", len(rec.Bids), len(w.bidders))
	}
	return nil
}

// confirmAll opens confirmation and has every bidder confirm the record as `kaiping record
// confirm` does.
func (w *openingWorld) confirmAll(ctx context.Context, s *openingSample) error {
	if err := w.move(ctx, opening.HallConfirming); err != nil {
		return err
	}
	secs, err := timeIt(func() error {
		return forEachBidder(ctx, len(w.bidders), w.plan.concurrency, "confirmed the record", func(i int) error {
			b := w.bidders[i]
			_, err := confirmRecord(ctx, b.client, b.cert.Key, w.hallPath(""), "", io.Discard)
			return err
		})
	})
	s.confirmsPerSec = float64(len(w.bidders)) / secs
	return err
}

// anchor decrypts the same envelopes the bare way: read with the server's own reader from
// the same MinIO, seal.Decrypt by as many workers as the server verifies with, each
// bidder's envelopes queued at its offset after the start.
func (w *openingWorld) anchor(ctx context.Context, srv *benchServers, s *openingSample) error {
	mc, err := srv.minio.Client()
	if err != nil {
		return err
	}
	type job struct {
		b            int
		key, version string
		fileKey      []byte
	}
	byID := map[kaiping.ID]int{}
	for i, b := range w.bidders {
		byID[b.id] = i
	}
	perBidder := make([][]job, len(w.bidders))
	bucket := srv.setup.Config.Blob.BidsBucket
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			return o.Err
		}
		// …/<bidder>/<kind>/<upload>.kpseal (opening/submit.go)
		parts := strings.Split(o.Key, "/")
		if len(parts) < 3 || !strings.HasSuffix(o.Key, ".kpseal") {
			continue
		}
		i, ok := byID[kaiping.ID(parts[len(parts)-3])]
		key := w.bidders[i].keys[parts[len(parts)-2]]
		if !ok || key == nil {
			return fmt.Errorf("object %s is no bidder's envelope", o.Key)
		}
		perBidder[i] = append(perBidder[i], job{b: i, key: o.Key, version: o.VersionID, fileKey: key})
	}
	jobs := make(chan job, 2*len(w.bidders))
	left := make([]atomic.Int32, len(w.bidders))
	doneAt := make([]time.Time, len(w.bidders))
	var total atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r, _, err := srv.app.Blob.GetVersion(ctx, bucket, j.key, j.version)
				if err == nil {
					var n int64
					n, err = decryptCounting(r, j.fileKey)
					r.Close()
					total.Add(n)
				}
				if err != nil {
					failed.Store(&err)
				}
				if left[j.b].Add(-1) == 0 {
					doneAt[j.b] = time.Now()
				}
			}
		}()
	}
	start := time.Now()
	order := make([]int, len(w.bidders))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(w.bidders[a].offset - w.bidders[b].offset) })
	arrived := make([]time.Time, len(w.bidders))
	for _, i := range order {
		if err := sleep(ctx, time.Until(start.Add(w.bidders[i].offset))); err != nil {
			close(jobs)
			wg.Wait()
			return err
		}
		arrived[i] = time.Now()
		left[i].Store(int32(len(perBidder[i])))
		for _, j := range perBidder[i] {
			jobs <- j
		}
	}
	close(jobs)
	wg.Wait()
	if err := failed.Load(); err != nil {
		return *err
	}
	if total.Load() != s.bytes {
		return fmt.Errorf("decrypted %d envelope bytes, the opening verified %d", total.Load(), s.bytes)
	}
	var last time.Time
	for i := range w.bidders {
		s.anchorLatencies = append(s.anchorLatencies, float64(doneAt[i].Sub(arrived[i]).Microseconds())/1e3)
		if doneAt[i].After(last) {
			last = doneAt[i]
		}
	}
	s.anchorSeconds = last.Sub(start).Seconds()
	return nil
}

// decryptCounting decrypts a sealed envelope to nothing and returns the sealed bytes read.
func decryptCounting(r io.Reader, fileKey []byte) (int64, error) {
	cr := &countingReader{r: r}
	_, err := seal.Decrypt(io.Discard, cr, fileKey)
	return cr.n, err
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cpuSeconds is CPU time (user and system) by process name.
type cpuSeconds map[string]float64

// treeCPU is the CPU time so far of this process (the kaiping server and the bidders) and
// of its descendants by name: PostgreSQL's backends, MinIO. It reads /proc (nothing where
// there is none) and assumes 100 clock ticks a second, Linux's USER_HZ.
func treeCPU() cpuSeconds {
	type proc struct {
		ppid  int
		name  string
		ticks float64
	}
	procs := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if err != nil || open < 0 || end < open {
			continue
		}
		// After "pid (comm)": state ppid … utime (14th field) stime (15th).
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		procs[pid] = proc{ppid: ppid, name: string(b[open+1 : end]), ticks: utime + stime}
	}
	self := os.Getpid()
	out := cpuSeconds{}
	for pid, p := range procs {
		for a := pid; a > 1; a = procs[a].ppid {
			if a == self {
				name := p.name
				if pid == self {
					name = "kaiping"
				}
				out[name] += p.ticks / 100
				break
			}
			if _, ok := procs[a]; !ok {
				break
			}
		}
	}
	return out
}

// since is the CPU time used from before to c, by name.
func (c cpuSeconds) since(before cpuSeconds) cpuSeconds {
	out := cpuSeconds{}
	for name, t := range c {
		out[name] = t - before[name]
	}
	return out
}

// String lists the names by CPU time, largest first.
func (c cpuSeconds) String() string {
	names := make([]string, 0, len(c))
	for name := range c {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(c[b], c[a]) })
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %.1f", name, c[name])
	}
	if len(parts) == 0 {
		return "not measured (no /proc)"
	}
	return strings.Join(parts, ", ")
}

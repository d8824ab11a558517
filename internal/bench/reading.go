package bench

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/opening/seal"
)

// readingAnchorName names the anchor of the reading figures.
const readingAnchorName = "seal.Decrypt of the same envelopes straight from a MinIO GetObject into io.Discard, same file keys, same members at once"

// readingGoal: a member streams an opened bid at least 0.8× as fast as seal's own decryption
// of it from the same storage (BENCHMARKS.md).
var readingGoal = &benchGoal{MinRatio: 0.8}

func benchReadingCommand() *cli.Command {
	return &cli.Command{
		Name: "reading",
		Usage: "evaluation committee members streaming opened bids at once through opening.OpenedBids.Read (ledger, key unwrap, " +
			"storage, decryption): MB/s per member against seal.Decrypt of the same envelopes from the same MinIO",
		Flags: append(benchFlags("200MiB"),
			&cli.IntFlag{Name: "members", Value: 9, Usage: "committee members reading at once, each its own bidder's technical envelope"}),
		Action: benchReading,
	}
}

// readingEnvelope is one member's bid: the technical envelope it reads, where it is stored
// and, for the anchor only, its file key as the bidder handed it in.
type readingEnvelope struct {
	id           kaiping.ID
	key, version string
	fileKey      []byte
}

func benchReading(ctx context.Context, cmd *cli.Command) error {
	b, cleanup, err := newBenchSetup(cmd)
	if err != nil {
		return err
	}
	defer cleanup()
	members := int(cmd.Int("members"))
	if members < 1 {
		return kaiping.Errorf(kaiping.KindInvalid, "bench.members", "--members 须至少为 1，收到 %d", members)
	}
	clock := kaiping.NewManualClock(time.Now())
	srv, stop, err := startBenchServers(ctx, b.dir, app.WithClock(clock))
	if err != nil {
		return err
	}
	defer stop()
	envs, host, err := openedReadingBids(ctx, b, srv, clock, members)
	if err != nil {
		return err
	}
	// The host stands in for a committee member: who may read is the evaluation's to check.
	reader := kaiping.ActorAt(host, netip.MustParseAddr("127.0.0.1"), clock.Now())
	ours := func(e readingEnvelope) (int64, error) {
		r, err := srv.app.OpenedBids.Read(ctx, reader, e.id)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		return io.Copy(io.Discard, r)
	}
	bucket := srv.setup.Config.Blob.BidsBucket
	anchor := func(e readingEnvelope) (int64, error) {
		r, _, err := srv.app.Blob.GetVersion(ctx, bucket, e.key, e.version)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		res, err := seal.Decrypt(io.Discard, r, e.fileKey)
		if err != nil {
			return 0, err
		}
		return res.PlaintextSize, nil
	}
	var oursRuns, anchorRuns, oursAll, anchorAll []float64
	for run := range b.runs {
		// Alternate which side goes first, so neither always finds the caches warm.
		sides := []*[]float64{&anchorRuns, &oursRuns}
		fs := []func(readingEnvelope) (int64, error){anchor, ours}
		totals := []*[]float64{&anchorAll, &oursAll}
		if run%2 == 1 {
			slices.Reverse(sides)
			slices.Reverse(fs)
			slices.Reverse(totals)
		}
		for i := range fs {
			per, total, err := readAtOnce(envs, b.size, fs[i])
			if err != nil {
				return fmt.Errorf("run %d: %w", run+1, err)
			}
			*sides[i] = append(*sides[i], medianOf(per))
			*totals[i] = append(*totals[i], total)
		}
		fmt.Fprintf(os.Stderr, "bench: reading run %d/%d: %.1f MB/s per member (anchor %.1f), %.1f MB/s in all (anchor %.1f)\n",
			run+1, b.runs, oursRuns[run], anchorRuns[run], oursAll[run], anchorAll[run])
	}
	r := b.result(fmt.Sprintf("Reading bids: %d committee members each streaming a bid at once (size: each bid's plaintext)", members), fmt.Sprintf(
		"PostgreSQL, MinIO and a kaiping server in the benchmark's process on loopback. Not timed: an opening of %d bidders (each seals a summary and a technical envelope of %s "+
			"of random bytes and uploads it; all hand in their file keys; the record is published). Timed, for each side, %d members start at once, each reading its own bidder's "+
			"technical envelope to io.Discard, and each member's MB/s is the plaintext over its own time; the figure is the median member of each run, then the median over the runs. "+
			"Ours: opening.OpenedBids.Read (the envelope, hall, tender and record read from PostgreSQL, the bid.read ledger entry committed, the file key unwrapped by the KEK, the object "+
			"opened from MinIO, its header checked against the bid) then io.Copy from the stream (every chunk authenticated). "+
			"Anchor: seal.Decrypt straight from a MinIO GetObject of the same object version with the file key the bidder handed in. seal.Decrypt also hashes the plaintext (its Result's digest), which Read does not: the stream is authenticated chunk by chunk and its length checked against the opening's. The sides alternate which goes first. "+
			"No HTTP on either side (the evaluation's routes serve the stream).",
		max(members, 3), formatSize(b.size), members))
	r.Figures = append(r.Figures,
		newFigure(fmt.Sprintf("reading an opened bid, %d members at once, per member", members), "MB/s", readingAnchorName, "median", oursRuns, anchorRuns, readingGoal),
		newFigure(fmt.Sprintf("reading opened bids, %d members at once, all together", members), "MB/s", readingAnchorName, "median", oursAll, anchorAll, nil))
	return emitResult(cmd, r)
}

// openedReadingBids runs an opening of max(members, 3) bidders whose technical envelopes
// hold size bytes, publishes its record, and returns the technical envelope each member
// reads, and the host's ID.
func openedReadingBids(ctx context.Context, b *benchSetup, srv *benchServers, clock *kaiping.ManualClock, members int) ([]readingEnvelope, kaiping.ID, error) {
	var s openingSample
	plan := openingPlan{bidSize: b.size, concurrency: 2}
	w, err := newOpeningWorld(ctx, b.path("opening"), srv, clock, max(members, 3), plan, &s)
	if err != nil {
		return nil, "", err
	}
	defer w.close()
	if err := w.unlockAll(ctx, &s); err != nil {
		return nil, "", err
	}
	if err := w.publish(ctx, &s); err != nil {
		return nil, "", err
	}
	opened, err := srv.app.OpenedBids.List(ctx, w.tender.Sections[0].ID)
	if err != nil {
		return nil, "", err
	}
	out := make([]readingEnvelope, members)
	for i := range out {
	find:
		for _, o := range opened {
			if o.Bidder == w.bidders[i].ID && o.Kind == string(seal.Technical) {
				out[i] = readingEnvelope{id: o.Envelope, fileKey: w.bidders[i].keys[o.Kind]}
				break find
			}
		}
		if out[i].id == "" {
			return nil, "", fmt.Errorf("%s's technical envelope is not among the opened bids", w.bidders[i].Name)
		}
		if err := srv.app.DB.Pool.QueryRow(ctx, `SELECT object_key, object_version FROM bid_envelopes WHERE id = $1`,
			out[i].id).Scan(&out[i].key, &out[i].version); err != nil {
			return nil, "", err
		}
	}
	return out, w.host.ID, nil
}

// readAtOnce has one goroutine a member read its envelope with read, all starting
// together, and returns each member's MB/s and all of them together.
func readAtOnce(envs []readingEnvelope, size int64, read func(readingEnvelope) (int64, error)) (perMember []float64, total float64, err error) {
	perMember = make([]float64, len(envs))
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, e := range envs {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			n, err := read(e)
			switch {
			case err != nil:
				errs[i] = err
			case n != size:
				errs[i] = fmt.Errorf("read %d bytes of envelope %s, want %d", n, e.id, size)
			}
			perMember[i] = float64(n) / time.Since(t0).Seconds() / 1e6
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began).Seconds()
	for _, err := range errs {
		if err != nil {
			return nil, 0, err
		}
	}
	return perMember, float64(size) * float64(len(envs)) / elapsed / 1e6, nil
}

package bench

import (
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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/internal/sim"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// openingWorld is an opening in its decrypt window: n bidders checked in, each watching
// the hall live.
type openingWorld struct {
	base    string
	tender  opening.Tender
	host    *sim.Party
	bidders []*openingBidder
	plan    openingPlan
	busy    time.Duration // the server's retry hint with hall.busy
	closing atomic.Bool   // set once the live connections are being closed on purpose
}

// openingBidder is one simulated bidder and what happened to it.
type openingBidder struct {
	*sim.Party
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
	return w.host.Client.Do(ctx, http.MethodPost, w.hallPath("/transitions"), opening.TransitionRequest{To: to}, nil)
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
	if w.host, err = sim.NewParty(ctx, w.base, parties, srv.setup, admin, devpki.SM2, "性能测试主持人", kaiping.RoleHost); err != nil {
		return nil, err
	}
	w.host.Client.HTTP = shared
	// The least lead the platform takes is a minute; the sessions (30 minutes) outlive the
	// jump of the clock past it and the sealing grace.
	deadline := clock.Now().Add(2 * time.Minute).Truncate(time.Second)
	if err := w.host.Client.Do(ctx, http.MethodPost, "/api/v1/tenders", opening.Tender{
		Code: "BENCH-OPEN-" + string(kaiping.NewID())[:8], Title: fmt.Sprintf("性能测试：%d 家投标人不见面开标", n), Tenderer: "性能测试招标人",
		Deadline: deadline, Plan: opening.SingleEnvelope, Suite: string(seal.AES256GCM), CheckInMinutes: 1,
		// Room for the sealed technical envelope: its plaintext, a tag a chunk and the header.
		MaxEnvelopeBytes: max(opening.DefaultMaxEnvelope, plan.bidSize+plan.bidSize/1024+1<<20),
		SummaryFields:    []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
		Sections:         []opening.Section{{Code: "BD1", Name: "一标段"}},
	}, &w.tender); err != nil {
		return nil, fmt.Errorf("create tender: %w", err)
	}
	if err := admin.AssignStaff(ctx, w.tender.ID, kaiping.DutyHost, w.host.ID); err != nil {
		return nil, err
	}
	offsets := arrivalOffsets(n, plan.spread)
	w.bidders = make([]*openingBidder, n)
	var sealedBytes atomic.Int64
	err = forEachBidder(ctx, n, plan.concurrency, "registered, sealed and submitted", func(i int) error {
		name := fmt.Sprintf("性能测试投标人%05d", i+1)
		p, err := sim.NewParty(ctx, w.base, parties, srv.setup, admin, devpki.ECDSA, name, kaiping.RoleBidder)
		if err != nil {
			return err
		}
		p.Client.HTTP = shared
		w.bidders[i] = &openingBidder{Party: p, offset: offsets[i], verified: make(chan struct{}), keys: map[string][]byte{}}
		if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/registrations",
			opening.RegisterRequest{Certificate: identity.Fingerprint(p.Cert.Cert.Raw)}, nil); err != nil {
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
			_, size, err := sim.SubmitEnvelope(ctx, w.tender, p, env.kind, env.plain, shared)
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
	clock.Set(deadline.Add(opening.SealSettle))
	if _, err := srv.app.Submit.SealDue(ctx); err != nil {
		return nil, err
	}
	if err := w.move(ctx, opening.HallCheckingIn); err != nil {
		return nil, err
	}
	secs, err := timeIt(func() error {
		return forEachBidder(ctx, n, plan.concurrency, "checked in", func(i int) error {
			return w.bidders[i].Client.Do(ctx, http.MethodPost, w.hallPath("/checkins"), nil, nil)
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
	clock.Advance(time.Duration(w.tender.CheckInMinutes) * time.Minute) // the check-in period runs out
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
	d := websocket.Dialer{HandshakeTimeout: time.Minute, Subprotocols: []string{opening.LiveProtocol, httpapi.BearerProtocol + b.Client.Token}}
	url := "ws" + strings.TrimPrefix(w.base, "http") + w.hallPath("/live")
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return fmt.Errorf("%s watches the hall: %w", b.Name, err)
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
					err = fmt.Errorf("%s's live connection was dropped and could not be opened again: %w", b.Name, err)
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
				err = fmt.Errorf("%s's view: %w", b.Name, err)
				b.failed.Store(&err)
				continue
			}
			envs := m.View.Envelopes
			if i := slices.IndexFunc(envs, func(e opening.UnlockStatus) bool { return e.State == opening.EnvCorrupt || e.State == opening.EnvError }); i >= 0 {
				err := fmt.Errorf("%s's %s envelope ended %s (%s)", b.Name, envs[i].Kind, envs[i].State, envs[i].ErrorCode)
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
			if err := iox.Sleep(ctx, time.Until(start.Add(b.offset))); err != nil {
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
					return fmt.Errorf("%s's envelopes were not shown verified within %s", b.Name, limit)
				}
			}
		}
	}
	return nil
}

// unlock does what `kaiping bid unlock` does for b: unwrap each file key and hand it in,
// waiting the server's hint and trying again while the queue is full.
func (w *openingWorld) unlock(ctx context.Context, b *openingBidder) error {
	keys, err := sim.UnwrapFileKeys(ctx, b.Party, w.hallPath(""))
	if err != nil {
		return err
	}
	for _, k := range keys {
		b.keys[k.Kind] = k.Key
		for {
			if b.postAt.IsZero() {
				b.postAt = time.Now()
			}
			err := b.Client.Do(ctx, http.MethodPost, w.hallPath("/unlocks"), opening.UnlockRequest{Envelope: k.Envelope, FileKey: k.Key}, nil)
			if ae := (*apiclient.Error)(nil); errors.As(err, &ae) && ae.Code == "hall.busy" {
				b.retries++
				if err := iox.Sleep(ctx, w.busy); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("%s hands in its file key: %w", b.Name, err)
			}
			if b.acceptedAt.IsZero() {
				b.acceptedAt = time.Now()
			}
			break
		}
	}
	return nil
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
	secs, err := timeIt(func() error { return w.host.Client.Do(ctx, http.MethodGet, w.hallPath("/board"), nil, &board) })
	if err != nil {
		return err
	}
	s.boardMs = secs * 1e3
	if board.Decrypted != 2*len(w.bidders) {
		return fmt.Errorf("the board shows %d of %d envelopes decrypted", board.Decrypted, 2*len(w.bidders))
	}
	pr, rec, err := bidder.FetchRecord(ctx, w.bidders[0].Client, w.hallPath(""))
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
			_, err := bidder.ConfirmRecord(ctx, b.Client, b.Cert.Key, w.hallPath(""), "", io.Discard)
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
		byID[b.ID] = i
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
		if err := iox.Sleep(ctx, time.Until(start.Add(w.bidders[i].offset))); err != nil {
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

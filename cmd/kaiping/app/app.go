// Package app wires the kaiping server together: configuration, PostgreSQL, object storage,
// the audit ledger, identity and every domain's routes on one fiber app. cmd/kaiping's main
// only parses flags and calls it; end-to-end tests start it on 127.0.0.1:0.
package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/notice"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/pdfdoc"
	"github.com/kaiping/kaiping/signaling/recorder"
	"github.com/kaiping/kaiping/storage/blob"
	"github.com/kaiping/kaiping/storage/kek"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
	"github.com/kaiping/kaiping/timekeeping/clocksync"
	"github.com/kaiping/kaiping/timekeeping/tsa"
)

// App is a running kaiping server.
type App struct {
	cfg      Config
	log      *slog.Logger
	clock    kaiping.Clock
	registry *prometheus.Registry
	// hallConfig tunes the opening hall (WithHallConfig).
	hallConfig opening.HallConfig
	// liveConfig tunes the halls' live connections (WithLiveConfig).
	liveConfig opening.LiveConfig

	DB       *postgres.DB
	Blob     *blob.Store
	Ledger   *ledger.Ledger
	Identity *identity.Service
	Opening  *opening.Service
	Submit   *opening.Submission
	Hall     *opening.Hall
	// KEK wraps the file keys kept after the opening (kek section of the configuration);
	// FileKeys re-wraps (rotation) and destroys them.
	KEK      *kek.Keyring
	FileKeys *opening.FileKeys
	closeKEK func() error
	// Records exports every published opening record to the archive bucket (PDF and JSON).
	Records *opening.RecordExporter
	// OpenedBids streams the opened bids, decrypted, to the evaluation committee (its
	// routes and who may read are the evaluation's).
	OpenedBids *opening.OpenedBids
	// Live pushes the halls to browsers over WebSocket; notices tells it (and any other
	// live hub, one channel each) of changes committed by any process on the database.
	Live    *opening.HallLive
	notices *postgres.Listener
	// SessionLive pushes the evaluation sessions the same way.
	SessionLive *evaluation.SessionLive
	// Evaluation is the expert pool, the draw, venues and seats.
	Evaluation *evaluation.Service
	// Publications publishes the candidates after a session's report (中标候选人公示) and
	// takes the objections to them.
	Publications *evaluation.Publications
	// Inbox keeps every principal's notices (站内通知) and queues them for e-mail and the
	// SMS/voice gateway; Outbox delivers that queue with retries.
	Inbox  *notice.Service
	Outbox *notice.Worker
	// Media is the media plane (media.backend): rooms of live audio and video on the
	// embedded SFU (*embedded.Server) or a LiveKit server (*livekit.Client).
	Media MediaBackend
	// Recorder records rooms into the archive bucket (a hidden participant).
	Recorder *recorder.Recorder
	// Revocations are the CAs' revocation lists (auth.crls), refreshed by a job.
	Revocations *identity.RevocationLists
	// TimeStamps has receipts and records time-stamped by the configured TSA (timestamp).
	TimeStamps *opening.TimeStamps
	// ClockSync checks the server's clock (clock.check); nil when the check is off.
	ClockSync *clocksync.Monitor

	// completedHook, if set, runs inside the bids bucket's multipart completion, after
	// storage completed it (withCompletedHook; tests crash the server there).
	completedHook func(ctx context.Context, key string) error

	// proxies are the trusted load balancers (trusted_proxies) whose X-Forwarded-For
	// names the client address the ledger records.
	proxies httpapi.TrustedProxies

	// internal serves /metrics and the detailed /readyz on internalLn (internal_listen),
	// opened by New so that a taken port fails the start, not the first scrape.
	internal   *fiber.App
	internalLn net.Listener
	// internalServing is the operations server's goroutine: a server like the public one,
	// not one of the jobs (tests stop the jobs and go on serving).
	internalServing sync.WaitGroup

	fiber  *fiber.App
	Routes httpapi.Registry
	ln     net.Listener
	stop   context.CancelFunc // stops the background jobs Serve started
	jobs   sync.WaitGroup
	// mu orders Serve and Shutdown, which run on different goroutines: a Shutdown that
	// comes first (a test failing at once) makes a later Serve refuse to start anything.
	mu       sync.Mutex
	shutDown bool
}

// The sealer sleeps until the next deadline (plus opening.SealSettle) but never longer
// than sealIdle, so that a tender created meanwhile with an earlier deadline is not missed;
// while a section waits on completions that arrived before its deadline it looks every
// sealPoll.
const (
	sealIdle = time.Second
	sealPoll = 200 * time.Millisecond
)

// exportInterval is how often the server looks for published records to archive.
const exportInterval = time.Second

// Option tunes an App.
type Option func(*App)

// WithClock replaces the wall clock (tests stand at a deadline with it).
func WithClock(c kaiping.Clock) Option { return func(a *App) { a.clock = c } }

// WithLogger replaces the logger built from the configuration.
func WithLogger(l *slog.Logger) Option { return func(a *App) { a.log = l } }

// WithHallConfig tunes the opening hall (tests shrink its queue).
func WithHallConfig(c opening.HallConfig) Option { return func(a *App) { a.hallConfig = c } }

// WithLiveConfig tunes the halls' live connections (the watchers benchmark raises the
// limit of connections per principal).
func WithLiveConfig(c opening.LiveConfig) Option { return func(a *App) { a.liveConfig = c } }

// withCompletedHook runs hook inside the bids bucket's multipart completion, after storage
// completed it and before the server goes on (tests stop the server there, as a crash would).
func withCompletedHook(hook func(ctx context.Context, key string) error) Option {
	return func(a *App) { a.completedHook = hook }
}

// WithRegistry replaces the Prometheus registry.
func WithRegistry(r *prometheus.Registry) Option { return func(a *App) { a.registry = r } }

// New connects to PostgreSQL and object storage, migrates if configured, makes sure the
// locked buckets and the first administrator exist, and builds the HTTP routes. It fails with
// a clear error if a dependency cannot be reached: a trading platform that starts without its
// database would only fail later, in front of bidders.
func New(ctx context.Context, cfg Config, opts ...Option) (*App, error) {
	a := &App{cfg: cfg, clock: kaiping.SystemClock{}, hallConfig: opening.DefaultHallConfig, liveConfig: opening.DefaultLiveConfig}
	for _, o := range opts {
		o(a)
	}
	if a.log == nil {
		a.log = NewLogger(cfg.Log, os.Stderr)
	}
	if a.registry == nil {
		a.registry = prometheus.NewRegistry()
	}
	ok := false
	defer func() {
		if !ok {
			a.close()
		}
	}()

	if cfg.Database.Migrate {
		v, err := postgres.Migrate(ctx, cfg.Database.URL)
		if err != nil {
			return nil, fmt.Errorf("migrate PostgreSQL at %s: %w", redact(cfg.Database.URL), err)
		}
		a.log.Info("database schema ready", "version", v)
	}
	var err error
	if a.proxies, err = httpapi.ParseTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	if a.DB, err = postgres.Open(ctx, cfg.Database.URL, cfg.Database.MaxConns); err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", redact(cfg.Database.URL), err)
	}
	if a.Blob, err = blob.New(blob.Config{
		Endpoint: cfg.Blob.Endpoint, AccessKey: cfg.Blob.AccessKey, SecretKey: cfg.Blob.SecretKey,
		Region: cfg.Blob.Region, Secure: cfg.Blob.Secure,
	}); err != nil {
		return nil, fmt.Errorf("object storage: %w", err)
	}
	for _, b := range []string{cfg.Blob.BidsBucket, cfg.Blob.ArchiveBucket} {
		if err := a.Blob.EnsureBucket(ctx, b); err != nil {
			return nil, fmt.Errorf("object storage at %s, bucket %s: %w", cfg.Blob.Endpoint, b, err)
		}
	}

	keyPEM, err := os.ReadFile(cfg.Ledger.SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("ledger.signing_key_file: %w", err)
	}
	signer, err := ledger.ParseSigner(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ledger.signing_key_file %s: %w", cfg.Ledger.SigningKeyFile, err)
	}
	a.Ledger = ledger.New(signer, cfg.Ledger.Origin)

	// Without its KEK the server could only keep file keys in the clear: it does not start.
	if a.KEK, a.closeKEK, err = cfg.OpenKEK(); err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}

	if cfg.Clock.Check {
		// Before anything takes the clock: every deadline judgement asks it.
		a.ClockSync = clocksync.New(clocksync.Config{Servers: cfg.Clock.NTPServers, MaxOffset: time.Duration(cfg.Clock.MaxOffset),
			RequireKernelSync: cfg.Clock.RequireKernelSync, Interval: time.Duration(cfg.Clock.Interval)}, clocksync.Adjtimex{}, a.log)
		a.ClockSync.Check(ctx)
		a.clock = kaiping.CheckedClock{Clock: a.clock, Health: a.ClockSync}
	}
	if a.Revocations, err = newRevocationLists(ctx, cfg.Auth, a.clock, a.log); err != nil {
		return nil, err
	}
	if a.Identity, err = newIdentity(ctx, cfg.Auth, a.DB, a.Ledger, a.clock, identity.WithRevocationLists(a.Revocations)); err != nil {
		return nil, err
	}
	openingStore := postgres.NewOpeningStore(a.DB, a.Ledger)
	a.Routes.Staff = openingStore // who is assigned to which tender, for every tender-scoped route
	// Refused attempts at legally significant actions (Route.Ledgered), coalesced per minute.
	a.Routes.Refusals = postgres.NewRefusalLog(a.DB, a.Ledger, a.clock, a.log)
	a.Opening = opening.NewService(openingStore, a.clock)
	a.Opening.CheckCertificatesWith(a.Identity)
	a.FileKeys = opening.NewFileKeys(openingStore, a.KEK, a.clock)
	// Keys an installation older than key wrapping stored in the clear are wrapped before
	// anything reads them (migration 012 could not: the KEK is not in the database).
	if w, err := a.FileKeys.WrapLegacy(ctx); err != nil {
		return nil, fmt.Errorf("wrap legacy file keys: %w", err)
	} else if w.Keys > 0 {
		a.log.Warn("wrapped file keys stored in the clear by an older version; VACUUM hall_envelopes and retire old backups",
			"keys", w.Keys, "kek", w.KEK)
	}
	submitConfig := opening.DefaultSubmitConfig
	submitConfig.MaxOpenUploads = cfg.Submission.MaxOpenUploads
	a.Submit = opening.NewSubmission(openingStore,
		bidObjects{store: a.Blob, bucket: cfg.Blob.BidsBucket, completed: a.completedHook}, a.clock, a.log, submitConfig)
	if a.TimeStamps, err = newTimeStamps(cfg.TimeStamp, openingStore, a.clock, a.log); err != nil {
		return nil, err
	}
	a.Submit.StampWith(a.TimeStamps)
	openBid := func(ctx context.Context, key, version string) (io.ReadCloser, error) {
		r, _, err := a.Blob.GetVersion(ctx, cfg.Blob.BidsBucket, key, version)
		return r, err
	}
	a.Hall = opening.NewHall(openingStore, openBid, a.KEK, a.clock, a.log, a.hallConfig)
	a.OpenedBids = opening.NewOpenedBids(openingStore, openBid, a.KEK, a.log)
	a.Hall.CheckStorageWith(a.Blob.Ping)
	fonts, err := pdfdoc.LoadFonts(pdfdoc.DefaultCJKFont, pdfdoc.DefaultLatinFont)
	if err != nil {
		return nil, fmt.Errorf("opening record PDF: %w", err)
	}
	a.Records = opening.NewRecordExporter(openingStore, archiveObjects{store: a.Blob, bucket: cfg.Blob.ArchiveBucket,
		period: blob.Period{Years: cfg.Blob.ArchiveRetentionYears}}, fonts, a.clock, a.log)
	a.Hall.ExportRecords(a.Records)
	a.TimeStamps.StampRecordsOf(a.Records)
	a.notices = postgres.NewListener(cfg.Database.URL, a.log)
	a.Live = opening.NewHallLive(a.Hall, a.Identity, openingStore, a.notices.Channel(postgres.HallChannel), a.clock, a.log, a.liveConfig)
	senders, err := notifyChannels(cfg.Notify, a.clock)
	if err != nil {
		return nil, err
	}
	noticeStore := postgres.NewNoticeStore(a.DB)
	a.Inbox = notice.NewService(noticeStore, a.clock, a.log, slices.Collect(maps.Keys(senders))...)
	a.Outbox = notice.NewWorker(noticeStore, senders, a.clock, a.log, cfg.Notify.worker())
	a.Evaluation = evaluation.NewService(postgres.NewEvaluationStore(a.DB, a.Ledger),
		expertNotices{notices: a.Inbox, log: a.log}, a.clock, a.log, cfg.Evaluation.rules())
	a.Evaluation.ReadBidsFrom(committeeBids{bids: a.OpenedBids})
	a.Evaluation.ReviewRecordsFrom(committeeRecords{store: openingStore})
	a.Evaluation.ReportWith(evaluation.Papers{Fonts: fonts}, archiveObjects{store: a.Blob, bucket: cfg.Blob.ArchiveBucket,
		period: blob.Period{Years: cfg.Blob.ArchiveRetentionYears}})
	a.Publications = evaluation.NewPublications(postgres.NewEvaluationStore(a.DB, a.Ledger), a.clock, cfg.Evaluation.rules())
	a.Publications.CandidatesFrom(a.Evaluation.ReportCandidates)
	a.SessionLive = evaluation.NewSessionLive(a.Evaluation, a.Identity, openingStore, a.notices.Channel(postgres.SessionChannel),
		a.clock, a.log, a.liveConfig)
	if a.Media, err = a.newMedia(cfg); err != nil {
		return nil, err
	}
	// An embedded SFU is this process's own: a hall grant points here (opening/hall_media.go).
	a.Hall.StreamWith(a.Media)
	a.Evaluation.StreamWith(a.Media) // a recorded room per committee group (evaluation/session_media.go)
	a.fiber = a.newFiber()
	a.Routes.Mount(a.fiber, a.Identity, append(append(a.Hall.RoundRoutes(), a.Records.Routes()...), a.Records.PublicRoutes()...)...)
	if cfg.InternalListen != "" {
		a.internal = a.newInternalFiber()
		if a.internalLn, err = net.Listen("tcp", cfg.InternalListen); err != nil {
			return nil, fmt.Errorf("internal_listen: %w", err)
		}
	}
	ok = true
	return a, nil
}

// newRevocationLists loads the CAs' revocation lists (auth.crls). A list that cannot be had
// at start-up does not stop the server: its CA's certificates are refused
// (auth.revocation_unknown) until the refresh job gets it.
func newRevocationLists(ctx context.Context, cfg AuthConfig, clock kaiping.Clock, log *slog.Logger) (*identity.RevocationLists, error) {
	var sources []identity.CRLSource
	for i, c := range cfg.CRLs {
		b, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("auth.crls[%d].ca: %w", i, err)
		}
		roots, err := identity.ParseCARoots(b)
		if err != nil || roots.Len() != 1 {
			return nil, fmt.Errorf("auth.crls[%d].ca %s: one CA certificate is needed (%v)", i, c.CA, err)
		}
		sources = append(sources, identity.CRLSource{CA: roots.Certificates()[0], Location: c.URL})
	}
	r := identity.NewRevocationLists(sources, time.Duration(cfg.CRLGrace), clock, log)
	if err := r.Refresh(ctx); err != nil {
		log.Error("certificate revocation lists not loaded: those CAs' certificates are refused until they are", "err", err)
	}
	return r, nil
}

func newIdentity(ctx context.Context, cfg AuthConfig, db *postgres.DB, l *ledger.Ledger, clock kaiping.Clock, opts ...identity.Option) (*identity.Service, error) {
	var pems [][]byte
	for _, f := range cfg.CARoots {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("auth.ca_roots: %w", err)
		}
		pems = append(pems, b)
	}
	roots, err := identity.ParseCARoots(pems...)
	if err != nil {
		return nil, fmt.Errorf("auth.ca_roots: %w", err)
	}
	secret, err := os.ReadFile(cfg.SessionSecretFile)
	if err != nil {
		return nil, fmt.Errorf("auth.session_secret_file: %w", err)
	}
	tokens, err := identity.NewTokens([]byte(strings.TrimSpace(string(secret))))
	if err != nil {
		return nil, fmt.Errorf("auth.session_secret_file %s: %w", cfg.SessionSecretFile, err)
	}
	opts = append([]identity.Option{identity.WithStatusCache(time.Duration(cfg.StatusCacheTTL)),
		identity.WithThrottle(identity.Throttle{Window: time.Duration(cfg.ThrottleWindow),
			MaxPerAddress: cfg.MaxFailuresPerAddress, MaxPerCertificate: cfg.MaxFailuresPerCertificate})}, opts...)
	svc := identity.NewService(postgres.NewIdentityStore(db, l), roots, tokens, clock,
		time.Duration(cfg.SessionTTL), time.Duration(cfg.NonceTTL), opts...)
	if b := cfg.BootstrapAdmin; b.CertificateFile != "" {
		certPEM, err := os.ReadFile(b.CertificateFile)
		if err != nil {
			return nil, fmt.Errorf("auth.bootstrap_admin.certificate_file: %w", err)
		}
		if _, err := svc.EnsureAdmin(ctx, b.Name, b.Org, certPEM); err != nil {
			return nil, fmt.Errorf("auth.bootstrap_admin: %w", err)
		}
	}
	return svc, nil
}

// newTimeStamps is the time-stamping of receipts and records by the configured TSA; with
// none configured it stamps nothing.
func newTimeStamps(cfg TimeStampConfig, store opening.TimeStampStore, clock kaiping.Clock, log *slog.Logger) (*opening.TimeStamps, error) {
	if cfg.URL == "" {
		return opening.NewTimeStamps(nil, store, clock, log, 0), nil
	}
	pemData, err := os.ReadFile(cfg.CertificateFile)
	if err != nil {
		return nil, fmt.Errorf("timestamp.certificate_file: %w", err)
	}
	roots, err := tsa.ParseRoots(pemData)
	if err != nil {
		return nil, fmt.Errorf("timestamp.certificate_file %s: %w", cfg.CertificateFile, err)
	}
	return opening.NewTimeStamps(tsa.NewClient(cfg.URL, roots, time.Duration(cfg.Timeout)), store, clock, log,
		time.Duration(cfg.ReceiptWait)), nil
}

// Listen opens the configured listen address.
func (a *App) Listen() (net.Listener, error) {
	return net.Listen("tcp", a.cfg.Listen)
}

// Serve answers HTTP on ln until Shutdown.
func (a *App) Serve(ln net.Listener) error {
	a.mu.Lock()
	if a.shutDown {
		a.mu.Unlock()
		return errors.New("kaiping: Serve after Shutdown")
	}
	a.ln = ln
	ctx, stop := context.WithCancel(context.Background())
	a.stop = stop
	a.jobs.Go(func() { a.sealBidSets(ctx) })
	// Matches the bids bucket against the database, at start and periodically.
	a.jobs.Go(func() { a.Submit.RunReconciler(ctx) })
	a.jobs.Go(func() { a.Hall.Run(ctx) })
	// Stores what a crash left in the spool, at start and periodically.
	a.jobs.Go(func() { a.Recorder.Run(ctx) })
	a.jobs.Go(func() { a.Records.Run(ctx, exportInterval) })
	a.jobs.Go(func() { a.notices.Run(ctx) })
	a.jobs.Go(func() { a.Outbox.Run(ctx) })
	a.jobs.Go(func() { a.Live.Run(ctx) })
	a.jobs.Go(func() { a.SessionLive.Run(ctx) })
	// The seats' states in the committees' rooms, recorded in their sessions.
	a.jobs.Go(func() { a.Evaluation.WatchSeats(ctx) })
	if a.ClockSync != nil {
		a.jobs.Go(func() { a.ClockSync.Run(ctx) })
	}
	if len(a.cfg.Auth.CRLs) > 0 {
		a.jobs.Go(func() { a.Revocations.Run(ctx, time.Duration(a.cfg.Auth.CRLRefresh)) })
	}
	if a.cfg.TimeStamp.URL != "" {
		a.jobs.Go(func() { a.TimeStamps.Run(ctx, time.Duration(a.cfg.TimeStamp.Interval)) })
	}
	if a.internalLn != nil {
		a.log.Info("kaiping operations (metrics, readiness)", "addr", a.internalLn.Addr().String())
		a.internalServing.Go(func() {
			if err := a.internal.Listener(a.internalLn); err != nil && !errors.Is(err, net.ErrClosed) {
				a.log.Error("internal listener", "err", err)
			}
		})
	}
	a.mu.Unlock()
	a.log.Info("kaiping serving", "addr", ln.Addr().String(), "public_url", a.cfg.PublicURL)
	return a.fiber.Listener(ln)
}

// Addr is the address Serve listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// InternalAddr is the operations listener's address (internal_listen), or "" if none.
func (a *App) InternalAddr() string {
	if a.internalLn == nil {
		return ""
	}
	return a.internalLn.Addr().String()
}

// Shutdown stops accepting requests, waits for those in flight (up to ctx), and closes the
// database pool.
func (a *App) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.shutDown = true
	stop := a.stop
	a.mu.Unlock()
	// Media first: its WebSocket handlers run until it says bye, and fiber waits for them.
	if a.Media != nil {
		if err := a.Media.Close(); err != nil {
			a.log.Error("media close", "err", err)
		}
	}
	if a.Recorder != nil {
		if err := a.Recorder.Close(ctx); err != nil {
			a.log.Error("recorder close", "err", err)
		}
	}
	err := a.fiber.ShutdownWithContext(ctx)
	if a.internal != nil {
		if ierr := a.internal.ShutdownWithContext(ctx); ierr != nil {
			a.log.Error("internal listener shutdown", "err", ierr)
		}
		// fiber shuts down only a server already serving: closing the listener also stops
		// one whose goroutine had not started yet, which the Wait would wait for forever.
		_ = a.internalLn.Close()
		a.internalServing.Wait()
	}
	if stop != nil {
		stop()
		a.jobs.Wait()
	}
	a.close()
	return err
}

func (a *App) close() {
	if a.internalLn != nil {
		_ = a.internalLn.Close() // after Shutdown: already closed, nothing happens
	}
	if a.Media != nil {
		_ = a.Media.Close() // a second Close (after Shutdown's) does nothing
	}
	if a.DB != nil {
		a.DB.Close()
	}
	if a.closeKEK != nil {
		if err := a.closeKEK(); err != nil {
			a.log.Error("kek close", "err", err)
		}
		a.closeKEK = nil
	}
}

// sealBidSets seals the bid sets that fall due, until ctx ends: as each deadline passes
// (plus opening.SealSettle), and as soon as the completions that arrived before it have
// finished. Every replica runs it; sealing is idempotent and serialized in the database.
func (a *App) sealBidSets(ctx context.Context) {
	for {
		if _, err := a.Submit.SealDue(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("seal bid sets", "err", err)
		}
		wait := sealIdle
		next, ok, err := a.Submit.NextSeal(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("next bid set to seal", "err", err)
		case ok && next.After(a.clock.Now()):
			wait = min(sealIdle, next.Sub(a.clock.Now()))
		case ok:
			wait = sealPoll // due: waiting on completions in flight
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Ready checks that PostgreSQL and object storage answer and that the clock may judge
// deadlines; it is what /readyz reports.
func (a *App) Ready(ctx context.Context) map[string]error {
	return map[string]error{
		"postgres":       a.DB.Ping(ctx),
		"object_storage": a.Blob.Ping(ctx),
		"clock":          kaiping.Synchronised(a.clock),
	}
}

// NewLogger builds the slog logger the configuration asks for.
func NewLogger(cfg LogConfig, w *os.File) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// archiveObjects adapts the archive bucket to what record exports need: objects written
// once under the configured compliance retention.
type archiveObjects struct {
	store  *blob.Store
	bucket string
	period blob.Period
}

var _ opening.RecordArchive = archiveObjects{}

func (o archiveObjects) PutLocked(ctx context.Context, key, contentType string, body []byte, at time.Time) (opening.ArchivedObject, error) {
	info, err := o.store.Put(ctx, o.bucket, key, bytes.NewReader(body), int64(len(body)),
		blob.PutOptions{ContentType: contentType, Retention: o.period.From(at)})
	return archived(info), err
}

func (o archiveObjects) Stat(ctx context.Context, key string) (opening.ArchivedObject, error) {
	info, err := o.store.Stat(ctx, o.bucket, key)
	return archived(info), err
}

func (o archiveObjects) Open(ctx context.Context, key, version string) (io.ReadCloser, error) {
	r, _, err := o.store.GetVersion(ctx, o.bucket, key, version)
	return r, err
}

var _ evaluation.ReportArchive = archiveObjects{}

// Archive implements evaluation.ReportArchive: an object already archived under key is
// accepted when its content is the same (a close retried after the archive step).
func (o archiveObjects) Archive(ctx context.Context, key string, body []byte, contentType string, at time.Time) (evaluation.ArchivedFile, error) {
	sum := sha256.Sum256(body)
	want := hex.EncodeToString(sum[:])
	_, err := o.store.Put(ctx, o.bucket, key, bytes.NewReader(body), int64(len(body)),
		blob.PutOptions{ContentType: contentType, Retention: o.period.From(at)})
	if kaiping.CodeOf(err) == blob.CodeExists {
		var got string
		if got, _, err = o.store.SHA256(ctx, o.bucket, key, ""); err == nil && got != want {
			err = kaiping.Errorf(kaiping.KindConflict, "report.archive_conflict", "归档存储中已有内容不同的同名文件 %s", key)
		}
	}
	return evaluation.ArchivedFile{Key: key, SHA256: want, Size: int64(len(body))}, err
}

func archived(i blob.ObjectInfo) opening.ArchivedObject {
	return opening.ArchivedObject{Key: i.Key, Version: i.VersionID, SHA256: i.SHA256, Size: i.Size, RetainUntil: i.Retention.RetainUntil}
}

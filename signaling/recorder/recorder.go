// Package recorder records media rooms (录像) for the 15 years the law keeps them. It joins a
// room as a hidden participant with the grant signaling.Recordings hands it, on either
// backend (the embedded SFU's PROTOCOL.md, or LiveKit), and writes every track raw, as it
// arrives: Opus in Ogg, VP8 in IVF, one file per track, in a local spool directory. A
// manifest maps each file to its participant and to wall-clock time, and lists every gap
// (a participant dropping out and back, media stopping, the recorder's own connection
// dropping), never hiding one. MANIFEST.md specifies the files and the manifest.
//
// When the recording ends (Stop, or the server ends the session) the files and the manifest
// are stored in the archive under a compliance lock, and one ledger entry,
// "recording.store", records every file's SHA-256 and the manifest's, in one transaction
// with the recording's catalog row. The spool is the source of truth until then: a crash
// leaves the recording there, and Recover stores it later; a crash between the upload and
// the ledger leaves a catalog row "uploading" that Recover completes from the archive
// itself when the spool is gone.
package recorder

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// Config tunes the recorder. Zero values take the defaults below; SpoolDir is required.
type Config struct {
	// SpoolDir holds recordings in progress and those not yet stored: one directory per
	// recording, <room>/<recording id>. It should survive a restart (not a tmpfs), so that
	// Recover finds what a crash left.
	SpoolDir string
	// GapThreshold is the silence, or RTP timestamp jump, beyond which a track gap is
	// recorded. Default 1 s.
	GapThreshold time.Duration
	// GapSequenceThreshold is how many packets lost at once make a gap. Default 50.
	GapSequenceThreshold int
	// ReorderWindow is how long a missing packet is waited for (a retransmission) before
	// the packets behind it are written without it. Default 200 ms.
	ReorderWindow time.Duration
	// CheckpointInterval is how often files are flushed and the manifest rewritten while
	// recording. Default 5 s.
	CheckpointInterval time.Duration
	// LeaveTimeout bounds leaving the room at the end. Default 5 s.
	LeaveTimeout time.Duration
	// StoreTimeout bounds storing a recording (upload and ledger). Default 1 h.
	StoreTimeout time.Duration
	// StaleAfter is how old a catalog row still "uploading" must be before Recover
	// completes it from the archive (another replica may be uploading it). Default 1 h.
	StaleAfter time.Duration
	// RecoverInterval is how often Run calls Recover. Default 10 min. After a recording
	// could not be stored, Run tries again sooner: after RetryMin, doubling up to
	// RecoverInterval, while anything is left unstored. Default 1 s.
	RecoverInterval time.Duration
	RetryMin        time.Duration
	// Loopback has the embedded backend's client gather loopback candidates (tests and the
	// demo, where everything runs on one machine).
	Loopback bool
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.GapThreshold, time.Second)
	def(&c.ReorderWindow, 200*time.Millisecond)
	def(&c.CheckpointInterval, 5*time.Second)
	def(&c.LeaveTimeout, 5*time.Second)
	def(&c.StoreTimeout, time.Hour)
	def(&c.StaleAfter, time.Hour)
	def(&c.RecoverInterval, 10*time.Minute)
	def(&c.RetryMin, time.Second)
	if c.GapSequenceThreshold <= 0 {
		c.GapSequenceThreshold = 50
	}
	return c
}

// Recorder records rooms. It implements signaling.Recorder.
type Recorder struct {
	cfg     Config
	archive Archive
	catalog Catalog
	clock   kaiping.Clock
	log     *slog.Logger
	joiners map[string]Joiner

	mu     sync.Mutex
	active map[kaiping.ID]*Recording
	closed bool
	// unstored wakes Run when a recording could not be stored at its end (storage down):
	// it is tried again with backoff, not only at the next RecoverInterval.
	unstored chan struct{}
}

var _ signaling.Recorder = (*Recorder)(nil)

// Option tunes a Recorder.
type Option func(*Recorder)

// WithJoiner makes the recorder join grants of backend with j (replacing the built-in
// joiner of that backend, if any).
func WithJoiner(backend string, j Joiner) Option {
	return func(r *Recorder) { r.joiners[backend] = j }
}

// New returns a recorder that stores into archive and catalog. clock dates everything in
// the manifests and the ledger.
func New(cfg Config, archive Archive, catalog Catalog, clock kaiping.Clock, log *slog.Logger, opts ...Option) (*Recorder, error) {
	if archive == nil || catalog == nil {
		return nil, errors.New("recorder: an archive and a catalog are required")
	}
	return newRecorder(cfg, archive, catalog, clock, log, opts...)
}

// newRecorder is New without storage when archive is nil: recordings stay in the spool
// (the package's tests and its cost measurement use it).
func newRecorder(cfg Config, archive Archive, catalog Catalog, clock kaiping.Clock, log *slog.Logger, opts ...Option) (*Recorder, error) {
	if cfg.SpoolDir == "" {
		return nil, errors.New("recorder: a spool directory is required")
	}
	r := &Recorder{
		cfg: cfg.withDefaults(), archive: archive, catalog: catalog, clock: clock, log: log,
		active: map[kaiping.ID]*Recording{}, unstored: make(chan struct{}, 1),
	}
	r.joiners = map[string]Joiner{
		embeddedBackend: embeddedJoiner{loopback: cfg.Loopback, log: log},
		livekitBackend:  livekitJoiner{log: log},
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Record implements signaling.Recorder: it joins with g and records until the recording is
// stopped or the server ends the session.
func (r *Recorder) Record(ctx context.Context, g signaling.Grant) (signaling.Recording, error) {
	return r.Start(ctx, g)
}

// Start is Record returning the *Recording.
func (r *Recorder) Start(ctx context.Context, g signaling.Grant) (*Recording, error) {
	if err := signaling.ValidRoomName(g.Room); err != nil {
		return nil, err
	}
	j, ok := r.joiners[g.Backend]
	if !ok {
		return nil, errBackend(g.Backend)
	}
	rec, err := r.newRecording(g)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = os.RemoveAll(rec.dir)
		return nil, errClosed()
	}
	r.active[rec.id] = rec
	r.mu.Unlock()
	conn, err := j.Join(ctx, g, rec)
	if err != nil {
		r.forget(rec)
		close(rec.done)
		_ = os.RemoveAll(rec.dir)
		return nil, err
	}
	rec.conn = conn
	rec.log.Info("recording started", "backend", g.Backend)
	go rec.run()
	return rec, nil
}

// newRecording prepares the recording of g's room in a new spool directory.
func (r *Recorder) newRecording(g signaling.Grant) (*Recording, error) {
	id := kaiping.NewID()
	rec := &Recording{
		rec: r, cfg: r.cfg, id: id, room: g.Room, backend: g.Backend, self: g.Identity,
		dir: filepath.Join(r.cfg.SpoolDir, g.Room, string(id)), started: r.clock.Now().UTC(),
		log:   r.log.With("room", g.Room, "recording", id),
		parts: map[string]*ManifestParticipant{}, byTrack: map[string]*trackWriter{},
		ended: make(chan struct{}), done: make(chan struct{}),
	}
	if err := os.MkdirAll(rec.dir, 0o700); err != nil {
		return nil, kaiping.Internal("recorder.Start", err)
	}
	// A first checkpoint before joining: from here on a crash leaves a trace Recover finds.
	if _, err := writeManifest(rec.dir, rec.manifest()); err != nil {
		_ = os.RemoveAll(rec.dir)
		return nil, kaiping.Internal("recorder.Start", err)
	}
	return rec, nil
}

func (r *Recorder) forget(rec *Recording) {
	r.mu.Lock()
	delete(r.active, rec.id)
	r.mu.Unlock()
	if rec.err != nil {
		// Not stored at its end and no longer active: Recover may take it now.
		r.wakeRecover()
	}
}

func (r *Recorder) isActive(id kaiping.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.active[id]
	return ok
}

// Close stops every recording in progress (reason "recorder_closed") and waits, up to ctx,
// until they are stored. What is not stored by then stays in the spool for Recover.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	recs := make([]*Recording, 0, len(r.active))
	for _, rec := range r.active {
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	for _, rec := range recs {
		rec.end("recorder_closed")
	}
	for _, rec := range recs {
		select {
		case <-rec.done:
		case <-ctx.Done():
			return kaiping.E(kaiping.KindUnavailable, CodeStorePending, "录像仍在保存中，稍后将自动完成归档")
		}
	}
	return nil
}

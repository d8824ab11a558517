package app

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling/recorder"
	"github.com/kaiping/kaiping/storage/blob"
	"github.com/kaiping/kaiping/storage/postgres"
)

// newRecorder is the recorder of media rooms, or nil (recording unavailable, said in the
// recordingSpool is where recordings wait until they are stored: media.recording_spool_dir
// (a persistent disk in production: a crash leaves what it holds to be stored at the next
// start), else a folder per archive bucket under the temporary directory, so two
// installations on one machine never store each other's.
func recordingSpool(cfg Config) string {
	if cfg.Media.RecordingSpoolDir != "" {
		return cfg.Media.RecordingSpoolDir
	}
	return filepath.Join(os.TempDir(), "kaiping-recordings", cfg.Blob.ArchiveBucket)
}

// recorder builds a recorder spooling in spool and storing into the archive bucket, the
// recordings catalog and the ledger.
func (a *App) recorder(cfg Config, spool string) (*recorder.Recorder, error) {
	return recorder.New(recorder.Config{SpoolDir: spool, Loopback: cfg.Media.Loopback},
		recordingArchive{store: a.Blob, bucket: cfg.Blob.ArchiveBucket,
			retention: blob.Period{Years: cfg.Blob.ArchiveRetentionYears}, clock: a.clock},
		recordingCatalog{postgres.NewRecordingStore(a.DB, a.Ledger)}, a.clock, a.log)
}

// recordingArchive adapts the archive bucket to what the recorder needs: every object
// written once, under a COMPLIANCE lock for the configured retention.
type recordingArchive struct {
	store     *blob.Store
	bucket    string
	retention blob.Period
	clock     kaiping.Clock
}

var _ recorder.Archive = recordingArchive{}

// Put implements recorder.Archive.
func (r recordingArchive) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) (recorder.Object, error) {
	info, err := r.store.Put(ctx, r.bucket, key, body, size,
		blob.PutOptions{ContentType: contentType, Retention: r.retention.From(r.clock.Now())})
	if kaiping.CodeOf(err) == blob.CodeExists {
		obj, err := r.Stat(ctx, key)
		obj.Existed = true
		return obj, err
	}
	if err != nil {
		return recorder.Object{}, err
	}
	return recorder.Object{Key: key, VersionID: info.VersionID, SHA256: info.SHA256, Size: info.Size}, nil
}

// Stat implements recorder.Archive. The SHA-256 is the one the server verified and kept;
// for an object without one, the object is read back and hashed.
func (r recordingArchive) Stat(ctx context.Context, key string) (recorder.Object, error) {
	info, err := r.store.Stat(ctx, r.bucket, key)
	if err != nil {
		return recorder.Object{}, err
	}
	if info.SHA256 == "" {
		if info.SHA256, info.Size, err = r.store.SHA256(ctx, r.bucket, key, info.VersionID); err != nil {
			return recorder.Object{}, err
		}
	}
	return recorder.Object{Key: key, VersionID: info.VersionID, SHA256: info.SHA256, Size: info.Size}, nil
}

// Get implements recorder.Archive.
func (r recordingArchive) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := r.store.Get(ctx, r.bucket, key)
	return rc, err
}

// recordingCatalog adapts the recordings catalog to what the recorder needs.
type recordingCatalog struct{ store *postgres.RecordingStore }

var _ recorder.Catalog = recordingCatalog{}

func catalogRow(p recorder.Pending) postgres.Recording {
	return postgres.Recording{
		ID: p.Recording, Room: p.Room, Prefix: p.Prefix, ManifestKey: p.ManifestKey,
		ManifestSHA256: p.ManifestSHA256, ManifestSize: p.ManifestSize,
		StartedAt: p.StartedAt, EndedAt: p.EndedAt, BegunAt: p.BegunAt,
	}
}

func catalogObject(o recorder.Object) postgres.RecordingObject {
	return postgres.RecordingObject{Key: o.Key, VersionID: o.VersionID, SHA256: o.SHA256, Size: o.Size}
}

// Begin implements recorder.Catalog.
func (c recordingCatalog) Begin(ctx context.Context, p recorder.Pending) error {
	return c.store.BeginRecording(ctx, catalogRow(p))
}

// Commit implements recorder.Catalog; the platform itself is the actor.
func (c recordingCatalog) Commit(ctx context.Context, s recorder.Stored) (int64, error) {
	row := catalogRow(s.Pending)
	for _, f := range s.Files {
		row.Files = append(row.Files, catalogObject(f))
	}
	return c.store.StoreRecording(ctx, kaiping.SystemActor(s.StoredAt), row, catalogObject(s.Manifest))
}

// Pending implements recorder.Catalog.
func (c recordingCatalog) Pending(ctx context.Context, before time.Time) ([]recorder.Pending, error) {
	rows, err := c.store.PendingRecordings(ctx, before)
	if err != nil {
		return nil, err
	}
	out := make([]recorder.Pending, 0, len(rows))
	for _, r := range rows {
		out = append(out, recorder.Pending{
			Recording: r.ID, Room: r.Room, Prefix: r.Prefix, ManifestKey: r.ManifestKey,
			ManifestSHA256: r.ManifestSHA256, ManifestSize: r.ManifestSize,
			StartedAt: r.StartedAt, EndedAt: r.EndedAt, BegunAt: r.BegunAt,
		})
	}
	return out, nil
}

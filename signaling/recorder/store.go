package recorder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kaiping/kaiping"
)

// Archive is the locked object storage recordings go to (the archive bucket).
type Archive interface {
	// Put stores size bytes of r at key under the archive's compliance lock and returns the
	// object with its SHA-256. It never replaces an object: if key already holds one, it
	// writes nothing and returns that object, with Existed set.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Object, error)
	// Stat describes the object at key, with its SHA-256.
	Stat(ctx context.Context, key string) (Object, error)
	// Get reads the object at key.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// Object is a stored object.
type Object struct {
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	// Existed says Put found the object already there (a retry after a crash).
	Existed bool `json:"-"`
}

// Catalog is the database side of storing a recording: its row and its ledger entry.
type Catalog interface {
	// Begin notes, before anything is uploaded, that recording p is being stored. Beginning
	// a recording already begun is not an error.
	Begin(ctx context.Context, p Pending) error
	// Commit marks the recording stored and appends the ledger entry "recording.store"
	// (every file's key, size and SHA-256, the manifest's too) in one transaction, and
	// returns the entry's sequence number. Committing a stored recording again writes
	// nothing and returns its entry.
	Commit(ctx context.Context, s Stored) (ledgerSeq int64, err error)
	// Pending lists the recordings begun before before and never committed.
	Pending(ctx context.Context, before time.Time) ([]Pending, error)
}

// Pending is a recording whose storing has begun.
type Pending struct {
	Recording      kaiping.ID
	Room           string
	Prefix         string // the objects' key prefix, recordings/<room>/<id>/
	ManifestKey    string
	ManifestSHA256 string
	ManifestSize   int64
	StartedAt      time.Time
	EndedAt        time.Time
	BegunAt        time.Time
}

// Stored is a recording stored in the archive.
type Stored struct {
	Pending
	Manifest  Object
	Files     []Object
	StoredAt  time.Time
	LedgerSeq int64
}

// storeDir stores the recording spooled in dir: it finishes the manifest if the recording
// was cut short, begins it in the catalog, uploads the files and then the manifest, commits
// it, and removes the spooled copy. Every step can be repeated: a retry after a crash
// finds the objects already there and checks their digests.
func (r *Recorder) storeDir(ctx context.Context, dir string) (Stored, error) {
	m, raw, err := r.finalize(dir)
	if err != nil {
		return Stored{}, err
	}
	sum := sha256.Sum256(raw)
	prefix := objectPrefix(m.Room, m.Recording)
	p := Pending{
		Recording: m.Recording, Room: m.Room, Prefix: prefix, ManifestKey: prefix + ManifestName,
		ManifestSHA256: hex.EncodeToString(sum[:]), ManifestSize: int64(len(raw)),
		StartedAt: m.StartedAt, EndedAt: m.EndedAt, BegunAt: r.clock.Now().UTC(),
	}
	if err := r.catalog.Begin(ctx, p); err != nil {
		return Stored{}, err
	}
	s := Stored{Pending: p}
	for _, f := range m.Files {
		obj, err := r.putFile(ctx, filepath.Join(dir, f.Name), f)
		if err != nil {
			return Stored{}, err
		}
		s.Files = append(s.Files, obj)
	}
	if s.Manifest, err = r.put(ctx, p.ManifestKey, raw, p.ManifestSHA256); err != nil {
		return Stored{}, err
	}
	s.StoredAt = r.clock.Now().UTC()
	if s.LedgerSeq, err = r.catalog.Commit(ctx, s); err != nil {
		return Stored{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		r.log.Warn("removing a stored recording from the spool", "dir", dir, "err", err)
	}
	_ = os.Remove(filepath.Dir(dir)) // the room's folder, if this was its last recording
	r.log.Info("recording stored", "room", m.Room, "recording", m.Recording, "files", len(s.Files), "ledger_seq", s.LedgerSeq)
	return s, nil
}

// putFile uploads one spooled file and checks that the archive holds exactly its bytes.
func (r *Recorder) putFile(ctx context.Context, path string, f ManifestFile) (Object, error) {
	file, err := os.Open(path)
	if err != nil {
		return Object{}, kaiping.Internal("recorder.store", err)
	}
	defer file.Close()
	obj, err := r.archive.Put(ctx, f.Key, file, f.Size, contentType(f.Name))
	if err != nil {
		return Object{}, err
	}
	if obj.SHA256 != f.SHA256 || obj.Size != f.Size {
		return Object{}, errDigest(f.Key)
	}
	return obj, nil
}

func (r *Recorder) put(ctx context.Context, key string, raw []byte, sum string) (Object, error) {
	obj, err := r.archive.Put(ctx, key, bytes.NewReader(raw), int64(len(raw)), contentType(key))
	if err != nil {
		return Object{}, err
	}
	if obj.SHA256 != sum || obj.Size != int64(len(raw)) {
		return Object{}, errDigest(key)
	}
	return obj, nil
}

// finalize returns the final manifest of the recording in dir, making it final first if
// it is a checkpoint: every file's size and SHA-256 go in, and a recording whose recorder
// died ends at its last checkpoint, marked "recorder_crashed".
func (r *Recorder) finalize(dir string) (Manifest, []byte, error) {
	m, raw, err := ReadManifest(dir)
	if err != nil || m.Final {
		return m, raw, err
	}
	if m.EndedAt.IsZero() {
		m.EndedAt, m.EndReason = m.CheckpointAt, "recorder_crashed"
	}
	for i := range m.Files {
		f := &m.Files[i]
		f.Key = objectPrefix(m.Room, m.Recording) + f.Name
		if f.Size, f.SHA256, err = hashFile(filepath.Join(dir, f.Name)); err != nil {
			return Manifest{}, nil, err
		}
	}
	m.Final, m.CheckpointAt = true, r.clock.Now().UTC()
	raw, err = writeManifest(dir, m)
	if err != nil {
		return Manifest{}, nil, kaiping.Internal("recorder.finalize", err)
	}
	return m, raw, nil
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", errManifest("%v", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", kaiping.Internal("recorder.hash", fmt.Errorf("%s: %w", path, err))
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

// RecordingStore is the catalog of recordings (录像目录, migrations/010_recordings.sql):
// a row per recording, "uploading" from before its first object reaches the archive until
// the transaction that appends its ledger entry marks it "stored".
type RecordingStore struct {
	db     *DB
	ledger *ledger.Ledger
}

// NewRecordingStore returns the catalog on db, appending to l.
func NewRecordingStore(db *DB, l *ledger.Ledger) *RecordingStore {
	return &RecordingStore{db: db, ledger: l}
}

// The states of a recording in the catalog.
const (
	RecordingUploading = "uploading"
	RecordingStored    = "stored"
)

// Recording is a row of the catalog.
type Recording struct {
	ID             kaiping.ID
	Room           string
	Prefix         string
	ManifestKey    string
	ManifestSHA256 string
	ManifestSize   int64
	StartedAt      time.Time
	EndedAt        time.Time
	BegunAt        time.Time
	State          string
	// Set once stored.
	ManifestVersion string
	Files           []RecordingObject
	StoredAt        time.Time
	LedgerSeq       int64
}

// RecordingObject is one archived object of a recording, as the ledger entry names it.
type RecordingObject struct {
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
}

// BeginRecording notes that r is being stored. Beginning it again is not an error, unless
// its manifest differs from the one begun (KindConflict, code recording.manifest_changed).
func (s *RecordingStore) BeginRecording(ctx context.Context, r Recording) error {
	op := "pg.BeginRecording " + string(r.ID)
	tag, err := s.db.Pool.Exec(ctx, `INSERT INTO recordings (id, room, prefix, manifest_key, manifest_sha256,
		manifest_size, started_at, ended_at, begun_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Room, r.Prefix, r.ManifestKey, r.ManifestSHA256, r.ManifestSize, r.StartedAt, r.EndedAt, r.BegunAt)
	if err != nil || tag.RowsAffected() == 1 {
		return translate(op, err)
	}
	var sum string
	if err := s.db.Pool.QueryRow(ctx, `SELECT manifest_sha256 FROM recordings WHERE id = $1`, r.ID).Scan(&sum); err != nil {
		return translate(op, err)
	}
	if sum != r.ManifestSHA256 {
		return manifestChanged(r.ID)
	}
	return nil
}

func manifestChanged(id kaiping.ID) error {
	return kaiping.Errorf(kaiping.KindConflict, "recording.manifest_changed", "录像 %s 的清单与开始归档时不同", id)
}

// StoreRecording marks the begun recording r stored, with its objects, and appends the
// ledger entry "recording.store" (subject: the recording's ID) naming every object's key,
// version, size and SHA-256, in one transaction; it returns the entry's sequence number.
// Storing a stored recording again writes nothing and returns its entry. A recording never
// begun is KindNotFound (code recording.not_begun).
func (s *RecordingStore) StoreRecording(ctx context.Context, a kaiping.Actor, r Recording, manifest RecordingObject) (int64, error) {
	var seq int64
	err := s.db.InTx(ctx, "pg.StoreRecording "+string(r.ID), func(tx pgx.Tx) error {
		var state, sum string
		var stored *int64
		err := tx.QueryRow(ctx, `SELECT state, manifest_sha256, ledger_seq FROM recordings WHERE id = $1 FOR UPDATE`,
			r.ID).Scan(&state, &sum, &stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.Errorf(kaiping.KindNotFound, "recording.not_begun", "录像 %s 尚未开始归档", r.ID)
		}
		if err != nil {
			return err
		}
		if state == RecordingStored {
			seq = *stored
			return nil
		}
		if sum != r.ManifestSHA256 || manifest.SHA256 != sum {
			return manifestChanged(r.ID)
		}
		files := r.Files
		if files == nil {
			files = []RecordingObject{}
		}
		entry, err := s.ledger.Append(ctx, tx, a, "recording.store", string(r.ID), map[string]any{
			"room": r.Room, "started_at": r.StartedAt.UTC(), "ended_at": r.EndedAt.UTC(),
			"manifest": manifest, "files": files,
		})
		if err != nil {
			return err
		}
		seq = entry.Seq
		b, err := json.Marshal(files)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE recordings SET state = 'stored', manifest_version = $2, files = $3,
			stored_at = $4, ledger_seq = $5 WHERE id = $1`, r.ID, manifest.VersionID, b, a.At, seq)
		return err
	})
	return seq, err
}

const recordingColumns = `id, room, prefix, manifest_key, manifest_sha256, manifest_size, started_at, ended_at,
	begun_at, state, coalesce(manifest_version, ''), files, stored_at, coalesce(ledger_seq, 0)`

func scanRecording(row pgx.Row) (Recording, error) {
	var r Recording
	var files []byte
	var stored *time.Time
	err := row.Scan(&r.ID, &r.Room, &r.Prefix, &r.ManifestKey, &r.ManifestSHA256, &r.ManifestSize, &r.StartedAt,
		&r.EndedAt, &r.BegunAt, &r.State, &r.ManifestVersion, &files, &stored, &r.LedgerSeq)
	if err != nil {
		return r, err
	}
	if stored != nil {
		r.StoredAt = *stored
	}
	if files != nil {
		err = json.Unmarshal(files, &r.Files)
	}
	return r, err
}

func (s *RecordingStore) list(ctx context.Context, op, where string, arg any) ([]Recording, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE `+where, arg)
	if err != nil {
		return nil, translate(op, err)
	}
	defer rows.Close()
	out := []Recording{}
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, translate(op, err)
		}
		out = append(out, r)
	}
	return out, translate(op, rows.Err())
}

// PendingRecordings lists the recordings begun before before and never stored, oldest first.
func (s *RecordingStore) PendingRecordings(ctx context.Context, before time.Time) ([]Recording, error) {
	return s.list(ctx, "pg.PendingRecordings", `state = 'uploading' AND begun_at < $1 ORDER BY begun_at`, before)
}

// Recordings lists the recordings of room, oldest first.
func (s *RecordingStore) Recordings(ctx context.Context, room string) ([]Recording, error) {
	return s.list(ctx, "pg.Recordings", `room = $1 ORDER BY started_at, id`, room)
}

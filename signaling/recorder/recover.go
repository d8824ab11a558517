package recorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kaiping/kaiping"
)

// maxManifestBytes bounds a manifest read back from the archive.
const maxManifestBytes = 64 << 20

// RecoverReport says what Recover did.
type RecoverReport struct {
	// Stored are the recordings Recover stored (from the spool or the archive).
	Stored []kaiping.ID
	// Failed are the recordings it could not store, with why. They are tried again at the
	// next Recover; those with code recorder.incomplete need a person.
	Failed []RecoverFailure
}

// RecoverFailure is a recording Recover could not store.
type RecoverFailure struct {
	Recording kaiping.ID
	Room      string
	Err       error
}

// Recover stores what a crash or an outage left unstored:
//
//   - every recording in the spool that is not being recorded by this recorder (one whose
//     recorder died mid-recording ends at its last checkpoint, marked "recorder_crashed");
//   - every recording the catalog shows as begun but never committed for longer than
//     Config.StaleAfter and that is not in this spool: its files were uploaded (they are
//     locked, so they cannot be redone) but the ledger entry never written. Recover reads
//     its manifest back from the archive, checks every object's SHA-256 and size against it,
//     and commits; a missing or different object makes it a failure (code
//     recorder.incomplete or recorder.digest_mismatch) that needs a person.
func (r *Recorder) Recover(ctx context.Context) (RecoverReport, error) {
	var rep RecoverReport
	if r.archive == nil {
		return rep, nil // spool only: nothing to store into
	}
	spooled := map[kaiping.ID]bool{}
	dirs, err := r.spooled()
	if err != nil {
		return rep, kaiping.Internal("recorder.Recover", err)
	}
	for _, d := range dirs {
		spooled[d.id] = true
		if r.isActive(d.id) {
			continue
		}
		if _, err := r.storeDir(ctx, d.path); err != nil {
			rep.Failed = append(rep.Failed, RecoverFailure{Recording: d.id, Room: d.room, Err: err})
			continue
		}
		rep.Stored = append(rep.Stored, d.id)
	}
	pending, err := r.catalog.Pending(ctx, r.clock.Now().Add(-r.cfg.StaleAfter))
	if err != nil {
		return rep, err
	}
	for _, p := range pending {
		if spooled[p.Recording] || r.isActive(p.Recording) {
			continue
		}
		if err := r.commitArchived(ctx, p); err != nil {
			rep.Failed = append(rep.Failed, RecoverFailure{Recording: p.Recording, Room: p.Room, Err: err})
			continue
		}
		rep.Stored = append(rep.Stored, p.Recording)
	}
	return rep, nil
}

// Run calls Recover now and every Config.RecoverInterval until ctx ends, logging what it
// found. While a recording is left unstored (storage was down when it ended, or Recover
// itself failed), it calls Recover again sooner, backing off from Config.RetryMin: a
// recording kept only on this machine's disk for ten minutes is one disk failure from lost.
func (r *Recorder) Run(ctx context.Context) {
	var backoff time.Duration
	for {
		rep, err := r.Recover(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Error("recovering recordings", "err", err)
		case len(rep.Stored) > 0:
			r.log.Info("recovered recordings", "stored", len(rep.Stored))
		}
		for _, f := range rep.Failed {
			r.log.Error("recording not stored", "room", f.Room, "recording", f.Recording, "code", kaiping.CodeOf(f.Err), "err", f.Err)
		}
		wait := r.cfg.RecoverInterval
		if err != nil || len(rep.Failed) > 0 {
			backoff = min(max(2*backoff, r.cfg.RetryMin), r.cfg.RecoverInterval)
			wait = backoff
		} else {
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-r.unstored:
			t.Stop()
			backoff = 0
		}
	}
}

// wakeRecover tells Run that a recording is left in the spool.
func (r *Recorder) wakeRecover() {
	select {
	case r.unstored <- struct{}{}:
	default: // Run is already told
	}
}

type spooledDir struct {
	room, path string
	id         kaiping.ID
}

// spooled lists the recordings in the spool, <room>/<id>.
func (r *Recorder) spooled() ([]spooledDir, error) {
	rooms, err := os.ReadDir(r.cfg.SpoolDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []spooledDir
	for _, room := range rooms {
		if !room.IsDir() {
			continue
		}
		ids, err := os.ReadDir(filepath.Join(r.cfg.SpoolDir, room.Name()))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if id.IsDir() {
				out = append(out, spooledDir{room: room.Name(), id: kaiping.ID(id.Name()),
					path: filepath.Join(r.cfg.SpoolDir, room.Name(), id.Name())})
			}
		}
	}
	return out, nil
}

// commitArchived commits a recording whose objects are in the archive but whose ledger
// entry was never written, after checking every object against its manifest.
func (r *Recorder) commitArchived(ctx context.Context, p Pending) error {
	incomplete := func(format string, args ...any) error {
		return kaiping.Errorf(kaiping.KindConflict, CodeIncomplete, "录像 %s 的归档不完整："+format, append([]any{p.Recording}, args...)...)
	}
	manifest, err := r.archive.Stat(ctx, p.ManifestKey)
	if err != nil {
		return incomplete("录像清单 %s 不在归档中（%s）", p.ManifestKey, kaiping.CodeOf(err))
	}
	if manifest.SHA256 != p.ManifestSHA256 || manifest.Size != p.ManifestSize {
		return errDigest(p.ManifestKey)
	}
	rc, err := r.archive.Get(ctx, p.ManifestKey)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes))
	rc.Close()
	if err != nil {
		return kaiping.Internal("recorder.Recover", err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != p.ManifestSHA256 {
		return errDigest(p.ManifestKey)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return err
	}
	if !m.Final || m.Recording != p.Recording || m.Room != p.Room {
		return errManifest("清单与目录记录不符")
	}
	s := Stored{Pending: p, Manifest: manifest, StoredAt: r.clock.Now().UTC()}
	for _, f := range m.Files {
		obj, err := r.archive.Stat(ctx, f.Key)
		if err != nil {
			return incomplete("文件 %s 不在归档中（%s）", f.Key, kaiping.CodeOf(err))
		}
		if obj.SHA256 != f.SHA256 || obj.Size != f.Size {
			return errDigest(f.Key)
		}
		s.Files = append(s.Files, obj)
	}
	s.LedgerSeq, err = r.catalog.Commit(ctx, s)
	if err == nil {
		r.log.Info("recording stored from the archive", "room", p.Room, "recording", p.Recording, "ledger_seq", s.LedgerSeq)
	}
	return err
}

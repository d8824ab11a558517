package opening

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/kaiping/kaiping"
)

// FileKeys looks after the file keys the platform keeps: it wraps the keys an older
// installation stored in the clear, re-wraps every key under a new KEK (rotation), and
// destroys keys when the archive period ends.
type FileKeys struct {
	store FileKeyStore
	keys  KeyWrapper
	clock kaiping.Clock
}

// NewFileKeys returns the file key service.
func NewFileKeys(store FileKeyStore, keys KeyWrapper, clock kaiping.Clock) *FileKeys {
	return &FileKeys{store: store, keys: keys, clock: clock}
}

// rewrapBatch is how many keys one transaction re-wraps: small enough that a rotation does
// not hold row locks for long, large enough that the ledger is not flooded.
const rewrapBatch = 200

// Rewrapped says how many keys a rewrap changed: Legacy of them were in the clear.
type Rewrapped struct {
	KEK    string `json:"kek"`
	Keys   int    `json:"keys"`
	Legacy int    `json:"legacy"`
}

// WrapLegacy wraps the file keys an installation older than key wrapping stored in the
// clear, under the current KEK. The app runs it at every start-up, before it serves: the
// migration that added wrapping cannot do it, since the KEK is not in the database.
func (f *FileKeys) WrapLegacy(ctx context.Context) (Rewrapped, error) {
	return f.rewrap(ctx, true)
}

// Rotate re-wraps every stored file key that the current KEK did not wrap (after a new KEK
// was configured to wrap, with the old ones kept for unwrapping), and wraps any legacy key.
// Once it returns, the old KEKs can be removed from the configuration. It is safe to run
// again after an interruption, and beside a running server (a key replaced meanwhile is
// skipped and picked up by the next run).
func (f *FileKeys) Rotate(ctx context.Context) (Rewrapped, error) {
	return f.rewrap(ctx, false)
}

func (f *FileKeys) rewrap(ctx context.Context, legacyOnly bool) (Rewrapped, error) {
	out := Rewrapped{KEK: f.keys.Current()}
	var after kaiping.ID
	for {
		stored, err := f.store.StoredFileKeys(ctx, after, rewrapBatch, legacyOnly)
		if err != nil {
			return out, err
		}
		if len(stored) == 0 {
			return out, nil
		}
		after = stored[len(stored)-1].Envelope
		batch, err := f.rewrapped(ctx, stored)
		if err != nil {
			return out, err
		}
		if len(batch) == 0 {
			continue
		}
		n, nLegacy, err := f.store.ReplaceFileKeys(ctx, kaiping.SystemActor(f.clock.Now()), out.KEK, batch)
		if err != nil {
			return out, err
		}
		out.Keys, out.Legacy = out.Keys+n, out.Legacy+nLegacy
	}
}

// rewrapped wraps each key of stored that the current KEK did not wrap.
func (f *FileKeys) rewrapped(ctx context.Context, stored []StoredFileKey) ([]RewrappedFileKey, error) {
	var batch []RewrappedFileKey
	for _, k := range stored {
		// A copy: the stored value is what ReplaceFileKeys checks the row still holds.
		plain := bytes.Clone(k.Legacy)
		if plain == nil {
			kek, err := f.keys.KeyOf(k.Wrapped)
			if err != nil {
				return nil, kaiping.Internal("opening.Rotate "+string(k.Envelope), err)
			}
			if kek == f.keys.Current() {
				continue
			}
			if plain, err = f.keys.Unwrap(ctx, k.Envelope, k.Wrapped); err != nil {
				return nil, err
			}
		}
		if len(plain) != FileKeyLen {
			return nil, kaiping.Internal("opening.Rotate "+string(k.Envelope), fmt.Errorf("stored file key is %d bytes", len(plain)))
		}
		w, err := f.keys.Wrap(ctx, k.Envelope, plain)
		clear(plain)
		if err != nil {
			return nil, err
		}
		batch = append(batch, RewrappedFileKey{StoredFileKey: k, New: w})
	}
	return batch, nil
}

// ArchiveEnd is the latest deadline whose tender's archive period (years after its
// deadline) is over at now.
func ArchiveEnd(now time.Time, years int) time.Time {
	return now.AddDate(-years, 0, 0)
}

// ShredArchived destroys every file key of the tenders whose deadline is before before. A
// before later than the archive period allows (ArchiveEnd of now and years) is refused:
// the law keeps procurement files at least that long, and a destroyed key cannot come back.
func (f *FileKeys) ShredArchived(ctx context.Context, before time.Time, years int) (Shredding, error) {
	now := f.clock.Now()
	if end := ArchiveEnd(now, years); before.After(end) {
		return Shredding{}, kaiping.Errorf(kaiping.KindTooEarly, "kek.archive_not_ended",
			"归档保存期（%d 年）未满：只能销毁截标时间早于 %s 的项目的文件密钥", years, end.Format(time.DateOnly))
	}
	return f.store.ShredArchived(ctx, kaiping.SystemActor(now), before)
}

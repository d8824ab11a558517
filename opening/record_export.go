package opening

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/pdfdoc"
)

// Exporting the opening record (开标记录归档). Every published record, of either round, is
// rendered as a PDF in Chinese and kept, with its canonical JSON, in the archive bucket
// under a compliance lock for the archive period (15 years), and the SHA-256 of both goes
// into the ledger.
//
// The export happens right after the publication, before the hall answers the publishing
// request (Hall.ExportRecords), but not inside the publishing transaction: object storage
// cannot take part in a PostgreSQL transaction (a rollback after an upload would leave a
// locked object nobody ledgered, silently), and holding the hall's row lock while a PDF is
// set and two objects uploaded would stall every unlock and check-in of the hall. Instead
// the publishing transaction queues the record (a trigger on hall_records); the exporter
// stores both objects under keys fixed by the record's digest, then ledgers their digests
// and takes the record off the queue in one transaction. A crash or an outage in between
// leaves the record queued: visible, and exported by the next pass of Run, which every
// replica runs. The objects already stored are found under their keys (nothing is ever
// replaced), checked against what the record renders to, and ledgered.

// RecordArchive is where exported records are kept: every object written once, locked
// (COMPLIANCE) for the archive's retention period.
type RecordArchive interface {
	// PutLocked writes body as a new object at key, locked for the retention period
	// counted from at. A key that holds an object already is KindConflict.
	PutLocked(ctx context.Context, key, contentType string, body []byte, at time.Time) (ArchivedObject, error)
	// Stat describes the object at key (its current version).
	Stat(ctx context.Context, key string) (ArchivedObject, error)
	// Open reads one version of an object.
	Open(ctx context.Context, key, version string) (io.ReadCloser, error)
}

// ArchivedObject is a stored object version as the archive reports it.
type ArchivedObject struct {
	Key         string
	Version     string
	SHA256      string // hex, as the store verified and kept it
	Size        int64
	RetainUntil time.Time
}

// Export formats of a record.
const (
	FormatPDF  = "pdf"
	FormatJSON = "json"
)

// The stages of a round's record that are archived: as published (the record bidders
// confirm) and final (FinalRecord, at the round's close), each in both formats.
const (
	StagePublished = "published"
	StageFinal     = "final"
)

// RecordExport is one exported form of a published or final record, as stored and ledgered.
type RecordExport struct {
	Section       kaiping.ID `json:"section_id"`
	Round         int        `json:"round"`
	Stage         string     `json:"stage"`
	Format        string     `json:"format"`
	ObjectKey     string     `json:"object_key"`
	ObjectVersion string     `json:"object_version"`
	SHA256        string     `json:"sha256"`
	Size          int64      `json:"size"`
	RetainUntil   time.Time  `json:"retain_until"`
	ExportedAt    time.Time  `json:"exported_at"`
	LedgerSeq     int64      `json:"ledger_seq"`
}

// RecordRef names a record to archive: a tender's section, the round and the stage
// (StagePublished when empty).
type RecordRef struct {
	Tender  kaiping.ID `json:"tender_id"`
	Section kaiping.ID `json:"section_id"`
	Round   int        `json:"round"`
	Stage   string     `json:"stage"`
}

// RecordExportStore is what exporting records needs from persistence.
type RecordExportStore interface {
	// Tender returns a tender (KindNotFound if none).
	Tender(ctx context.Context, id kaiping.ID) (Tender, error)
	// HallEnvelopes lists a section's envelopes, of one bidder if bidder is not empty.
	HallEnvelopes(ctx context.Context, section, bidder kaiping.ID) ([]HallEnvelope, error)
	// RecordOf returns the published record of a round (0: the latest); KindNotFound
	// "hall.no_record".
	RecordOf(ctx context.Context, section kaiping.ID, round int) (PublishedRecord, error)
	// FinalRecordOf returns the final record of a round (0: the latest), stored when the
	// round closed (PublishedAt is the close); KindNotFound "hall.no_final_record".
	FinalRecordOf(ctx context.Context, section kaiping.ID, round int) (PublishedRecord, error)
	// PendingExports lists the published records not exported yet, oldest first, at most limit.
	PendingExports(ctx context.Context, limit int) ([]RecordRef, error)
	// RecordExports lists a section's exports, by round and format.
	RecordExports(ctx context.Context, section kaiping.ID) ([]RecordExport, error)
	// AddRecordExports ledgers a record's exports with a hall event ("hall.record_export")
	// and takes the record off the queue, in one transaction. A record exported already is
	// KindConflict "hall.record_exported", nothing changed.
	AddRecordExports(ctx context.Context, a kaiping.Actor, ref RecordRef, exports []RecordExport) error
}

// RecordExporter exports published records and serves them.
type RecordExporter struct {
	store   RecordExportStore
	archive RecordArchive
	fonts   *pdfdoc.Fonts
	clock   kaiping.Clock
	log     *slog.Logger
}

// NewRecordExporter returns the exporter. It exports nothing until Run or ExportPending.
func NewRecordExporter(store RecordExportStore, archive RecordArchive, fonts *pdfdoc.Fonts, clock kaiping.Clock, log *slog.Logger) *RecordExporter {
	return &RecordExporter{store: store, archive: archive, fonts: fonts, clock: clock, log: log}
}

// ExportRecords has the hall archive every record right after publishing it, before it
// answers: the record is queued in the publishing transaction, and Export takes it off.
// When that fails (storage down, the request gone) the record stays queued for x.Run.
func (h *Hall) ExportRecords(x *RecordExporter) { h.records = x }

// archive exports the record a publication (StagePublished) or a close (StageFinal) just
// stored, if the hall archives records.
func (h *Hall) archive(ctx context.Context, st HallStatus, stage string) {
	if h.records == nil {
		return
	}
	ref := RecordRef{Tender: st.Tender, Section: st.Section, Round: st.Round, Stage: stage}
	if _, err := h.records.Export(ctx, ref); err != nil {
		h.log.Error("export the opening record; it stays queued", "tender_id", st.Tender, "section_id", st.Section, "round", st.Round, "stage", stage, "err", err)
	}
}

// exportBatch bounds one pass of ExportPending.
const exportBatch = 50

// Run exports the queued records every interval until ctx ends. Every replica may run it:
// two exporting one record store the same bytes, and only one ledgers them.
func (x *RecordExporter) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := x.ExportPending(ctx); err != nil && ctx.Err() == nil {
			x.log.Error("export opening records", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExportPending exports the queued records, oldest first, and returns how many it exported.
// A record that fails stays queued for the next pass; the first error is returned after
// the others were tried.
func (x *RecordExporter) ExportPending(ctx context.Context) (int, error) {
	refs, err := x.store.PendingExports(ctx, exportBatch)
	if err != nil {
		return 0, err
	}
	done := 0
	var first error
	for _, ref := range refs {
		if _, err := x.Export(ctx, ref); err != nil {
			x.log.Error("export opening record", "tender_id", ref.Tender, "section_id", ref.Section, "round", ref.Round, "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		done++
	}
	return done, first
}

// Export renders one published or final record as PDF, stores it and the canonical JSON
// in the archive under a compliance lock, and ledgers both digests. Run again on a record
// whose objects were stored by an attempt that stopped before the ledger, it checks them
// and ledgers them; on a record exported already it changes nothing.
func (x *RecordExporter) Export(ctx context.Context, ref RecordRef) ([]RecordExport, error) {
	if ref.Stage == "" {
		ref.Stage = StagePublished
	}
	t, err := x.store.Tender(ctx, ref.Tender)
	if err != nil {
		return nil, err
	}
	var pr PublishedRecord
	var pdf []byte
	name := ""
	if ref.Stage == StageFinal {
		if pr, err = x.store.FinalRecordOf(ctx, ref.Section, ref.Round); err == nil {
			pdf, err = RenderFinalRecordPDF(x.fonts, pr.Record, t.Plan)
		}
		name = "final-"
	} else if pr, err = x.store.RecordOf(ctx, ref.Section, ref.Round); err == nil {
		pdf, err = RenderRecordPDF(x.fonts, pr.Record, t.Plan)
	}
	if err != nil {
		return nil, err
	}
	at := x.clock.Now()
	prefix := fmt.Sprintf("records/%s/%s/round-%d/%s%s", ref.Tender, ref.Section, ref.Round, name, pr.Digest)
	forms := []struct {
		format, contentType string
		body                []byte
	}{
		{FormatJSON, "application/json", pr.Record},
		{FormatPDF, "application/pdf", pdf},
	}
	exports := make([]RecordExport, 0, len(forms))
	for _, f := range forms {
		obj, err := x.store1(ctx, prefix+"."+f.format, f.contentType, f.body, at)
		if err != nil {
			return nil, err
		}
		exports = append(exports, RecordExport{Section: ref.Section, Round: ref.Round, Stage: ref.Stage, Format: f.format,
			ObjectKey: obj.Key, ObjectVersion: obj.Version, SHA256: obj.SHA256, Size: obj.Size,
			RetainUntil: obj.RetainUntil, ExportedAt: at})
	}
	err = x.store.AddRecordExports(ctx, kaiping.SystemActor(at), ref, exports)
	if kaiping.CodeOf(err) == "hall.record_exported" {
		return exports, nil // another replica ledgered the same objects first
	}
	if err != nil {
		return nil, err
	}
	x.log.Info("opening record exported", "tender_id", ref.Tender, "section_id", ref.Section, "round", ref.Round, "stage", ref.Stage, "digest", pr.Digest)
	return exports, nil
}

// store1 stores one form under a compliance lock, or takes the object an earlier attempt
// stored under the same key, if it is exactly these bytes and locked.
func (x *RecordExporter) store1(ctx context.Context, key, contentType string, body []byte, at time.Time) (ArchivedObject, error) {
	obj, err := x.archive.PutLocked(ctx, key, contentType, body, at)
	if !kaiping.IsKind(err, kaiping.KindConflict) {
		return obj, err
	}
	if obj, err = x.archive.Stat(ctx, key); err != nil {
		return obj, err
	}
	sum := sha256.Sum256(body)
	if want := hex.EncodeToString(sum[:]); obj.SHA256 != want || obj.RetainUntil.IsZero() {
		// Rendering is deterministic, so this is not an object we stored: leave the record
		// queued, loudly, for someone to look at.
		return obj, kaiping.Internal("opening.Export "+key, fmt.Errorf("the archive holds SHA-256 %s (retained until %v) where this record gives %s",
			obj.SHA256, obj.RetainUntil, want))
	}
	return obj, nil
}

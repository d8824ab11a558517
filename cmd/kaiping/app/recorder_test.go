package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/recorder"
	"github.com/kaiping/kaiping/storage/blob"
	"github.com/kaiping/kaiping/storage/postgres"
)

var publishAll = signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}

// roomSeat is a seat agent in one of the app's rooms.
type roomSeat struct {
	*seat.Agent
	who  kaiping.Principal
	stop context.CancelFunc
	done chan struct{}
}

// mustSeat runs a publishing seat agent for who in room until the test ends (or leave).
func (ta *testApp) mustSeat(tb testing.TB, room string, who kaiping.Principal) *roomSeat {
	tb.Helper()
	g, err := ta.Media.Grant(context.Background(), room, who, publishAll)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := seat.ConfigFromGrant(g)
	cfg.Loopback, cfg.FPS, cfg.VideoBitrate = true, 20, 200_000
	if os.Getenv("KAIPING_TEST_LOG") != "" {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("seat", who.Name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &roomSeat{Agent: seat.New(cfg), who: who, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.Run(ctx)
	}()
	tb.Cleanup(s.leave)
	return s
}

func (s *roomSeat) leave() {
	s.stop()
	<-s.done
}

// mustRoomApp starts an app with room and a publishing seat in it for each name, and waits
// until the first seat receives all the others.
func mustRoomApp(tb testing.TB, room string, names ...string) (*testApp, []*roomSeat) {
	tb.Helper()
	ta := mustApp(tb)
	// The app's spool, empty once its recordings are stored (a leftover recording stays).
	tb.Cleanup(func() { _ = os.Remove(recordingSpool(ta.setup.Config)) })
	if err := ta.Media.CreateRoom(context.Background(), room, signaling.RoomOptions{}); err != nil {
		tb.Fatal(err)
	}
	var seats []*roomSeat
	for _, name := range names {
		seats = append(seats, ta.mustSeat(tb, room, kaiping.Principal{ID: kaiping.NewID(), Name: name}))
	}
	receiving(tb, seats[0], 2, seats[1:]...)
	return ta, seats
}

// receiving waits until s receives at least tracks tracks (audio and video: 2) from every
// one of others.
func receiving(tb testing.TB, s *roomSeat, tracks int, others ...*roomSeat) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, o := range others {
		for {
			n := 0
			for _, t := range s.Stats().From(string(o.who.ID)) {
				if t.Packets > 10 {
					n++
				}
			}
			if n >= tracks {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("%s receives %d tracks from %s, want %d", s.who.Name, n, o.who.Name, tracks)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// sees waits until s sees (or no longer sees) other in the room, and then a little more:
// long enough for the hidden recorder, told at the same moment, to have heard it too.
func sees(tb testing.TB, s, other *roomSeat, present bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := s.Stats().Peers[string(other.who.ID)]; ok == present {
			time.Sleep(300 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %s present = %v", s.who.Name, other.who.Name, !present)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedRecording is a recording as the catalog, the archive and the ledger have it.
type storedRecording struct {
	row      postgres.Recording
	manifest recorder.Manifest
	objects  map[string][]byte // by key, manifest included
}

// mustStoredRecording reads the one stored recording of room and checks it against the
// archive and the ledger: every object is locked for 15 years and cannot be deleted, the
// ledger entry names every object with the digest and size of the bytes stored, and every
// recorded file parses.
func (ta *testApp) mustStoredRecording(tb testing.TB, room string) storedRecording {
	tb.Helper()
	ctx := context.Background()
	rows, err := postgres.NewRecordingStore(ta.DB, ta.Ledger).Recordings(ctx, room)
	if err != nil {
		tb.Fatal(err)
	}
	if len(rows) != 1 || rows[0].State != postgres.RecordingStored {
		tb.Fatalf("catalog of %s: %+v, want one stored recording", room, rows)
	}
	sr := storedRecording{row: rows[0], objects: map[string][]byte{}}
	entry, err := ta.Ledger.ReadEntry(ctx, ta.DB.Pool, sr.row.LedgerSeq)
	if err != nil {
		tb.Fatal(err)
	}
	var detail struct {
		Room     string                     `json:"room"`
		Manifest postgres.RecordingObject   `json:"manifest"`
		Files    []postgres.RecordingObject `json:"files"`
	}
	if err := json.Unmarshal(entry.Detail, &detail); err != nil {
		tb.Fatal(err)
	}
	if entry.Action != "recording.store" || entry.Subject != string(sr.row.ID) || detail.Room != room {
		tb.Errorf("ledger entry %s %s %s", entry.Action, entry.Subject, entry.Detail)
	}
	bucket := ta.setup.Config.Blob.ArchiveBucket
	wantUntil := ta.clock.Now().AddDate(15, 0, 0)
	for _, o := range append([]postgres.RecordingObject{detail.Manifest}, detail.Files...) {
		rc, info, err := ta.Blob.GetVersion(ctx, bucket, o.Key, o.VersionID)
		if err != nil {
			tb.Fatalf("%s: %v", o.Key, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != o.SHA256 || int64(len(b)) != o.Size {
			tb.Errorf("%s: ledger says %s (%d bytes), the archive holds %x (%d bytes)", o.Key, o.SHA256, o.Size, sum, len(b))
		}
		if info.Retention.Mode != blob.Compliance || info.Retention.RetainUntil.Before(wantUntil.Add(-time.Minute)) {
			tb.Errorf("%s: retention %+v, want COMPLIANCE until %s", o.Key, info.Retention, wantUntil)
		}
		if err := ta.Blob.Delete(ctx, bucket, o.Key, o.VersionID); kaiping.CodeOf(err) != blob.CodeLocked {
			tb.Errorf("%s: delete = %v, want %s", o.Key, err, blob.CodeLocked)
		}
		sr.objects[o.Key] = b
	}
	if detail.Manifest.Key != sr.row.ManifestKey || detail.Manifest.SHA256 != sr.row.ManifestSHA256 {
		tb.Errorf("ledger manifest %+v, catalog %s %s", detail.Manifest, sr.row.ManifestKey, sr.row.ManifestSHA256)
	}
	if sr.manifest, err = recorder.ParseManifest(sr.objects[sr.row.ManifestKey]); err != nil {
		tb.Fatal(err)
	}
	if len(sr.manifest.Files) != len(detail.Files) {
		tb.Errorf("manifest names %d files, the ledger %d", len(sr.manifest.Files), len(detail.Files))
	}
	for _, f := range sr.manifest.Files {
		b, ok := sr.objects[f.Key]
		sum := sha256.Sum256(b)
		if !ok || hex.EncodeToString(sum[:]) != f.SHA256 {
			tb.Errorf("%s: the manifest's digest does not match the ledger's object", f.Key)
		}
		n, err := recorder.CountFrames(f.Name, bytes.NewReader(b))
		if err != nil || n == 0 || uint64(n) != f.Frames {
			tb.Errorf("%s: %d frames (%v), manifest says %d", f.Name, n, err, f.Frames)
		}
	}
	if _, err := ta.DB.Pool.Exec(ctx, `UPDATE recordings SET room = 'x' WHERE id = $1`, sr.row.ID); err == nil {
		tb.Errorf("a stored recording's catalog row could be changed")
	}
	ta.ledgerSize(tb) // the whole ledger still verifies
	return sr
}

// files returns the manifest's files by participant and kind.
func (sr storedRecording) files() map[string]int {
	out := map[string]int{}
	for _, f := range sr.manifest.Files {
		out[f.ParticipantName+"/"+string(f.Kind)]++
	}
	return out
}

// TestRecordingStored: two seats publish, a third is removed and rejoins; StartRecording
// then StopRecording stores every track locked in the archive bucket with the manifest,
// and one ledger entry with their digests. The recorder is never seen by the seats, and
// the third seat's absence is a gap.
func TestRecordingStored(t *testing.T) {
	const room = "kp-rec"
	ctx := context.Background()
	ta, seats := mustRoomApp(t, room, "主场专家", "副场专家", "监督席")
	a, b, c := seats[0], seats[1], seats[2]
	receiving(t, b, 2, a)
	if err := ta.Media.StartRecording(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := ta.Media.StartRecording(ctx, room); kaiping.CodeOf(err) != signaling.CodeRecordingActive {
		t.Errorf("second StartRecording = %v, want %s", err, signaling.CodeRecordingActive)
	}
	ps, err := ta.Media.Participants(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	var hidden []string
	for _, p := range ps {
		if p.Hidden {
			hidden = append(hidden, p.Identity)
		}
	}
	if len(hidden) != 1 {
		t.Fatalf("participants %+v, want one hidden recorder", ps)
	}
	time.Sleep(2 * time.Second)

	if err := ta.Media.RemoveParticipant(ctx, room, string(c.who.ID)); err != nil {
		t.Fatal(err)
	}
	c.leave()
	sees(t, a, c, false)
	ta.clock.Advance(time.Minute)
	c = ta.mustSeat(t, room, c.who)
	sees(t, a, c, true)
	receiving(t, a, 4, c)
	time.Sleep(time.Second)
	for _, s := range []*roomSeat{a, b, c} {
		if _, seen := s.Stats().Peers[hidden[0]]; seen {
			t.Errorf("%s saw the recorder", s.who.Name)
		}
	}
	ta.clock.Advance(time.Minute)
	if err := ta.Media.StopRecording(ctx, room); err != nil {
		t.Fatal(err)
	}

	sr := ta.mustStoredRecording(t, room)
	m := sr.manifest
	if m.Room != room || m.EndReason != "stopped" || !m.Final || m.Identity != hidden[0] {
		t.Errorf("manifest %+v", m)
	}
	if got := sr.files(); got["主场专家/audio"] != 1 || got["主场专家/video"] != 1 || got["副场专家/audio"] != 1 ||
		got["副场专家/video"] != 1 || got["监督席/audio"] != 2 || got["监督席/video"] != 2 {
		t.Errorf("files %v, want one per track, the rejoined seat's twice", got)
	}
	var absent []recorder.Gap
	for _, g := range m.Gaps {
		if g.Reason == recorder.GapParticipantAbsent {
			absent = append(absent, g)
		}
	}
	if len(absent) != 1 || absent[0].Participant != string(c.who.ID) || absent[0].Detail != "removed" || absent[0].End.Sub(absent[0].Start) != time.Minute {
		t.Errorf("absence gaps %+v, want the third seat's minute away", absent)
	}
	for _, p := range m.Participants {
		if p.Identity == string(c.who.ID) && (len(p.Sessions) != 2 || p.Sessions[0].LeftReason != "removed") {
			t.Errorf("the rejoined seat's sessions %+v", p.Sessions)
		}
	}
}

// TestRecordingStoredOnCloseRoom: closing the room stops and stores its recording.
func TestRecordingStoredOnCloseRoom(t *testing.T) {
	const room = "kp-close"
	ctx := context.Background()
	ta, _ := mustRoomApp(t, room, "主持人", "投标人")
	if err := ta.Media.StartRecording(ctx, room); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := ta.Media.CloseRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	sr := ta.mustStoredRecording(t, room)
	if got := sr.files(); got["主持人/audio"] != 1 || got["主持人/video"] != 1 || got["投标人/audio"] != 1 || got["投标人/video"] != 1 {
		t.Errorf("files %v", got)
	}
	if err := ta.Media.StopRecording(ctx, room); kaiping.CodeOf(err) != signaling.CodeRecordingNotActive {
		t.Errorf("StopRecording after CloseRoom = %v, want %s", err, signaling.CodeRecordingNotActive)
	}
}

// failingCatalog is the real catalog that "crashes" at Commit: what a recorder that dies
// between uploading and writing the ledger leaves behind.
type failingCatalog struct{ recordingCatalog }

func (failingCatalog) Commit(context.Context, recorder.Stored) (int64, error) {
	return 0, errors.New("the process died here")
}

// failingArchive is the real archive that "crashes" before writing anything.
type failingArchive struct{ recordingArchive }

func (failingArchive) Put(context.Context, string, io.Reader, int64, string) (recorder.Object, error) {
	return recorder.Object{}, errors.New("the process died here")
}

// mustTestRecorder is a recorder over the app's archive and catalog (either replaceable)
// with a spool of its own.
func (ta *testApp) mustTestRecorder(tb testing.TB, spool string, archive recorder.Archive, catalog recorder.Catalog) *recorder.Recorder {
	tb.Helper()
	cfg := ta.setup.Config
	if archive == nil {
		archive = recordingArchive{store: ta.Blob, bucket: cfg.Blob.ArchiveBucket, retention: blob.DefaultArchiveRetention, clock: ta.clock}
	}
	if catalog == nil {
		catalog = recordingCatalog{postgres.NewRecordingStore(ta.DB, ta.Ledger)}
	}
	r, err := recorder.New(recorder.Config{SpoolDir: spool, Loopback: true, StaleAfter: time.Minute}, archive, catalog, ta.clock, ta.log)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// recordBriefly records room for a second with r and returns the recording (not stored).
func (ta *testApp) recordBriefly(tb testing.TB, r *recorder.Recorder, room string) *recorder.Recording {
	tb.Helper()
	ctx := context.Background()
	g, err := ta.Media.Grant(ctx, room, kaiping.Principal{ID: kaiping.NewID(), Name: signaling.RecorderName},
		signaling.Permissions{Subscribe: signaling.Subscription{All: true}, Hidden: true})
	if err != nil {
		tb.Fatal(err)
	}
	rec, err := r.Start(ctx, g)
	if err != nil {
		tb.Fatal(err)
	}
	time.Sleep(time.Second)
	_ = rec.Stop(ctx)
	return rec
}

// TestRecordingRecovered: a recorder that dies after uploading but before the ledger entry
// leaves locked objects and a catalog row "uploading" that says so; Recover stores the
// recording from the spool, or, with the spool lost, from the archive after checking every
// object; one that died before uploading anything is reported incomplete.
func TestRecordingRecovered(t *testing.T) {
	const room = "kp-crash"
	ctx := context.Background()
	ta, _ := mustRoomApp(t, room, "专家", "观察")
	store := postgres.NewRecordingStore(ta.DB, ta.Ledger)
	crashing := failingCatalog{recordingCatalog{store}}
	pending := func() []postgres.Recording {
		rows, err := store.PendingRecordings(ctx, ta.clock.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}

	t.Run("from the spool", func(t *testing.T) {
		spool := t.TempDir()
		rec := ta.recordBriefly(t, ta.mustTestRecorder(t, spool, nil, crashing), room)
		if _, err := rec.Result(); err == nil {
			t.Fatal("the recording was stored despite the crash")
		}
		if rows := pending(); len(rows) != 1 || rows[0].ID != rec.ID() {
			t.Fatalf("pending %+v, want the crashed recording", rows)
		}
		rep, err := ta.mustTestRecorder(t, spool, nil, nil).Recover(ctx)
		if err != nil || len(rep.Stored) != 1 || rep.Stored[0] != rec.ID() || len(rep.Failed) != 0 {
			t.Fatalf("Recover = %+v, %v", rep, err)
		}
		if left, _ := filepath.Glob(filepath.Join(spool, "*", "*")); len(left) != 0 {
			t.Errorf("the spool still holds %v", left)
		}
	})
	ta.mustStoredRecording(t, room)

	t.Run("from the archive", func(t *testing.T) {
		spool := t.TempDir()
		rec := ta.recordBriefly(t, ta.mustTestRecorder(t, spool, nil, crashing), room)
		_, _ = rec.Result()
		if err := os.RemoveAll(spool); err != nil { // the disk is gone with the process
			t.Fatal(err)
		}
		r := ta.mustTestRecorder(t, t.TempDir(), nil, nil)
		rep, err := r.Recover(ctx)
		if err != nil || len(rep.Stored) != 0 {
			t.Fatalf("Recover before StaleAfter = %+v, %v: another replica may still be uploading", rep, err)
		}
		ta.clock.Advance(2 * time.Minute)
		rep, err = r.Recover(ctx)
		if err != nil || len(rep.Stored) != 1 || rep.Stored[0] != rec.ID() {
			t.Fatalf("Recover = %+v, %v", rep, err)
		}
		rows, _ := store.Recordings(ctx, room)
		if len(rows) != 2 || rows[1].State != postgres.RecordingStored || len(rows[1].Files) != 4 {
			t.Errorf("catalog %+v", rows)
		}
	})

	t.Run("nothing uploaded", func(t *testing.T) {
		spool := t.TempDir()
		rec := ta.recordBriefly(t, ta.mustTestRecorder(t, spool, failingArchive{}, nil), room)
		_, _ = rec.Result()
		if err := os.RemoveAll(spool); err != nil {
			t.Fatal(err)
		}
		ta.clock.Advance(2 * time.Minute)
		rep, err := ta.mustTestRecorder(t, t.TempDir(), nil, nil).Recover(ctx)
		if err != nil || len(rep.Failed) != 1 || rep.Failed[0].Recording != rec.ID() || kaiping.CodeOf(rep.Failed[0].Err) != recorder.CodeIncomplete {
			t.Fatalf("Recover = %+v, %v, want the recording reported %s", rep, err, recorder.CodeIncomplete)
		}
		if rows := pending(); len(rows) != 1 || rows[0].ID != rec.ID() {
			t.Errorf("pending %+v, want the incomplete recording still listed", rows)
		}
	})

	t.Run("tampered", func(t *testing.T) {
		// A catalog row whose manifest digest is not that of the archived manifest.
		stored, err := store.Recordings(ctx, room)
		if err != nil || len(stored) == 0 {
			t.Fatal(stored, err)
		}
		forged := stored[0]
		forged.ID, forged.ManifestSHA256, forged.BegunAt = kaiping.NewID(), strings.Repeat("0", 64), ta.clock.Now()
		if err := store.BeginRecording(ctx, forged); err != nil {
			t.Fatal(err)
		}
		ta.clock.Advance(2 * time.Minute)
		rep, err := ta.mustTestRecorder(t, t.TempDir(), nil, nil).Recover(ctx)
		var codes []string
		for _, f := range rep.Failed {
			if f.Recording == forged.ID {
				codes = append(codes, kaiping.CodeOf(f.Err))
			}
		}
		if err != nil || len(codes) != 1 || codes[0] != recorder.CodeDigestMismatch {
			t.Fatalf("Recover = %+v, %v, want the forged row refused with %s", rep, err, recorder.CodeDigestMismatch)
		}
	})
}

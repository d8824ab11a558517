package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/internal/leakscan"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// Where the scanner looks. A hit is reported with one of these and an owner: the table of a
// row or of a relation's file, the bucket of an object or of MinIO's file.
const (
	inLog       = "app log line"
	inTmp       = "app temporary folder"
	inAppFiles  = "app's own folder" // the dev setup's folder: keys, config, recording spool
	inRow       = "database row"
	inPGFile    = "PostgreSQL relation file"
	inPGWAL     = "PostgreSQL WAL"
	inPGOther   = "other PostgreSQL file" // server log, commit log, other databases
	inObject    = "object"
	inMinIOFile = "MinIO file"
)

// canaryFound is a hit and where, in the platform's terms, it is.
type canaryFound struct {
	leakscan.Hit
	where, owner string
}

func (f canaryFound) String() string {
	return fmt.Sprintf("%s (%s %s)", f.Hit, f.where, f.owner)
}

// canaryWorld is a hall world on PostgreSQL and MinIO servers of its own, with everything the
// platform keeps within the scanner's reach: the app's log lines (a handler writing to a
// buffer), its temporary folder (TMPDIR), the servers' files, the database's rows and the
// objects through the S3 API.
type canaryWorld struct {
	*hallWorld
	pg    *devenv.Postgres
	db    *pgx.Conn // the app's database, as the superuser
	minio *devenv.MinIO
	logs  *syncBuffer
	tmp   string
}

// mustCanaryWorld starts the servers and the app with its own TMPDIR and a hall world of
// three bidders in it.
func mustCanaryWorld(t *testing.T) *canaryWorld {
	t.Helper()
	ctx := context.Background()
	w := &canaryWorld{pg: devenv.OwnPostgres(t), minio: devenv.OwnMinIO(t), logs: &syncBuffer{}}
	if err := w.pg.CreateDatabase(ctx, "kaiping"); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.db, err = pgx.Connect(ctx, w.pg.URL("kaiping")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.db.Close(context.Background()) })
	// The test's first TempDir fixes the parent of all its others, so the setup's folder
	// below is not in the app's TMPDIR: that holds only what the app writes there.
	w.tmp = t.TempDir()
	t.Setenv("TMPDIR", w.tmp)
	setup := mustSetupOn(t, w.pg.URL("kaiping"), w.minio)
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.hallWorld = mustHallWorldIn(t, mustAppFrom(t, setup, log, nil), 3, nil)
	return w
}

// syncBuffer is the app's log: its handler writes from many goroutines while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// lineAt is the log line holding byte off, for the failure message.
func (b *syncBuffer) lineAt(off int64) string {
	all := b.Bytes()
	start := bytes.LastIndexByte(all[:off], '\n') + 1
	end := bytes.IndexByte(all[off:], '\n')
	if end < 0 {
		return string(all[start:])
	}
	return string(all[start : int(off)+end])
}

// newCanary is a string no bid, key or encoding produces by chance.
func newCanary(t *testing.T) string {
	const canaryPrefix = "KAIPING-CANARY-"
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return canaryPrefix + hex.EncodeToString(b)
}

// scan looks for needles everywhere and says where each hit is. The database is
// checkpointed first, so that what is in shared buffers only is on disk too.
func (w *canaryWorld) scan(t *testing.T, needles []leakscan.Needle) []canaryFound {
	t.Helper()
	var out []canaryFound
	add := func(where string, owner func(leakscan.Hit) string, hits []leakscan.Hit, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("scanning %s: %v", where, err)
		}
		for _, h := range hits {
			out = append(out, canaryFound{Hit: h, where: where, owner: owner(h)})
		}
	}
	none := func(leakscan.Hit) string { return "" }

	add(inLog, func(h leakscan.Hit) string { return w.logs.lineAt(h.Offset) }, leakscan.Bytes("log", w.logs.Bytes(), needles), nil)
	hits, err := leakscan.Dir(w.tmp, needles)
	add(inTmp, none, hits, err)
	hits, err = leakscan.Dir(w.ta.setup.Dir, needles)
	add(inAppFiles, none, hits, err)

	rows := w.scanRows(t, needles)
	add(inRow, func(h leakscan.Hit) string { table, _, _ := strings.Cut(h.Place, " "); return table }, rows, nil)

	w.mustSQL(t, "CHECKPOINT")
	relations := w.relationFiles(t)
	hits, err = leakscan.Dir(w.pg.Dir, needles) // data/ and the server's log beside it
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		rel, _ := filepath.Rel(w.pg.DataDir(), h.Place)
		switch {
		case strings.HasPrefix(rel, "pg_wal"+string(filepath.Separator)):
			out = append(out, canaryFound{Hit: h, where: inPGWAL})
		case relations[relationFile(rel)] != "":
			out = append(out, canaryFound{Hit: h, where: inPGFile, owner: relations[relationFile(rel)]})
		default:
			out = append(out, canaryFound{Hit: h, where: inPGOther, owner: rel})
		}
	}

	hits, err = leakscan.Dir(w.minio.Dir, needles) // data/ and the server's log beside it
	add(inMinIOFile, func(h leakscan.Hit) string {
		rel, _ := filepath.Rel(w.minio.DataDir(), h.Place)
		bucket, _, _ := strings.Cut(rel, string(filepath.Separator))
		return bucket
	}, hits, err)
	add(inObject, func(h leakscan.Hit) string {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(h.Place, "s3://"), "/")
		return bucket
	}, w.scanObjects(t, needles), nil)
	return out
}

// mustSQL runs sql in the app's database as the superuser.
func (w *canaryWorld) mustSQL(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// scanRows reads every row of every table of the app's database as text (bytea as hex,
// which Encoded looks for), each hit placed as "table row n". Rows are read through SQL as
// well as from the files because a value of more than about 2 kB is compressed in its file.
func (w *canaryWorld) scanRows(t *testing.T, needles []leakscan.Needle) []leakscan.Hit {
	t.Helper()
	ctx := context.Background()
	rows, err := w.db.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables of the app's database: %v, %v", tables, err)
	}
	var hits []leakscan.Hit
	for _, table := range tables {
		rows, err := w.db.Query(ctx, `SELECT t::text FROM `+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("rows of %s: %v", table, err)
		}
		for i, text := range texts {
			hits = append(hits, leakscan.Bytes(fmt.Sprintf("%s row %d", strings.TrimPrefix(table, "public."), i+1), []byte(text), needles)...)
		}
	}
	return hits
}

// relationFiles maps the file of each relation of the app's database (base/db/file) to the
// table it belongs to: a TOAST table's file to its owner's name.
func (w *canaryWorld) relationFiles(t *testing.T) map[string]string {
	t.Helper()
	rows, err := w.db.Query(context.Background(), `SELECT pg_relation_filepath(c.oid), coalesce(owner.relname, c.relname)
		FROM pg_class c LEFT JOIN pg_class owner ON owner.reltoastrelid = c.oid
		WHERE pg_relation_filepath(c.oid) IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	var path, name string
	_, err = pgx.ForEachRow(rows, []any{&path, &name}, func() error { m[path] = name; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// relationFile is the relation path of one of its files: base/1/2 for base/1/2.3 (the
// fourth gigabyte), base/1/2_fsm and base/1/2_vm.
func relationFile(rel string) string {
	dir, file := filepath.Split(rel)
	file, _, _ = strings.Cut(file, ".")
	file, _, _ = strings.Cut(file, "_")
	return dir + file
}

// scanObjects reads every version of every object in every bucket through the S3 API.
func (w *canaryWorld) scanObjects(t *testing.T, needles []leakscan.Needle) []leakscan.Hit {
	t.Helper()
	ctx := context.Background()
	c, err := w.minio.Client()
	if err != nil {
		t.Fatal(err)
	}
	buckets, err := c.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var hits []leakscan.Hit
	objects := 0
	for _, b := range buckets {
		for o := range c.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			if o.IsDeleteMarker {
				continue
			}
			r, err := c.GetObject(ctx, b.Name, o.Key, minio.GetObjectOptions{VersionID: o.VersionID})
			if err != nil {
				t.Fatal(err)
			}
			h, err := leakscan.Reader(fmt.Sprintf("s3://%s/%s?versionId=%s", b.Name, o.Key, o.VersionID), r, needles)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			hits = append(hits, h...)
			objects++
		}
	}
	if objects == 0 {
		t.Fatal("no object in any bucket: the scan would prove nothing")
	}
	return hits
}

// TestCanary: a bidder's summary and technical envelopes each hold a random canary. Sealed
// with the bidder tool's code and submitted through the API, neither canary is anywhere the
// platform keeps anything — log lines, temporary files, the database's rows and files
// (tables and WAL), MinIO's files, objects — in the clear or encoded, before the deadline
// and once the bid set is sealed. After the opening the summary's canary is only where the
// design puts what is read out (开标记录): the decrypted summary values, the published
// record, the archived record, and the WAL that wrote them; the technical envelope's canary
// is still nowhere, even after the committee has read every opened envelope back through
// OpenedBids. A secret planted in each place is found, so a blind scanner cannot pass.
//
// What the files cannot show: PostgreSQL compresses a value of more than about 2 kB (the
// record's body is one), so the raw scan misses it there, and in a dead row version of it;
// the rows are read through SQL too for that.
func TestCanary(t *testing.T) {
	start := time.Now()
	w := mustCanaryWorld(t)
	ctx := context.Background()
	summaryCanary, technicalCanary := newCanary(t), newCanary(t)
	summaryNeedles, technicalNeedles := leakscan.Encoded("summary canary", []byte(summaryCanary)), leakscan.Encoded("technical canary", []byte(technicalCanary))
	both := append(slices.Clone(summaryNeedles), technicalNeedles...)

	a := w.bidders[0]
	w.mustSubmit(t, a, seal.Summary, fmt.Appendf(nil, `{"price":"12345678.9","duration":300,"quality":"合格 %s"}`, summaryCanary))
	// A technical envelope of several chunks, the canary in the first and the last.
	filler := bytes.Repeat([]byte("施工组织设计：基础、主体、装饰装修各阶段的工期、质量与安全保证措施。\n"), 2000)
	w.mustSubmit(t, a, seal.Technical, slices.Concat([]byte("技术标 "+technicalCanary+"\n"), filler, []byte(technicalCanary)))
	for i, b := range w.bidders[1:] {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(fmt.Sprint(11000000+i), 280))
	}
	expectNowhere := func(moment string) {
		t.Helper()
		for _, f := range w.scan(t, both) {
			t.Errorf("%s: %s", moment, f)
		}
	}
	expectNowhere("before the deadline")

	w.sealNow(t)
	if board := w.board(t); board.State != opening.HallSealed || board.Envelopes != 4 {
		t.Fatalf("hall after sealing: %+v", board.HallView)
	}
	expectNowhere("with the bid set sealed")

	w.mustDecryptRound(t, w.bidders, len(w.bidders))
	w.mustMove(t, opening.HallPublished, 0) // every bid decrypted: no need to wait for the window's end
	_, rec := w.record(t, w.host)
	if line := rec.Bids[slices.IndexFunc(rec.Bids, func(b opening.RecordBid) bool { return b.Bidder == a.id })]; line.Values["quality"] != "合格 "+summaryCanary {
		t.Fatalf("the record reads %q from the summary, want the canary", line.Values["quality"])
	}
	w.waitExports(t, 2) // the PDF and the JSON are archived

	// The committee reads every opened envelope back, streamed from storage: whatever the
	// read keeps (the ledger entry, the log) must hold neither canary.
	opened, err := w.ta.OpenedBids.List(ctx, w.section.ID)
	if err != nil || len(opened) != 4 {
		t.Fatalf("opened bids: %d, %v; want 4", len(opened), err)
	}
	member := kaiping.ActorAt(principalID(t, w.host), netip.MustParseAddr("127.0.0.1"), w.ta.clock.Now())
	for _, o := range opened {
		_, plain, err := readAll(ctx, w.ta.OpenedBids, member, o.Envelope)
		if err != nil {
			t.Fatalf("read %s's %s: %v", o.BidderName, o.Kind, err)
		}
		if o.Bidder == a.id && o.Kind == string(seal.Technical) && bytes.Count(plain, []byte(technicalCanary)) != 2 {
			t.Errorf("the technical envelope read back does not hold its canary twice")
		}
	}

	// Where the design keeps what was read out at the opening: the decrypted summary values
	// (evaluation reads them) and the record; the events and ledger entries that publish
	// them hold digests only. Then the archived record (its JSON: the PDF sets text as
	// compressed glyph numbers, which no byte search reads).
	// (hall_final_records holds the record again once the hall closes, with what followed.)
	allowedTables := []string{"hall_envelopes", "hall_records", "hall_final_records"}
	archive := w.ta.setup.Config.Blob.ArchiveBucket
	allowed := func(f canaryFound) bool {
		switch f.where {
		case inRow, inPGFile:
			return slices.Contains(allowedTables, f.owner)
		case inPGWAL:
			return true // the WAL holds every row written, of every table
		case inObject, inMinIOFile:
			return f.owner == archive
		}
		return false
	}
	var seen []string
	for _, f := range w.scan(t, both) {
		switch {
		case f.Needle.Secret == "technical canary":
			t.Errorf("after the opening: %s", f)
		case !allowed(f):
			t.Errorf("after the opening, outside what the design allows: %s", f)
		default:
			seen = append(seen, strings.TrimSpace(f.where+" "+f.owner))
		}
	}
	slices.Sort(seen)
	seen = slices.Compact(seen)
	t.Logf("the summary's canary after the opening: %s", strings.Join(seen, "; "))
	for _, must := range []string{inRow + " hall_records", inObject + " " + archive} {
		if !slices.Contains(seen, must) {
			t.Errorf("the summary's canary is not in the %s after the opening", must)
		}
	}

	t.Run("a planted secret is found in every place", func(t *testing.T) {
		planted := []byte(newCanary(t))
		needles := leakscan.Encoded("planted", planted)
		// Each place gets it in another encoding, so each encoding is shown to be found.
		w.ta.log.Info("planted for the scanner's self-check", "value", base64.StdEncoding.EncodeToString(append([]byte{1}, planted...)))
		f, err := os.CreateTemp("", "planted-*")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Write(needles[slices.IndexFunc(needles, func(n leakscan.Needle) bool { return n.Encoding == "utf-16le" })].Bytes)
		if err != nil || f.Close() != nil {
			t.Fatal(err)
		}
		w.mustSQL(t, `CREATE TABLE canary_planted (body text)`)
		w.mustSQL(t, `INSERT INTO canary_planted VALUES ($1)`, string(planted))
		c, err := w.minio.Client()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.MakeBucket(ctx, "canary-planted", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		body := hex.EncodeToString(planted)
		if _, err := c.PutObject(ctx, "canary-planted", "planted", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, f := range w.scan(t, needles) {
			found[f.where] = true
		}
		for _, where := range []string{inLog, inTmp, inRow, inPGFile, inPGWAL, inObject, inMinIOFile} {
			if !found[where] {
				t.Errorf("a secret planted in the %s was not found", where)
			}
		}
	})
	t.Logf("canary suite: %s", time.Since(start).Round(time.Millisecond))
}

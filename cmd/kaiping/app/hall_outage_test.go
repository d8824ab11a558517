package app

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/blob"
)

// TestHallStorageOutage cuts the object storage server (a MinIO of this test's own, stopped
// and started again on the same address and drive) during an opening. While it is down the
// decrypt window does not open (headers would be out of the bidders' reach); once open, a
// bidder hands in its key during an outage without noticing, the key stays queued and is
// retried, publication is refused with hall.storage_unhealthy and the window does not end
// on its clock, the host's board saying why. When storage is back the bid is verified and
// opened; with storage down once more the record (archived there) still waits; then it is
// published with three valid bids (no 流标, nothing counted against the bidder), and the
// ledger verifies.
func TestHallStorageOutage(t *testing.T) {
	ctx := context.Background()
	m := devenv.OwnMinIO(t)
	ta := mustAppFrom(t, mustSetupOn(t, devenv.Database(t), m), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	w := mustHallWorldIn(t, ta, 3, nil)
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(3000000+i), 120))
	}
	w.sealNow(t)
	w.mustMove(t, opening.HallCheckingIn, 0)
	for _, b := range w.bidders {
		if err := w.checkIn(b); err != nil {
			t.Fatal(err)
		}
	}
	ends := w.checkInOpened.Add(time.Duration(w.tender.CheckInMinutes) * time.Minute)
	w.ta.clock.Set(ends)

	// Storage down before the window: it does not open, and nothing is cached or moved.
	m.Stop()
	w.refused(t, "decrypt window opened while storage is down", "hall.storage_unhealthy",
		func() error { return second(w.move(w.host, opening.HallDecrypting, 0)) })
	if b := w.board(t); b.Storage.Healthy || !strings.Contains(b.Storage.Notice, "不能开启解密") {
		t.Errorf("board while storage is down before the window: %+v", b.Storage)
	}
	mustRestart(t, m)
	w.mustMove(t, opening.HallDecrypting, 0)
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	w.mustUnlockAll(t, a)
	w.mustUnlockAll(t, b)
	w.waitVerified(t, a)
	w.waitVerified(t, b)

	// Storage down mid-window: 丙 fetches its headers and hands in its key all the same.
	m.Stop()
	w.mustUnlockAll(t, c)
	waiting := func() opening.UnlockStatus {
		t.Helper()
		for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
			s := w.view(t, c).Envelopes[0]
			if s.Waiting != "" {
				return s
			}
			if s.State != opening.EnvQueued && s.State != opening.EnvVerifying || time.Since(start) > time.Minute {
				t.Fatalf("丙's envelope while storage is down: %+v", s)
			}
		}
	}()
	if waiting.State != opening.EnvQueued && waiting.State != opening.EnvVerifying || waiting.ErrorCode != "blob_unavailable" || !strings.Contains(waiting.Waiting, "不计为投标人原因") {
		t.Errorf("丙's envelope while storage is down: %+v", waiting)
	}
	w.refused(t, "publication while a key waits for storage", "hall.storage_unhealthy",
		func() error { return second(w.move(w.host, opening.HallPublished, 0)) })

	// From here a hall of the test's own verifies, and moves on the clock only when told
	// (Due), as the app's does every few seconds: each step below is seen, not raced.
	hall := mustTestHall(t, w, func(ctx context.Context, key, version string) (io.ReadCloser, error) {
		r, _, err := w.ta.Blob.GetVersion(ctx, w.ta.setup.Config.Blob.BidsBucket, key, version)
		return r, err
	})
	hall.CheckStorageWith(w.ta.Blob.Ping)

	// The window's end passes during the outage: it does not end, the board says why.
	w.ta.clock.Set(*w.board(t).WindowClosesAt)
	w.relogin(t)
	if err := hall.Due(ctx); err != nil { // and takes over 丙's key, queued before RequeueAfter
		t.Fatal(err)
	}
	board := w.board(t)
	if board.State != opening.HallDecrypting || board.Storage.Healthy || board.Storage.Waiting != 1 ||
		!strings.Contains(board.Storage.Notice, "1 份投标文件的密钥已按时提交") {
		t.Fatalf("hall after the window's end while storage is down: %s, storage %+v", board.State, board.Storage)
	}
	w.refused(t, "a key after the window's end", "hall.window_closed",
		func() error { return second(w.unlock(a, w.headers(t, a)[0].Envelope, make([]byte, 32))) })

	// Storage back: 丙's key is verified. Down again: the record, archived in storage,
	// waits for it; then it is published.
	mustRestart(t, m)
	if v := w.waitVerified(t, c); v.Envelopes[0].State != opening.EnvDecrypted {
		t.Fatalf("丙's envelope after storage came back: %+v", v.Envelopes[0])
	}
	m.Stop()
	if err := hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	if board := w.board(t); board.State != opening.HallDecrypting || board.Storage.Healthy || board.Storage.Waiting != 0 ||
		!strings.Contains(board.Storage.Notice, "公布开标记录") {
		t.Fatalf("hall with every key verified while storage is down: %s, storage %+v", board.State, board.Storage)
	}
	mustRestart(t, m)
	if err := hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	board = w.board(t)
	if board.State != opening.HallPublished || !board.Storage.Healthy || board.Storage.Waiting != 0 {
		t.Fatalf("hall once storage is back: %s %q, storage %+v", board.State, board.Reason, board.Storage)
	}
	_, rec := w.record(t, w.host)
	if rec.ValidBids != 3 || rec.Outcome == string(opening.HallFailed) {
		t.Errorf("record: %d valid bids, outcome %s", rec.ValidBids, rec.Outcome)
	}
	for _, bid := range rec.Bids {
		if bid.Status != opening.BidOpened || bid.Values["price"] == "" {
			t.Errorf("%s: %s %s", bid.BidderName, bid.Status, bid.Reason)
		}
	}
	w.ta.ledgerSize(t)
}

// mustRestart brings the test's own storage server back.
func mustRestart(t *testing.T, m *devenv.MinIO) {
	t.Helper()
	if err := m.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHallVerifyReadCut: storage that drops the connection in the middle of an envelope (a
// TCP proxy between the hall and MinIO cuts the first answer past 64 KiB) hands the opener a
// file that ends early, which it cannot tell from a truncated file. The bytes read are not
// the ones receipted, so the failure is ours, not the bidder's: the envelope stays queued,
// is read again, and opens. And an envelope an older version left in error (our failure,
// its key held) is queued again and verified on the hall's next round, without the bidder.
func TestHallVerifyReadCut(t *testing.T) {
	ctx := context.Background()
	w := mustHallWorld(t, 3, nil)
	a := w.bidders[0]
	tech := make([]byte, 512<<10)
	rand.Read(tech)
	w.mustSubmit(t, a, seal.Technical, tech)
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON(strconv.Itoa(3000000+i), 120))
	}
	w.sealNow(t)
	m := devenv.MinIOServer(t)
	proxy := startCuttingProxy(t, m.Endpoint, 64<<10, 1)
	store, err := blob.New(blob.Config{Endpoint: proxy.ln.Addr().String(), AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	hall := mustTestHall(t, w, func(ctx context.Context, key, version string) (io.ReadCloser, error) {
		r, _, err := store.GetVersion(ctx, w.ta.setup.Config.Blob.BidsBucket, key, version)
		return r, err
	})
	w.mustMove(t, opening.HallCheckingIn, 0)
	if err := w.checkIn(a); err != nil {
		t.Fatal(err)
	}
	w.mustMove(t, opening.HallDecrypting, 0)
	h := headerOf(t, w.headers(t, a), seal.Technical)
	actor := kaiping.ActorAt(a.id, netip.MustParseAddr("127.0.0.1"), w.ta.clock.Now())
	if _, err := hall.Unlock(ctx, actor, w.tender.ID, "BD1", opening.UnlockRequest{Envelope: h.Envelope, FileKey: fileKey(t, a, h)}); err != nil {
		t.Fatal(err)
	}
	settled := func(envelope kaiping.ID) opening.UnlockStatus {
		t.Helper()
		for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
			v, err := hall.BidderView(ctx, actor, w.tender.ID, "BD1")
			if err != nil {
				t.Fatal(err)
			}
			s := v.Envelopes[slices.IndexFunc(v.Envelopes, func(s opening.UnlockStatus) bool { return s.Envelope == envelope })]
			if s.State != opening.EnvQueued && s.State != opening.EnvVerifying {
				return s
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("envelope still %+v", s)
			}
		}
	}
	if s := settled(h.Envelope); s.State != opening.EnvDecrypted || proxy.cut.Load() != 1 {
		t.Fatalf("technical envelope after a read cut short: %+v (%d cuts)", s, proxy.cut.Load())
	}

	// 甲's summary as an older version left it when storage failed: in error, key held.
	sum := headerOf(t, w.headers(t, a), seal.Summary)
	if _, err := hall.Unlock(ctx, actor, w.tender.ID, "BD1", opening.UnlockRequest{Envelope: sum.Envelope, FileKey: fileKey(t, a, sum)}); err != nil {
		t.Fatal(err)
	}
	settled(sum.Envelope)
	if _, err := w.ta.DB.Pool.Exec(ctx, `UPDATE hall_envelopes SET state = 'error', error_code = 'hall.platform_error',
		plaintext_size = NULL, plaintext_digest = '', chunks = NULL, summary = NULL, decrypted_at = NULL
		WHERE envelope_id = $1`, sum.Envelope); err != nil {
		t.Fatal(err)
	}
	w.ta.clock.Advance(opening.DefaultHallConfig.RequeueAfter)
	if err := hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	if s := settled(sum.Envelope); s.State != opening.EnvDecrypted || s.ErrorCode != "" {
		t.Errorf("an envelope left in error after the hall's next round: %+v", s)
	}
}

// cuttingProxy forwards TCP connections to a server and cuts the first few connections
// whose answers pass limit bytes, mid-stream, as a storage server or a network dropping out
// during a read would.
type cuttingProxy struct {
	ln     net.Listener
	target string
	limit  int64
	left   atomic.Int32 // cuts still to make
	cut    atomic.Int32 // cuts made
}

func startCuttingProxy(t *testing.T, target string, limit int64, cuts int32) *cuttingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, target: target, limit: limit}
	p.left.Store(cuts)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

// pipe forwards one connection both ways; the answer is cut after limit bytes while cuts
// are left.
func (p *cuttingProxy) pipe(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() { _, _ = io.Copy(s, c) }()
	if n, _ := io.CopyN(c, s, p.limit); n == p.limit && p.left.Add(-1) >= 0 {
		p.cut.Add(1)
		return
	}
	_, _ = io.Copy(c, s)
}

package app

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestClockSync: with the clock check on against an NTP server, a clock further off than
// clock.max_offset judges no deadline: completing a bid is refused with clock.unsynchronised
// and records nothing (no envelope, no ledger entry, the upload still open), sealing is
// refused, and /readyz and the host's board say why in Chinese. Back within the bound, the
// same completion is accepted.
func TestClockSync(t *testing.T) {
	ntp := devenv.StartNTPServer(t)
	ta := mustAppWith(t, func(c *Config) {
		// The kernel's state is this machine's, not the test's: only the NTP offset is.
		c.Clock = ClockConfig{Check: true, NTPServers: []string{ntp.Addr}, MaxOffset: Duration(500 * time.Millisecond),
			Interval: Duration(time.Minute)}
	})
	ctx := context.Background()
	w := mustSubmissionWorldIn(t, ta, nil)
	if st := ta.ClockSync.Status(); st.Problem != "" {
		t.Fatalf("the clock is not trusted against a server with the same time: %+v", st)
	}
	file := mustSeal(t, w.binding(seal.Summary), []byte(`{"price":"100.00"}`), w.bidderCert)
	tk := w.startUpload(t, w.bidder, file)

	ntp.SetOffset(2 * time.Second)
	if st := ta.ClockSync.Check(ctx); !strings.Contains(st.Problem, "超过允许的 500ms") {
		t.Fatalf("an offset of 2s: %+v", st)
	}
	before := ta.ledgerSize(t)
	_, err := bidder.NewSubmitter(w.bidder).Finish(ctx, tk, bytes.NewReader(file), mustChecked(t, file, w.bidderCert))
	if apiCode(err) != "clock.unsynchronised" {
		t.Fatalf("completion on an untrusted clock: %v, want clock.unsynchronised", err)
	}
	if after := ta.ledgerSize(t); after != before {
		t.Errorf("the refused completion wrote %d ledger entries", after-before)
	}
	if st := w.status(t, w.bidder); len(st.Envelopes) != 0 || len(st.Uploads) != 1 {
		t.Errorf("after the refusal: %d envelopes, %d open uploads; want 0 and the one still open", len(st.Envelopes), len(st.Uploads))
	}
	if _, err := ta.Submit.SealDue(ctx); kaiping.CodeOf(err) != "clock.unsynchronised" {
		t.Errorf("sealing on an untrusted clock: %v", err)
	}
	status, body := get(t, ta.base+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "服务器时钟未同步") {
		t.Errorf("public /readyz: %d %s", status, body)
	}
	if status, body := get(t, "http://"+ta.InternalAddr()+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, `"clock":"clock.unsynchronised`) {
		t.Errorf("internal /readyz: %d %s", status, body)
	}
	var board opening.BoardView
	if err := w.host.Do(ctx, http.MethodGet, w.path("/hall/board"), nil, &board); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(board.ClockProblem, "超过允许的 500ms") {
		t.Errorf("the host's board says %q", board.ClockProblem)
	}
	live := mustDialLive(t, ta.base, w.path("/hall/live"), w.host.Token)
	if pong := livePong(t, live); !strings.Contains(pong.ClockProblem, "超过允许的 500ms") {
		t.Errorf("the host's live connection says %q", pong.ClockProblem)
	}

	ntp.SetOffset(100 * time.Millisecond)
	if st := ta.ClockSync.Check(ctx); st.Problem != "" {
		t.Fatalf("back within the bound: %+v", st)
	}
	rc, err := bidder.NewSubmitter(w.bidder).Finish(ctx, tk, bytes.NewReader(file), mustChecked(t, file, w.bidderCert))
	if err != nil {
		t.Fatalf("completion on a trusted clock again: %v", err)
	}
	if len(rc.Envelopes) != 1 {
		t.Fatalf("receipt: %+v", rc)
	}
	if status, body := get(t, ta.base+"/readyz"); status != http.StatusOK {
		t.Errorf("public /readyz once synchronised: %d %s", status, body)
	}
	if pong := livePong(t, live); pong.ClockProblem != "" {
		t.Errorf("the live connection once synchronised says %q", pong.ClockProblem)
	}
	var synced opening.BoardView
	if err := w.host.Do(ctx, http.MethodGet, w.path("/hall/board"), nil, &synced); err != nil || synced.ClockProblem != "" {
		t.Errorf("the board once synchronised: %q, %v", synced.ClockProblem, err)
	}
}

// livePong pings over a live connection and returns the pong.
func livePong(t *testing.T, c *liveClient) opening.LiveMessage {
	t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","t":1}`)); err != nil {
		t.Fatal(err)
	}
	return c.next("pong", func(m opening.LiveMessage) bool { return m.Type == opening.LivePong })
}

// TestClockSyncHall: on an untrusted clock the decrypt window's end is not judged (the
// record is not published at it), and a right key handed in meanwhile is refused with
// clock.unsynchronised but kept as our refusal, so that the bidder's bid counts as 撤回 (our
// failure), not 撤销, when the window is judged closed once the clock is back.
func TestClockSyncHall(t *testing.T) {
	ntp := devenv.StartNTPServer(t)
	ta := mustAppWith(t, func(c *Config) {
		c.Clock = ClockConfig{Check: true, NTPServers: []string{ntp.Addr}, MaxOffset: Duration(500 * time.Millisecond),
			Interval: Duration(time.Minute)}
	})
	ctx := context.Background()
	w := mustHallWorldIn(t, ta, 4, nil)
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON("9800"+string(rune('0'+i)), 180))
	}
	w.sealNow(t)
	st := w.mustDecryptRound(t, w.bidders, 3)
	late := w.bidders[3]
	headers := w.headers(t, late)

	ntp.SetOffset(-2 * time.Second)
	ta.ClockSync.Check(ctx)
	if _, err := w.unlock(late, headers[0].Envelope, fileKey(t, late, headers[0])); apiCode(err) != "clock.unsynchronised" {
		t.Fatalf("unlock on an untrusted clock: %v", err)
	}
	ta.clock.Set(*st.WindowClosesAt)
	if err := ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t) // the sessions ran out with the window
	if b := w.board(t); b.State != opening.HallDecrypting {
		t.Fatalf("the window's end was judged on an untrusted clock: %s", b.State)
	}
	if err := w.host.Do(ctx, http.MethodPost, w.hallPath("/transitions"), opening.TransitionRequest{To: opening.HallPublished}, nil); apiCode(err) != "clock.unsynchronised" {
		t.Errorf("the host publishes on an untrusted clock: %v", err)
	}

	ntp.SetOffset(0)
	ta.ClockSync.Check(ctx)
	if err := ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	_, rec := w.record(t, w.host)
	for _, b := range rec.Bids {
		want := opening.BidOpened
		if b.Bidder == late.id {
			want = opening.OutcomeWithdrawn
		}
		if b.Status != want {
			t.Errorf("%s: %s (%s), want %s", b.BidderName, b.Status, b.Reason, want)
		}
	}
}

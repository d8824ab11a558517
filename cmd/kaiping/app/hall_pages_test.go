package app

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestHallPages drives the hall's pages in headless Chromium through a whole opening: the
// host's console and a bidder's hall side by side, each following the other's actions over
// the live connection without ever reloading: check-in and attendance, the countdown of the
// decrypt window against the server's clock, the bidder's envelope decrypted by its tool,
// the published record, an objection answered, a refused and an accepted confirmation.
func TestHallPages(t *testing.T) {
	w := mustHallWorld(t, 3, nil)
	ctx := context.Background()
	prices := []string{"12345678.9", "11800000", "9999999.99"}
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON(prices[i], 300+i))
	}
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	br := mustBrowser(t)
	query := "?tender=" + string(w.tender.ID) + "&section=BD1"

	t.Run("without a session the hall pages ask to log in and show nothing", func(t *testing.T) {
		for _, p := range []string{"hall/bidder.html" + query, "hall/host.html" + query} {
			pg := br.open(t, w.ta.base+"/"+p)
			pg.waitText("main", "请先登录")
			if text := pg.text("main"); strings.Contains(text, w.tender.Title) {
				t.Errorf("%s without a session shows the tender:\n%s", p, text)
			}
		}
	})

	w.sealNow(t)
	host := br.open(t, web.LoginLink(w.ta.base, "hall/host.html"+query, w.host.Token))
	host.waitText("#live", "实时连接正常")
	host.waitText("#head", w.tender.Title, "已截标封存")
	host.waitText("#attendance", "已签到 0 / 3 家")
	// Every time a person reads says it is Beijing time; a span says it once, at its end.
	times := host.waitText("#times", w.tender.Deadline.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05")+"（北京时间）")
	if bare := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?(（北京时间）| 至 )`).ReplaceAllString(times, ""); regexp.MustCompile(`\d\d:\d\d`).MatchString(bare) {
		t.Errorf("the hall shows a time not labelled as Beijing time:\n%s", times)
	}
	bidder := br.open(t, web.LoginLink(w.ta.base, "hall/bidder.html"+query, a.c.Token))
	bidder.waitText("#live", "实时连接正常")
	bidder.waitText("#head", w.tender.Title, "已截标封存")
	bidder.waitText("#video", "开标直播将在签到开始后开启")
	bidder.waitText("#countdown", "解密尚未开始")
	var disabled bool
	bidder.eval(`document.querySelector("#checkin-btn").disabled`, &disabled)
	if !disabled {
		t.Error("the check-in button is enabled before check-in opens")
	}
	// Marks that live as long as each page is not reloaded.
	for _, pg := range []*page{host, bidder} {
		pg.eval(`window.kaipingStayed = true`, nil)
	}

	// The clock: the page shows the hall's server time (the test's clock, not the wall's)
	// and how far this computer's clock is from it.
	bidder.waitText("#hall-clock", "服务器时间", "本机时钟", "往返")
	var offsetMS float64
	bidder.eval(`Number(document.querySelector("#hall-clock").dataset.offsetMs)`, &offsetMS)
	if want := time.Until(w.ta.clock.Now()); (time.Duration(offsetMS)*time.Millisecond - want).Abs() > 3*time.Second {
		t.Errorf("the page's clock offset is %v ms, want about %v (the server's clock)", offsetMS, want)
	}

	host.click("#to-checking_in")
	bidder.waitText("#head", "签到中")
	bidder.waitText("#checkin-state", "签到进行中")
	bidder.click("#checkin-btn")
	bidder.waitText("#checkin-state", "已签到")
	host.waitText("#attendance", "已签到 1 / 3 家")
	host.waitCount(`#board tr[data-checked-in="yes"]`, 1)
	host.waitText(`#board tr[data-bidder="`+string(a.id)+`"]`, a.name)
	for _, x := range []*hallBidder{b, c} {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	host.waitText("#attendance", "已签到 3 / 3 家")
	host.waitText("#log", "已签到")

	host.set("#window-minutes", "30")
	w.ta.clock.Advance(time.Duration(w.tender.CheckInMinutes) * time.Minute) // the check-in period runs out
	// Opening the window asks first, saying who has not checked in (here: nobody).
	host.click("#to-decrypting")
	host.waitText("#confirm-dialog", "开启解密", "所有投标人均已签到", "不可撤销")
	host.click("#confirm-dialog .dialog-ok")
	bidder.waitText("#head", "解密中")
	first := bidder.waitText("#countdown", "剩余")
	if !regexp.MustCompile(`^剩余 (29|30) 分 \d+ 秒$`).MatchString(first) {
		t.Errorf("countdown %q, want about 30 minutes against the server's clock", first)
	}
	time.Sleep(1100 * time.Millisecond)
	if again := bidder.text("#countdown"); again == first {
		t.Errorf("the countdown stands still at %q", again)
	}
	host.waitText("#countdown", "剩余")
	bidder.waitText(`#envelopes tr[data-kind="summary"]`, "未解密")

	// The bidder's tool decrypts; its page follows.
	w.mustUnlockAll(t, a)
	bidder.waitText(`#envelopes tr[data-kind="summary"]`, "已解密")
	for _, x := range []*hallBidder{b, c} {
		w.mustUnlockAll(t, x)
		w.waitVerified(t, x)
	}
	host.waitText("#attendance", "已解密 3 / 3 份")
	host.waitCount(`#board .badge.decrypted`, 3)

	host.click("#to-published")
	for _, pg := range []*page{host, bidder} {
		pg.waitText("#record-body", a.name, "12345678.90", b.name, "11800000.00", c.name, "9999999.99", "有效投标 3 家")
	}
	pr, _ := w.record(t, a.c)
	if got := bidder.attrs("#record-body .record", "data-digest"); len(got) != 1 || got[0] != pr.Digest {
		t.Errorf("the page shows the record %v, the API %s", got, pr.Digest)
	}

	// An objection, answered by the host in the hall.
	bidder.set("#objection-text", "请说明丙公司报价保留两位小数的依据")
	bidder.click("#object-btn")
	bidder.waitText("#object-msg", "异议已提交")
	bidder.waitText("#objections", "我方异议：请说明丙公司报价", "等待主持人答复")
	host.waitText("#objections", a.name, "请说明丙公司报价保留两位小数的依据")
	host.set("#objections .answer-text", "报价以开标一览表为准，金额保留两位小数")
	host.click("#objections .answer-btn")
	host.waitText("#answer-msg", "已答复")
	bidder.waitText("#objections", "主持人答复：报价以开标一览表为准")

	host.click("#to-confirming")
	bidder.waitText("#sign-message", "KAIPING-RECORD-V1", pr.Digest)
	bidder.waitText("#confirm-form", "openssl dgst", pr.Digest)
	// Signed with another bidder's key: refused with its code, nothing recorded.
	wrong, err := opening.SignRecord(b.cert.Key, pr.Digest)
	if err != nil {
		t.Fatal(err)
	}
	bidder.set("#signature", base64.StdEncoding.EncodeToString(wrong))
	bidder.click("#confirm-btn")
	bidder.waitText("#confirm-msg", "hall.bad_signature", "签名验证失败")
	if got := w.board(t); got.Board[0].Confirmed != nil || got.Board[1].Confirmed != nil || got.Board[2].Confirmed != nil {
		t.Error("a refused signature confirmed the record")
	}
	// The right one, uploaded as the DER file a signing tool writes.
	sig, err := opening.SignRecord(a.cert.Key, pr.Digest)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "record.sig")
	if err := os.WriteFile(file, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	bidder.set("#signature", "")
	bidder.upload("#signature-file", file)
	bidder.click("#confirm-btn")
	bidder.waitText("#confirm-state", "签名确认开标记录")
	host.waitCount(`#board tr[data-confirmed="yes"]`, 1)
	host.waitText(`#board tr[data-bidder="`+string(a.id)+`"]`, "已确认")

	// The other two neither confirm nor object: they keep the whole confirmation period,
	// after which the host may end the opening (or the platform ends it on its own).
	w.ta.clock.Set(*w.board(t).ConfirmEndsAt)
	// Ending asks first and names the two who have not confirmed; cancelled, nothing moves.
	host.click("#to-closed")
	ask := host.waitText("#confirm-dialog", "结束开标", "尚未确认开标记录的投标人（2）", b.name, c.name)
	if strings.Contains(ask, a.name) {
		t.Errorf("the dialog names %s, who confirmed:\n%s", a.name, ask)
	}
	host.click("#confirm-dialog .dialog-cancel")
	host.waitCount("#confirm-dialog", 0)
	if st := w.board(t).State; st != opening.HallConfirming {
		t.Fatalf("after a cancelled close the hall is %s", st)
	}
	host.click("#to-closed")
	host.waitCount("#confirm-dialog[open]", 1)
	host.click("#confirm-dialog .dialog-ok")
	bidder.waitText("#head", "开标结束")
	host.waitText("#head", "开标结束")
	for name, pg := range map[string]*page{"host": host, "bidder": bidder} {
		var stayed bool
		pg.eval(`window.kaipingStayed === true`, &stayed)
		if !stayed {
			t.Errorf("the %s's page was reloaded: it must follow the hall live", name)
		}
	}
	var confirmations []opening.Confirmation
	board := w.board(t)
	for _, x := range board.Board {
		if x.Confirmed != nil {
			confirmations = append(confirmations, opening.Confirmation{Bidder: x.Bidder})
		}
	}
	if len(confirmations) != 1 || confirmations[0].Bidder != a.id || board.State != opening.HallClosed {
		t.Errorf("at the end the hall is %s with confirmations %+v", board.State, confirmations)
	}

	// The logs speak Chinese: no event shows as its raw kind (hall.record_export …).
	for name, pg := range map[string]*page{"host": host, "bidder": bidder} {
		if log := pg.text("#log"); strings.Contains(log, "hall.") {
			t.Errorf("the %s's log shows a raw event kind:\n%s", name, log)
		}
	}

	// A reload (or a new tab) shows the hall as it is now.
	bidder.reload()
	bidder.waitText("#head", "开标结束")
	bidder.waitText("#record-body", a.name, "12345678.90")
	bidder.waitText("#confirm-state", "签名确认开标记录")
	bidder.waitText("#objections", "主持人答复")
	// The log starts with the hall's recent events (the public ones and its own).
	bidder.waitText("#log", "开标记录已公布", "我方已签到", "我方已签名确认开标记录")
	if head := bidder.text("#head"); strings.Contains(head, "null") || strings.Contains(head, "undefined") {
		t.Errorf("the heading shows a missing value: %q", head)
	}

	t.Run("a bidder sees only its own envelopes and objections", func(t *testing.T) {
		other := br.open(t, web.LoginLink(w.ta.base, "hall/bidder.html"+query, b.c.Token))
		other.waitText("#head", "开标结束")
		other.waitCount("#envelopes tbody tr", 1)
		if text := other.text("#messages"); strings.Contains(text, "丙公司报价") {
			t.Errorf("bidder B sees A's objection among its own messages:\n%s", text)
		}
		var v opening.BidderHallView
		if err := b.c.Do(ctx, http.MethodGet, w.hallPath(""), nil, &v); err != nil || len(v.Objections) != 0 {
			t.Errorf("B's view: %v objections %+v", err, v.Objections)
		}
	})
}

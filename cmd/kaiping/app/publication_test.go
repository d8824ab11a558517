package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// pubWorld is the review world (evaltest.ReviewMethod: 甲 1,000,000, 乙 980,000, 丙 600,000
// 元 in BD1) with 丁 bidding in BD2 only, its committee's session taken through the review to
// a report every member signed, over the session's own routes (not yet closed). Its opening
// host publishes (a host duty); an evaluation host of another tender may not.
type pubWorld struct {
	*reviewWorld
	ding      *hallBidder    // 丁, a bidder of BD2 only
	stranger  *devpki.Issued // a bidder with no bid at all
	otherHost *devpki.Issued // the evaluation host of another tender
	sup       *devpki.Issued // a supervisor of the tender
}

func mustPubWorld(t *testing.T) *pubWorld {
	t.Helper()
	ctx := context.Background()
	w := &pubWorld{}
	w.reviewWorld = mustReviewWorldWith(t, func(hw *hallWorld) {
		c, cert, id := hw.mustBidder(t, devpki.ECDSA, "丁公司")
		if err := c.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(hw.tender.ID)+"/sections/BD2/registrations",
			opening.RegisterRequest{Certificate: identity.Fingerprint(cert.Cert.Raw)}, nil); err != nil {
			t.Fatal(err)
		}
		bd2 := hw.tender.Sections[1]
		file := sealTo(t, seal.Binding{Tender: hw.tender.ID, Section: bd2.ID, Bidder: id, Kind: seal.Summary},
			summaryJSON("2990000", 140), certRecipient(t, cert))
		if _, err := bidder.NewSubmitter(c).Submit(ctx, string(hw.tender.ID), "BD2", string(seal.Summary),
			bytes.NewReader(file), mustChecked(t, file, cert)); err != nil {
			t.Fatalf("丁 bids in BD2: %v", err)
		}
		w.ding = &hallBidder{name: "丁公司", cert: cert, id: id}
		w.stranger = hw.ta.mustRegister(t, hw.admin, devpki.ECDSA, "戊公司", kaiping.RoleBidder)
	})

	// Another tender with an evaluation host of its own, and a supervisor of this one.
	other := demoTender(w.clock.Now().Add(2 * time.Minute))
	other.Code, other.Tenderer = "KP-PUB-OTHER-1", evalTenderer
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/tenders", other, &other); err != nil {
		t.Fatal(err)
	}
	w.otherHost = w.mustRegister(t, w.admin, devpki.SM2, "另一项目的评标主持人", kaiping.RoleHost)
	w.mustAssign(t, other.ID, principalID(t, w.mustLogin(t, w.otherHost)), kaiping.DutyEvaluationHost)
	w.sup = w.mustRegister(t, w.admin, devpki.ECDSA, "公示监督员", kaiping.RoleSupervisor)
	w.mustAssign(t, w.hall.tender.ID, principalID(t, w.mustLogin(t, w.sup)), kaiping.DutySupervisor)

	w.mustSummarized(t)
	w.mustSigned(t)
	return w
}

// publisher logs the tender's opening host in afresh (the clock jumps days in these tests).
func (w *pubWorld) publisher(t *testing.T) *apiclient.Client {
	t.Helper()
	return w.testApp.mustLogin(t, w.hall.hostCert)
}

// bidderOf logs bidder i (0: 甲, 1: 乙, 2: 丙) in afresh.
func (w *pubWorld) bidderOf(t *testing.T, i int) *apiclient.Client {
	t.Helper()
	return w.testApp.mustLogin(t, w.hall.bidders[i].cert)
}

// pubState is what a refusal must leave as it was: the session's publications with their
// versions and objections, and the publication entries of the ledger (the app's background
// jobs append entries of their own meanwhile).
func (w *pubWorld) pubState(t *testing.T) string {
	t.Helper()
	var n, objections, entries int
	var versions int64
	if err := w.testApp.DB.Pool.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(version), 0),
		(SELECT count(*) FROM publication_objections o JOIN publications p ON p.id = o.publication_id WHERE p.session_id = $1),
		(SELECT count(*) FROM ledger_entries WHERE action LIKE 'publication.%')
		FROM publications WHERE session_id = $1`, w.sess.ID).Scan(&n, &versions, &objections, &entries); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d publications at versions %d, %d objections, %d publication entries in the ledger", n, versions, objections, entries)
}

// refused runs a request that must be refused with status and code, changing nothing.
func (w *pubWorld) refused(t *testing.T, name string, status int, code string, do func() error) {
	t.Helper()
	before := w.pubState(t)
	err := do()
	var ae *apiclient.Error
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code {
		t.Errorf("%s: %v, want %d %s", name, err, status, code)
	}
	if after := w.pubState(t); after != before {
		t.Errorf("%s changed things: %s → %s", name, before, after)
	}
}

// publicGet reads a public route without a login, with If-None-Match when etag is given.
func (w *pubWorld) publicGet(t *testing.T, path, etag string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.testApp.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// jsonInto decodes body into v, failing the test on malformed JSON.
func jsonInto(t *testing.T, body []byte, v any) error {
	t.Helper()
	err := json.Unmarshal(body, v)
	if err != nil {
		t.Errorf("decode %s: %v", body, err)
	}
	return err
}

// TestPublication publishes the candidates of a closed session and takes an objection through
// its answer to the end of the publication, over the app's routes; every refusal of the
// brief is answered with its status and code and leaves the publications and the ledger as
// they were. The public page (headless Chromium) shows the candidates and that an objection
// is being handled, and nothing of the objection.
func TestPublication(t *testing.T) {
	w := mustPubWorld(t)
	ctx := context.Background()
	sessPath := "/api/v1/sessions/" + string(w.sess.ID)
	pubsPath := sessPath + "/publications"
	publish := func(c *apiclient.Client, req evaluation.PublishRequest) error {
		return c.Do(ctx, http.MethodPost, pubsPath, req, nil)
	}
	period := func(from time.Time, d time.Duration) evaluation.PublishRequest {
		return evaluation.PublishRequest{Starts: from, Ends: from.Add(d)}
	}

	w.refused(t, "publish while the report is being signed", 409, "publication.not_closed", func() error {
		return publish(w.publisher(t), period(time.Time{}, 72*time.Hour))
	})
	if err := w.host.Do(ctx, http.MethodPost, sessPath+"/close", nil, nil); err != nil {
		t.Fatalf("close the session: %v", err)
	}
	report := w.testApp.clock.Now()
	w.testApp.clock.Advance(time.Hour)
	now := w.testApp.clock.Now()

	w.refused(t, "publish as the evaluation host of another tender", 403, "tender.not_assigned", func() error {
		return publish(w.testApp.mustLogin(t, w.otherHost), period(now, 72*time.Hour))
	})
	w.refused(t, "publish as the tender's supervisor", 403, "auth.role_forbidden", func() error {
		return publish(w.testApp.mustLogin(t, w.sup), period(now, 72*time.Hour))
	})
	w.refused(t, "a period a minute short of 3 days", 400, "publication.period_short", func() error {
		return publish(w.publisher(t), period(now, 72*time.Hour-time.Minute))
	})
	w.refused(t, "a start a minute past 3 days after the report", 400, "publication.starts_late", func() error {
		return publish(w.publisher(t), period(report.Add(72*time.Hour+time.Minute), 72*time.Hour))
	})
	w.refused(t, "a start in the past", 400, "publication.starts_past", func() error {
		return publish(w.publisher(t), period(now.Add(-time.Minute), 72*time.Hour))
	})

	// Starting in an hour, for exactly 3 days: until the start nothing is public and nobody
	// may object.
	starts := now.Add(time.Hour)
	var out struct{ Publications []evaluation.StaffPublication }
	if err := w.publisher(t).Do(ctx, http.MethodPost, pubsPath, period(starts, 72*time.Hour), &out); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if len(out.Publications) != 1 || out.Publications[0].SectionCode != "BD1" || out.Publications[0].Phase != evaluation.PhaseScheduled ||
		!out.Publications[0].Starts.Equal(starts) {
		t.Fatalf("published %+v", out.Publications)
	}
	pub := out.Publications[0]
	w.refused(t, "publish the section again", 409, "publication.already_published", func() error {
		return publish(w.publisher(t), period(starts, 72*time.Hour))
	})
	for _, path := range []string{"/api/v1/public/publications/" + string(pub.ID), "/api/v1/public/publications/" + string(kaiping.NewID()),
		"/api/v1/public/publications/not-an-id"} {
		if resp, body := w.publicGet(t, path, ""); resp.StatusCode != 404 || !bytes.Contains(body, []byte("publication.not_found")) {
			t.Errorf("%s before the start: %d %s", path, resp.StatusCode, body)
		}
	}
	if _, body := w.publicGet(t, "/api/v1/public/publications", ""); !bytes.Contains(body, []byte(`"total":0`)) {
		t.Errorf("the public list before the start: %s", body)
	}
	w.refused(t, "an objection before the start", 425, "publication.not_started", func() error {
		return w.bidderOf(t, 1).Do(ctx, http.MethodPost, "/api/v1/bidder/publications/"+string(pub.ID)+"/objections",
			evaluation.ObjectionRequest{Text: "理由"}, nil)
	})
	w.testApp.clock.Set(starts)
	now = starts

	// The public view: no login, the candidates in rank order with names, prices and totals.
	publicPath := "/api/v1/public/publications/" + string(pub.ID)
	resp, body := w.publicGet(t, publicPath, "")
	var pv evaluation.PublicPublication
	if resp.StatusCode != 200 || jsonInto(t, body, &pv) != nil {
		t.Fatalf("public view: %d %s", resp.StatusCode, body)
	}
	// Alike technical scores (2080 + 800), the price points against the lowest valid price: 丙
	// (600,000) first, 乙 (980,000) second; the method recommends two.
	if len(pv.Candidates) != 2 || pv.Candidates[0].BidderName != "丙公司" || pv.Candidates[0].Price != "600000.00" ||
		pv.Candidates[0].Total != "88.80" || pv.Candidates[1].BidderName != "乙公司" || pv.Candidates[1].Price != "980000.00" ||
		pv.Candidates[1].Total != "65.53" || pv.Candidates[1].Rank != 2 || pv.MethodLabel != "综合评估法" || pv.ObjectionsHandling {
		t.Errorf("public view %+v", pv)
	}
	if !pv.ObjectionRoute.Deadline.Equal(pub.Ends) || !strings.Contains(pv.ObjectionRoute.Path, string(pub.ID)) {
		t.Errorf("objection route %+v", pv.ObjectionRoute)
	}
	etag := resp.Header.Get("ETag")
	if cc := resp.Header.Get("Cache-Control"); etag == "" || !strings.HasPrefix(cc, "public, max-age=") {
		t.Errorf("public answer: ETag %q, Cache-Control %q", etag, cc)
	}
	if resp, _ := w.publicGet(t, publicPath, etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("with its ETag: %d, want 304", resp.StatusCode)
	}
	resp, body = w.publicGet(t, "/api/v1/public/publications?limit=10", "")
	var list evaluation.PublicList
	if resp.StatusCode != 200 || jsonInto(t, body, &list) != nil || list.Total != 1 || list.Publications[0].ID != pub.ID {
		t.Errorf("public list: %d %s", resp.StatusCode, body)
	}
	if resp, _ := w.publicGet(t, "/api/v1/public/publications?limit=1000", ""); resp.StatusCode != 400 {
		t.Errorf("a page of 1000: %d", resp.StatusCode)
	}

	w.refused(t, "conclude before the period ends", 425, "publication.period_running", func() error {
		return w.publisher(t).Do(ctx, http.MethodPost, pubsPath+"/"+string(pub.ID)+"/conclude", nil, nil)
	})

	// Objections: only a bidder of BD1, in writing, during the period.
	objPath := "/api/v1/bidder/publications/" + string(pub.ID) + "/objections"
	object := func(c *apiclient.Client, text string) error {
		return c.Do(ctx, http.MethodPost, objPath, evaluation.ObjectionRequest{Text: text}, nil)
	}
	const reason = "第一中标候选人的项目经理同时在其他在建项目任职，不满足招标文件资格要求"
	const thirdReason = "第二中标候选人的业绩证明材料与公示的合同金额不一致"
	w.refused(t, "an objection by a bidder with no bid", 403, "publication.not_a_bidder", func() error {
		return object(w.testApp.mustLogin(t, w.stranger), reason)
	})
	w.refused(t, "an objection by a bidder of BD2", 403, "publication.not_a_bidder", func() error {
		return object(w.testApp.mustLogin(t, w.ding.cert), reason)
	})
	w.refused(t, "an objection without reasons", 400, "publication.objection_text", func() error {
		return object(w.bidderOf(t, 1), "  ")
	})
	var filed evaluation.ObjectionView
	if err := w.bidderOf(t, 1).Do(ctx, http.MethodPost, objPath, evaluation.ObjectionRequest{Text: reason}, &filed); err != nil {
		t.Fatalf("乙 objects: %v", err)
	}
	if !filed.Due.Equal(now.Add(72*time.Hour)) || filed.BidderName != "乙公司" || filed.Overdue {
		t.Errorf("filed %+v", filed)
	}
	var staff struct{ Publications []evaluation.StaffPublication }
	if err := w.testApp.mustLogin(t, w.sup).Do(ctx, http.MethodGet, pubsPath, nil, &staff); err != nil || len(staff.Publications) != 1 ||
		staff.Publications[0].State != evaluation.PublicationPaused || len(staff.Publications[0].Objections) != 1 {
		t.Fatalf("the supervisor reads the publications: %+v %v", staff.Publications, err)
	}
	resp, body = w.publicGet(t, publicPath, etag)
	if resp.StatusCode != 200 || jsonInto(t, body, &pv) != nil || !pv.ObjectionsHandling || pv.Phase != evaluation.PhasePaused {
		t.Errorf("public view while paused: %d %s", resp.StatusCode, body)
	}
	for _, secret := range []string{reason, string(w.hall.bidders[1].id), string(w.hall.bidders[0].id), "bidder_id"} {
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("the public view shows %q: %s", secret, body)
		}
	}
	var mine, others evaluation.BidderPublication
	if err := w.bidderOf(t, 1).Do(ctx, http.MethodGet, objPath, nil, &mine); err != nil || len(mine.Objections) != 1 ||
		mine.Objections[0].Text != reason {
		t.Errorf("乙 reads its objections: %+v %v", mine, err)
	}
	if err := w.bidderOf(t, 0).Do(ctx, http.MethodGet, objPath, nil, &others); err != nil || len(others.Objections) != 0 {
		t.Errorf("甲 reads 乙's objections: %+v %v", others, err)
	}

	t.Run("the public pages show the candidates and that an objection is being handled", func(t *testing.T) {
		b := mustBrowser(t)
		pg := b.open(t, w.testApp.base+"/public/")
		pg.waitText("#list", w.hall.tender.Code, "BD1", "异议处理中")
		pg.click("#list a")
		pg.waitText("#candidates", "第一中标候选人", "丙公司", "600,000.00", "88.80", "第二中标候选人", "乙公司", "980,000.00", "65.53")
		if text := pg.text("#candidates"); strings.Contains(text, "甲公司") || strings.Contains(text, "第三中标候选人") {
			t.Errorf("the page shows more than the report's two candidates:\n%s", text)
		}
		pg.waitText("#phase", "异议处理中")
		pg.waitText("#handling", "暂停招标投标活动")
		pg.waitText("#objection-route", "本标段的投标人", "北京时间")
		if text := pg.text("main"); strings.Contains(text, reason) || strings.Contains(text, string(w.hall.bidders[1].id)) {
			t.Errorf("the public page shows the objection or a bidder's ID:\n%s", text)
		}
		if n := pg.count("#objection-text"); n != 0 {
			t.Errorf("a visitor without a login is offered the objection form")
		}

		// 乙 sees its own objection; 丙 objects through the page, in writing.
		mine := b.open(t, web.LoginLink(w.testApp.base, "public/publication.html?id="+string(pub.ID), w.bidderOf(t, 1).Token))
		mine.waitText("#my-objections", reason, "待答复")
		third := b.open(t, web.LoginLink(w.testApp.base, "public/publication.html?id="+string(pub.ID), w.bidderOf(t, 2).Token))
		third.waitText("#mine", "您尚未对本公示提出异议")
		third.click("#objection-submit")
		third.waitText("#objection-msg", "异议的理由须以书面写明")
		third.set("#objection-text", thirdReason)
		third.click("#objection-submit")
		third.waitText("#objection-msg", "异议已提交")
		third.waitText("#my-objections", thirdReason, "待答复")
		if text := third.text("#mine"); strings.Contains(text, reason) {
			t.Errorf("丙 reads 乙's objection:\n%s", text)
		}
	})

	// Past the period and past the answer's due time: still paused, shown overdue, not
	// resolved by itself; no objection any more, no conclusion while paused.
	w.testApp.clock.Advance(72 * time.Hour)
	w.refused(t, "an objection after the period", 410, "publication.period_ended", func() error {
		return object(w.bidderOf(t, 2), reason)
	})
	w.refused(t, "conclude while an objection is unanswered", 409, "publication.paused", func() error {
		return w.publisher(t).Do(ctx, http.MethodPost, pubsPath+"/"+string(pub.ID)+"/conclude", nil, nil)
	})
	if err := w.publisher(t).Do(ctx, http.MethodGet, pubsPath, nil, &staff); err != nil || len(staff.Publications[0].Objections) != 2 ||
		!staff.Publications[0].Objections[0].Overdue || staff.Publications[0].State != evaluation.PublicationPaused {
		t.Fatalf("the overdue objections: %+v %v", staff.Publications, err)
	}
	second := staff.Publications[0].Objections[1]
	if second.Text != thirdReason || second.BidderName != "丙公司" {
		t.Fatalf("the objection filed on the page: %+v", second)
	}

	answerPath := pubsPath + "/" + string(pub.ID) + "/objections/" + string(filed.ID) + "/answer"
	answer := func(c *apiclient.Client, text string) error {
		return c.Do(ctx, http.MethodPost, answerPath, evaluation.ObjectionAnswerRequest{Text: text}, nil)
	}
	const reply = "经核查，该项目经理已于投标截止前办理在建项目变更，符合招标文件要求，异议不成立。"
	w.refused(t, "an answer by a bidder", 403, "auth.role_forbidden", func() error { return answer(w.bidderOf(t, 0), reply) })
	w.refused(t, "an answer by the supervisor", 403, "auth.role_forbidden", func() error {
		return answer(w.testApp.mustLogin(t, w.sup), reply)
	})
	w.refused(t, "an answer by the evaluation host of another tender", 403, "tender.not_assigned", func() error {
		return answer(w.testApp.mustLogin(t, w.otherHost), reply)
	})
	w.refused(t, "an empty answer", 400, "publication.answer_text", func() error { return answer(w.publisher(t), "") })
	var answered evaluation.StaffPublication
	if err := w.publisher(t).Do(ctx, http.MethodPost, answerPath, evaluation.ObjectionAnswerRequest{Text: reply}, &answered); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if answered.State != evaluation.PublicationPaused || answered.Objections[0].Answer != reply || answered.Objections[0].Overdue ||
		!answered.Objections[1].Overdue {
		t.Errorf("one of two answered %+v", answered)
	}
	w.refused(t, "answer it again", 409, "publication.already_answered", func() error { return answer(w.publisher(t), reply) })
	w.refused(t, "conclude with one objection unanswered", 409, "publication.paused", func() error {
		return w.publisher(t).Do(ctx, http.MethodPost, pubsPath+"/"+string(pub.ID)+"/conclude", nil, nil)
	})
	if err := w.publisher(t).Do(ctx, http.MethodPost, pubsPath+"/"+string(pub.ID)+"/objections/"+string(second.ID)+"/answer",
		evaluation.ObjectionAnswerRequest{Text: "经核查，业绩合同金额以合同原件为准，异议不成立。"}, &answered); err != nil {
		t.Fatalf("answer the second: %v", err)
	}
	if answered.State != evaluation.PublicationOpen || answered.Phase != evaluation.PhaseEnded {
		t.Errorf("both answered %+v", answered)
	}
	if err := w.bidderOf(t, 1).Do(ctx, http.MethodGet, objPath, nil, &mine); err != nil || mine.Objections[0].Answer != reply {
		t.Errorf("乙 reads the answer: %+v %v", mine, err)
	}

	var concluded evaluation.StaffPublication
	if err := w.publisher(t).Do(ctx, http.MethodPost, pubsPath+"/"+string(pub.ID)+"/conclude", nil, &concluded); err != nil ||
		concluded.Phase != evaluation.PhaseConcluded {
		t.Fatalf("conclude: %+v %v", concluded, err)
	}
	w.refused(t, "conclude again", 409, "publication.concluded", func() error {
		return w.publisher(t).Do(ctx, http.MethodPost, pubsPath+"/"+string(pub.ID)+"/conclude", nil, nil)
	})
	if _, body := w.publicGet(t, publicPath, ""); jsonInto(t, body, &pv) != nil || pv.Phase != evaluation.PhaseConcluded || pv.ConcludedAt == nil {
		t.Errorf("public view after the conclusion: %s", body)
	}

	// Every step is one ledger entry with the publication as its subject, in order.
	rows, err := w.testApp.DB.Pool.Query(ctx, `SELECT action FROM ledger_entries WHERE subject = $1 ORDER BY seq`, string(pub.ID))
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
	}
	rows.Close()
	want := []string{"publication.published", "publication.objection_filed", "publication.objection_filed",
		"publication.objection_answered", "publication.objection_answered", "publication.concluded"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("ledger entries %v, want %v", actions, want)
	}
}

package app

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestHallObjectionsAndConfirmationPeriod: bidders object at the opening, from check-in on
// (《招标投标法实施条例》 Art. 44), not only once the record is out, and the host answers in
// the hall; and the host cannot cut the confirmation period short while a bidder of the round
// has neither confirmed nor objected — once every bidder has, the hall may close early.
func TestHallObjectionsAndConfirmationPeriod(t *testing.T) {
	w := mustHallWorld(t, 3, nil)
	ctx := context.Background()
	a, b, c := w.bidders[0], w.bidders[1], w.bidders[2]
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON(strconv.Itoa(6000000+i), 150))
	}
	object := func(x *hallBidder, text string) (opening.Objection, error) {
		var o opening.Objection
		err := x.c.Do(ctx, http.MethodPost, w.hallPath("/objections"), opening.ObjectionRequest{Text: text}, &o)
		return o, err
	}
	answer := func(o opening.Objection) {
		t.Helper()
		if err := w.host.Do(ctx, http.MethodPost, w.hallPath("/objections/"+string(o.ID)+"/answer"), opening.AnswerRequest{Answer: "已记录，当场答复"}, nil); err != nil {
			t.Fatalf("answer %s's objection: %v", o.BidderName, err)
		}
	}
	w.sealNow(t)
	w.refused(t, "an objection before the opening starts", "hall.state", func() error { return second(object(a, "尚未开标即提出异议")) })

	w.mustMove(t, opening.HallCheckingIn, 0)
	o, err := object(a, "签到时间过短，请延长")
	if err != nil {
		t.Fatalf("an objection during check-in: %v", err)
	}
	answer(o)
	for _, x := range w.bidders {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	w.mustMove(t, opening.HallDecrypting, 0)
	if o, err = object(b, "解密系统响应缓慢"); err != nil {
		t.Fatalf("an objection while decrypting: %v", err)
	}
	answer(o)
	for _, x := range w.bidders {
		w.mustUnlockAll(t, x)
		w.waitVerified(t, x)
	}
	w.mustMove(t, opening.HallPublished, 0)
	w.mustMove(t, opening.HallConfirming, 0)
	pr, _ := w.record(t, w.host)
	if err := w.confirm(a, pr.Digest, a.cert); err != nil {
		t.Fatal(err)
	}
	// a confirmed and b objected this round; c has done neither and keeps the period.
	w.refused(t, "closing while a bidder has neither confirmed nor objected", "hall.confirm_period", func() error {
		return second(w.move(w.host, opening.HallClosed, 0))
	})
	if err := w.confirm(c, pr.Digest, c.cert); err != nil {
		t.Fatal(err)
	}
	st, err := w.move(w.host, opening.HallClosed, 0)
	if err != nil || st.State != opening.HallClosed || !w.ta.clock.Now().Before(*st.ConfirmEndsAt) {
		t.Fatalf("closing early once every bidder answered: %+v, %v", st, err)
	}
}

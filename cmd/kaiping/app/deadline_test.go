package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestCompletionsStraddlingDeadline: 200 bidders complete at once while the clock crosses
// the deadline in the middle of them. Every completion that the server timed before the
// deadline is accepted and receipted, every one at or after it is refused with
// bid.deadline_passed and its upload aborted, and the sealed bid set holds exactly the
// accepted envelopes.
func TestCompletionsStraddlingDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("200 bidders")
	}
	const bidders = 200
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	type entrant struct {
		c    *apiclient.Client
		file []byte
		tk   opening.UploadTicket
		d    bidder.FileDigest
	}
	entrants := make([]entrant, bidders)
	for i := range entrants {
		c, cert, id := w.mustBidder(t, devpki.ECDSA, fmt.Sprintf("投标人%03d", i))
		b := w.binding(seal.Summary)
		b.Bidder = id
		file := sealTo(t, b, fmt.Appendf(nil, `{"price":"%d"}`, 1000+i), certRecipient(t, cert))
		entrants[i] = entrant{c: c, file: file, tk: w.startUpload(t, c, file), d: mustChecked(t, file, cert)}
	}
	// Each request reads the clock a few times; with a 1µs tick starting 300µs early the
	// deadline falls somewhere in the middle of the 200, whatever the scheduling.
	w.ta.clock.Set(w.deadline.Add(-300 * time.Microsecond))
	w.ta.clock.SetTick(time.Microsecond)
	receipts := make([]opening.Receipt, bidders)
	errs := make([]error, bidders)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, e := range entrants {
		wg.Go(func() {
			<-start
			receipts[i], errs[i] = bidder.NewSubmitter(e.c).Finish(ctx, e.tk, bytes.NewReader(e.file), e.d)
		})
	}
	close(start)
	wg.Wait()
	w.ta.clock.SetTick(0)

	var accepted []string
	for i := range entrants {
		switch {
		case errs[i] == nil:
			if !receipts[i].ServerTime.Before(w.deadline) {
				t.Errorf("bidder %d accepted at %v, deadline %v", i, receipts[i].ServerTime, w.deadline)
			}
			accepted = append(accepted, receipts[i].Envelopes[0].SHA256)
		case apiCode(errs[i]) != "bid.deadline_passed":
			t.Errorf("bidder %d: %v", i, errs[i])
		}
	}
	t.Logf("%d accepted before the deadline, %d refused at or after it", len(accepted), bidders-len(accepted))
	if len(accepted) == 0 || len(accepted) == bidders {
		t.Fatalf("the clock did not cross the deadline inside the burst (%d accepted)", len(accepted))
	}
	var late int
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM bid_envelopes WHERE submitted_at >= $1`, w.deadline).Scan(&late); err != nil || late != 0 {
		t.Errorf("%d envelopes stored at or after the deadline, %v", late, err)
	}
	w.ta.clock.Set(w.deadline.Add(opening.SealSettle))
	if _, err := w.ta.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	var set opening.BidSet
	if err := w.host.Do(ctx, http.MethodGet, w.path("/bid-set"), nil, &set); err != nil {
		t.Fatal(err)
	}
	if set.Envelopes != len(accepted) || set.Digest != opening.BidSetDigest(accepted) {
		t.Errorf("bid set has %d envelopes, %d were accepted", set.Envelopes, len(accepted))
	}
	if left, err := w.ta.Blob.ListIncomplete(ctx, w.ta.setup.Config.Blob.BidsBucket, ""); err != nil || len(left) != 0 {
		t.Errorf("%d incomplete uploads left, %v", len(left), err)
	}
	w.ta.ledgerSize(t)
}

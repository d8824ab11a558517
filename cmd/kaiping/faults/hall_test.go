package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// The opening's steps as the host, the bidders' tools and the platform take them, each
// tolerating the platform's transient failures the way the tools do (retrying).

// sealedOpening has every bidder submit, then seals the set (checking it).
func (w *world) sealedOpening() {
	w.t.Helper()
	for _, b := range w.bidders {
		w.submit(b)
	}
	w.checkBidSet(w.sealSet())
}

// move makes the host's move to state to, retrying while the platform fails.
func (w *world) move(to opening.HallState) opening.HallStatus {
	w.t.Helper()
	var st opening.HallStatus
	w.retrying("the host moves the hall to "+string(to), func() error {
		return w.host.Do(context.Background(), http.MethodPost, w.hallPath("/transitions"), opening.TransitionRequest{To: to}, &st)
	})
	if st.State != to {
		w.t.Fatalf("the host moved the hall to %s: it is %s", to, st.State)
	}
	return st
}

// openCheckIn opens check-in.
func (w *world) openCheckIn() {
	w.t.Helper()
	st := w.move(opening.HallCheckingIn)
	if st.CheckInOpenedAt == nil {
		w.t.Fatalf("check-in opened without a time: %+v", st)
	}
	w.checkInOpened = *st.CheckInOpenedAt
}

func (w *world) checkIn(b *bidderT) {
	w.t.Helper()
	w.retrying(b.name+" checks in", func() error {
		return b.c.Do(context.Background(), http.MethodPost, w.hallPath("/checkins"), nil, nil)
	})
}

// openWindow lets the check-in period pass and opens the decrypt window (the default 30
// minutes: the record is published before its end once every bid is decrypted).
func (w *world) openWindow() opening.HallStatus {
	w.t.Helper()
	w.jumpTo(w.checkInOpened.Add(time.Duration(w.tender.CheckInMinutes) * time.Minute))
	return w.move(opening.HallDecrypting)
}

func (w *world) board() opening.BoardView {
	w.t.Helper()
	var v opening.BoardView
	w.retrying("the host reads the board", func() error {
		return w.host.Do(context.Background(), http.MethodGet, w.hallPath("/board"), nil, &v)
	})
	return v
}

// unlock hands in the file key of each of b's envelopes, unwrapped with b's own key as the
// bidder's tool does.
func (w *world) unlock(b *bidderT) { w.handIn(b, w.keys(b)) }

// fileKey is an envelope's file key as the bidder's tool unwrapped it.
type fileKey struct {
	envelope opening.EnvelopeHeader
	key      []byte
}

// keys fetches b's envelope headers and unwraps their file keys with b's own key, as the
// bidder's tool does when it joins the hall (the headers are read from storage once).
func (w *world) keys(b *bidderT) []fileKey {
	w.t.Helper()
	var out struct{ Envelopes []opening.EnvelopeHeader }
	w.retrying(b.name+" fetches its envelopes", func() error {
		return b.c.Do(context.Background(), http.MethodGet, w.hallPath("/envelopes"), nil, &out)
	})
	id, err := seal.NewCertIdentity(b.cert.Cert, b.cert.Key)
	if err != nil {
		w.t.Fatal(err)
	}
	var keys []fileKey
	for _, e := range out.Envelopes {
		hdr, _, err := seal.ParseHeader(bytes.NewReader(e.Header))
		if err != nil {
			w.t.Fatal(err)
		}
		key, err := hdr.UnwrapFileKey(id)
		if err != nil {
			w.t.Fatal(err)
		}
		keys = append(keys, fileKey{envelope: e, key: key})
	}
	return keys
}

// handIn hands b's file keys in.
func (w *world) handIn(b *bidderT, keys []fileKey) {
	w.t.Helper()
	for _, k := range keys {
		w.retrying(b.name+" unlocks its "+k.envelope.Kind, func() error {
			err := b.c.Do(context.Background(), http.MethodPost, w.hallPath("/unlocks"),
				opening.UnlockRequest{Envelope: k.envelope.Envelope, FileKey: k.key}, nil)
			if apiCode(err) == "hall.already_decrypted" {
				return nil // the first attempt went through before the platform failed
			}
			return err
		})
	}
}

// waitDecrypted waits until every envelope of the bidders given is decrypted. An envelope
// settled in any other state fails the test: the bidders handed in their right keys.
func (w *world) waitDecrypted(bs ...*bidderT) {
	w.t.Helper()
	want := map[string]bool{}
	for _, b := range bs {
		want[string(b.id)] = true
	}
	w.eventually("the envelopes are decrypted", settle, func() error {
		for _, line := range w.board().Board {
			if !want[string(line.Bidder)] {
				continue
			}
			for _, e := range line.Envelopes {
				if e.State != opening.EnvDecrypted {
					return fmt.Errorf("%s's %s is %s %s", line.BidderName, e.Kind, e.State, e.ErrorCode)
				}
			}
		}
		return nil
	})
}

// record reads the published record as b.
func (w *world) record(b *bidderT) (opening.PublishedRecord, opening.OpeningRecord) {
	w.t.Helper()
	var pr opening.PublishedRecord
	w.retrying(b.name+" reads the record", func() error {
		return b.c.Do(context.Background(), http.MethodGet, w.hallPath("/record"), nil, &pr)
	})
	if opening.RecordDigest(pr.Record) != pr.Digest {
		w.t.Fatalf("the record's digest %s is not the SHA-256 of its bytes", pr.Digest)
	}
	var rec opening.OpeningRecord
	if err := json.Unmarshal(pr.Record, &rec); err != nil {
		w.t.Fatal(err)
	}
	return pr, rec
}

// confirm has b confirm the record, signed with its certificate's key.
func (w *world) confirm(b *bidderT) {
	w.t.Helper()
	pr, _ := w.record(b)
	sig, err := opening.SignRecord(b.cert.Key, pr.Digest)
	if err != nil {
		w.t.Fatal(err)
	}
	w.retrying(b.name+" confirms the record", func() error {
		err := b.c.Do(context.Background(), http.MethodPost, w.hallPath("/confirmations"), opening.ConfirmRequest{Digest: pr.Digest, Signature: sig}, nil)
		if apiCode(err) == "hall.already_confirmed" {
			return nil // the first attempt went through before the platform failed
		}
		return err
	})
}

// finish takes a hall whose bids are all decrypted to the end: the host publishes the
// record, opens confirmation, every bidder confirms, the host closes.
func (w *world) finish() {
	w.t.Helper()
	if st := w.board().State; st == opening.HallDecrypting {
		w.move(opening.HallPublished)
	}
	w.confirmAll()
}

// confirmAll opens confirmation, has every bidder confirm and closes the hall.
func (w *world) confirmAll() {
	w.t.Helper()
	if st := w.board().State; st == opening.HallPublished {
		w.move(opening.HallConfirming)
	}
	for _, b := range w.bidders {
		w.confirm(b)
	}
	w.move(opening.HallClosed)

}

// recordArchived says whether the first round's record is archived (PDF and JSON) with
// nothing left in the export queue.
func (w *world) recordArchived() error {
	var queued, exported int
	err := w.db.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM hall_record_export_queue WHERE section_id = $1),
		(SELECT count(*) FROM hall_record_exports WHERE section_id = $1 AND round = 1)`, w.section.ID).Scan(&queued, &exported)
	if err == nil && (queued != 0 || exported < 2) {
		err = fmt.Errorf("%d exports queued, %d done", queued, exported)
	}
	return err
}

// checkOpened checks the lawful end of an opening in which every bidder submitted and
// handed in the right key in time: every bid opened (none 撤销 or 撤回), the opening valid,
// the hall closed with every confirmation, the record archived under the lock, the bid
// set still the receipted one, and the ledger verifying.
func (w *world) checkOpened() {
	w.t.Helper()
	_, rec := w.record(w.bidders[0])
	if rec.Outcome != opening.BidOpened || rec.ValidBids != len(w.bidders) || len(rec.Bids) != len(w.bidders) {
		w.t.Errorf("record: outcome %s (%s), %d valid of %d, want all %d opened", rec.Outcome, rec.Reason, rec.ValidBids, len(rec.Bids), len(w.bidders))
	}
	for _, bid := range rec.Bids {
		if bid.Status != opening.BidOpened {
			w.t.Errorf("%s's bid is %s (%s %s): classified against the bidder for the platform's fault", bid.BidderName, bid.StatusLabel, bid.Reason, bid.ReasonText)
		}
	}
	board := w.board()
	confirmed := 0
	for _, line := range board.Board {
		if line.Confirmed != nil {
			confirmed++
		}
	}
	if board.State != opening.HallClosed || confirmed != len(w.bidders) {
		w.t.Errorf("hall at the end: %s with %d confirmations, want closed with %d", board.State, confirmed, len(w.bidders))
	}
	w.eventually("the record is archived", settle, w.recordArchived)
	// The hall's broadcast is recorded from check-in to close, and kept 15 years: every
	// recording of it, a killed process's included, ends up stored and ledgered.
	w.eventually("the opening's recordings are stored", settle, func() error {
		var stored, all int
		err := w.db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE state = 'stored' AND ledger_seq IS NOT NULL), count(*)
			FROM recordings WHERE room = $1`, opening.HallRoom(w.section.ID)).Scan(&stored, &all)
		if err == nil && (all == 0 || stored != all) {
			err = fmt.Errorf("%d of %d recordings stored", stored, all)
		}
		return err
	})
	var set opening.BidSet
	w.do(w.host, http.MethodGet, w.sectionPath("/bid-set"), nil, &set)
	w.checkBidSet(set)
	w.verifyLedger()
}

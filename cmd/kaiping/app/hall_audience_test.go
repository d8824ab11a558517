package app

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
)

// eventVisibility says, for every kind of hall event, who reads it: the bidder it is about
// (for an event for all, any bidder in the set), another bidder in the set, a registered
// bidder with no bid in the set (one that never bid, one that withdrew), the host and a
// supervisor. It is written out here independently of opening.HallEventAudiences, which
// TestHallEventAudiences checks it against: a kind added there without a row here fails.
var eventVisibility = map[string]struct{ subject, other, outsider, host, supervisor bool }{
	"hall.transition":       {true, true, true, true, true},
	"hall.publish":          {true, true, true, true, true},
	"hall.qualify":          {true, true, true, true, true},
	"hall.checkin":          {true, false, false, true, true},
	"hall.unlock_failed":    {true, false, false, true, true},
	"hall.unlock":           {true, false, false, true, true},
	"hall.verified":         {true, false, false, true, true},
	"hall.confirm":          {true, false, false, true, true},
	"hall.objection":        {true, false, false, true, true},
	"hall.objection_answer": {true, false, false, true, true},
	"hall.rescue_share":     {true, false, false, true, true},
	"hall.rescue_combine":   {true, false, false, true, true},
	"hall.record_export":    {false, false, false, true, true},
	"hall.cosign_propose":   {false, false, false, true, true},
	"hall.cosign":           {false, false, false, true, true},
}

// hallReader is someone who reads a hall's events: a bidder in the set (id), a registered
// bidder with no bid in it (outsider), the host or a supervisor.
type hallReader struct {
	name string
	c    *apiclient.Client
	kind string // "bidder", "outsider", "host" or "supervisor"
	id   kaiping.ID
}

// events reads every event r may read, page by page, as a client does.
func (w *hallWorld) events(t *testing.T, c *apiclient.Client, after int64) []opening.HallEvent {
	t.Helper()
	var all []opening.HallEvent
	for {
		var page struct{ Events []opening.HallEvent }
		if err := c.Do(context.Background(), http.MethodGet, w.hallPath("/events?after="+strconv.FormatInt(after, 10)), nil, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 {
			return all
		}
		all = append(all, page.Events...)
		after = page.Events[len(page.Events)-1].Version
	}
}

// mustEventAudiences checks every event of the hall against eventVisibility for every
// reader, through GET …/hall/events, and returns the kinds it found.
func (w *hallWorld) mustEventAudiences(t *testing.T, readers []hallReader) map[string]bool {
	t.Helper()
	var overseer *hallReader
	for i := range readers {
		if readers[i].kind == "host" {
			overseer = &readers[i]
		}
	}
	everything := w.events(t, overseer.c, 0)
	if int64(len(everything)) != w.hallVersion(t) {
		t.Fatalf("the host reads %d events of a hall at version %d", len(everything), w.hallVersion(t))
	}
	kinds := map[string]bool{}
	for _, r := range readers {
		reads := map[int64]bool{}
		for _, e := range w.events(t, r.c, 0) {
			reads[e.Version] = true
		}
		for _, e := range everything {
			kinds[e.Type] = true
			v, ok := eventVisibility[e.Type]
			if !ok {
				t.Errorf("an event of kind %s, which has no row in eventVisibility", e.Type)
				continue
			}
			if v.subject != v.other && e.Bidder == "" {
				t.Errorf("%s (version %d) is about one bidder but names none", e.Type, e.Version)
			}
			var want bool
			switch {
			case r.kind == "host":
				want = v.host
			case r.kind == "supervisor":
				want = v.supervisor
			case r.kind == "outsider":
				want = v.outsider
			case e.Bidder == "" || e.Bidder == r.id:
				want = v.subject
			default:
				want = v.other
			}
			if reads[e.Version] != want {
				t.Errorf("%s (%s) reads %s of bidder %q (version %d): %v, want %v", r.name, r.kind, e.Type, e.Bidder, e.Version, reads[e.Version], want)
			}
		}
	}
	return kinds
}

// rescueWorld is a hall of four bidders sealed to a rescue key split 2-of-2: 甲 (A) lost
// its key and will be rescued, 乙 (B) and 丙 decrypt their own, 丁 withdrew before the
// deadline; an outsider registered and never bid.
type rescueWorld struct {
	*hallWorld
	holders  []*rescueHolder
	outsider *apiclient.Client
	outCert  *devpki.Issued
}

func mustRescueWorld(t *testing.T) *rescueWorld {
	t.Helper()
	rw := &rescueWorld{}
	rw.hallWorld = mustHallWorld(t, 4, func(w *submissionWorld, tender *opening.Tender) {
		for i, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA} {
			h, id := mustSupervisor(t, w, alg, "监督"+string(rune('甲'+i)))
			rw.holders = append(rw.holders, h)
			tender.Rescue.Holders = append(tender.Rescue.Holders, id)
		}
		tender.Rescue.Enabled, tender.Rescue.Threshold = true, 2
		// The window opens by a supervisor's co-signature, so its events are in this hall too.
		tender.Cosign = []opening.CosignStep{opening.CosignDecrypting}
	})
	pub, _ := ecdh.P256().NewPublicKey(rw.tender.Rescue.PublicKey)
	rescueTo, err := seal.NewRescueRecipient(pub)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range rw.bidders {
		rw.mustSubmit(t, x, seal.Summary, summaryJSON(strconv.Itoa(4000000+i), 120), certRecipient(t, x.cert), rescueTo)
	}
	if _, err := rw.withdraw(rw.bidders[3].c); err != nil {
		t.Fatal(err)
	}
	rw.outsider, rw.outCert, _ = rw.mustBidder(t, devpki.RSA, "未投标公司")
	return rw
}

func (rw *rescueWorld) relogin(t *testing.T) {
	t.Helper()
	rw.hallWorld.relogin(t)
	rw.outsider = rw.ta.mustLogin(t, rw.outCert)
	for _, h := range rw.holders {
		h.c = rw.ta.mustLogin(t, h.cert)
	}
}

// TestHallEventAudiences runs a hall in which bidder A loses its key and is rescued by the
// supervisors, hands in a wrong key, objects to the record and is answered, while B and C
// decrypt and confirm; one bidder withdrew and one never bid. Bidder B must read nothing of
// A's, on GET …/hall/events, on the live connection and when the live connection replays
// what it missed; and every kind of event reaches exactly the readers eventVisibility says.
func TestHallEventAudiences(t *testing.T) {
	rw := mustRescueWorld(t)
	ctx := context.Background()
	a, b, c, withdrawn := rw.bidders[0], rw.bidders[1], rw.bidders[2], rw.bidders[3]
	shares := []rescue.Share{rw.holders[0].mustShare(t, rw.hallWorld), rw.holders[1].mustShare(t, rw.hallWorld)}

	rw.sealNow(t)
	rw.relogin(t)
	liveB, liveHost, liveSupervisor := rw.watch(t, b.c), rw.watch(t, rw.host), rw.watch(t, rw.holders[0].c)
	liveB.bidderView("first", func(opening.BidderHallView) bool { return true })
	liveHost.board("first", func(opening.BoardView) bool { return true })
	liveSupervisor.board("first", func(opening.BoardView) bool { return true })
	if _, err := dialLive(t, liveDialer(withdrawn.c.Token), rw.ta.base, rw.livePath(), nil); apiCode(err) != "hall.not_bidder" {
		t.Errorf("the bidder that withdrew watches the hall: %v, want hall.not_bidder", err)
	}

	rw.mustMove(t, opening.HallCheckingIn, 0)
	for _, x := range []*hallBidder{a, b, c} {
		if err := rw.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	rw.ta.clock.Set(rw.checkInOpened.Add(time.Duration(rw.tender.CheckInMinutes) * time.Minute))
	var proposal opening.Proposal
	if err := rw.host.Do(ctx, http.MethodPost, rw.hallPath("/proposals"), opening.ProposalRequest{Step: opening.CosignDecrypting}, &proposal); err != nil {
		t.Fatal(err)
	}
	if err := rw.holders[1].c.Do(ctx, http.MethodPost, rw.hallPath("/proposals/"+string(proposal.ID)+"/cosign"), nil, nil); err != nil {
		t.Fatal(err)
	}
	wrong := bytes.Repeat([]byte{7}, 32)
	if _, err := rw.unlock(a, rw.headers(t, a)[0].Envelope, wrong); apiCode(err) != "hall.wrong_key" {
		t.Fatalf("A's wrong key: %v", err)
	}
	for _, x := range []*hallBidder{b, c} {
		rw.mustUnlockAll(t, x)
	}
	for i, s := range shares {
		if _, err := rw.submitPartials(rw.holders[i].c, rw.mustPartials(t, rw.holders[i], a.id, s)); err != nil {
			t.Fatalf("partials %d for A: %v", i+1, err)
		}
	}
	for _, x := range []*hallBidder{a, b, c} {
		if v := rw.waitVerified(t, x); v.Envelopes[0].State != opening.EnvDecrypted {
			t.Fatalf("%s's envelope: %+v", x.name, v.Envelopes[0])
		}
	}
	rw.mustMove(t, opening.HallPublished, 0)
	rw.waitExports(t, 2)
	rw.mustMove(t, opening.HallConfirming, 0)
	const objectionText, answerText = "甲公司异议：我方解密密钥遗失一事不应影响评审", "答复甲公司：已按补救方案解密，不影响"
	var objection opening.Objection
	if err := a.c.Do(ctx, http.MethodPost, rw.hallPath("/objections"), opening.ObjectionRequest{Text: objectionText}, &objection); err != nil {
		t.Fatal(err)
	}
	if err := rw.host.Do(ctx, http.MethodPost, rw.hallPath("/objections/"+string(objection.ID)+"/answer"),
		opening.AnswerRequest{Answer: answerText}, nil); err != nil {
		t.Fatal(err)
	}
	pr, _ := rw.record(t, b.c)
	for _, x := range []*hallBidder{a, b} {
		if err := rw.confirm(x, pr.Digest, x.cert); err != nil {
			t.Fatal(err)
		}
	}
	end := rw.mustMove(t, opening.HallClosed, 0)
	// Every watcher reads the closing transition (for all); what it reads before is its own.
	liveEvents := map[string][]opening.HallEvent{}
	for name, l := range map[string]*liveClient{"B": liveB, "host": liveHost, "supervisor": liveSupervisor} {
		l.next("the hall closed", func(m opening.LiveMessage) bool {
			if m.Type == opening.LiveEvent {
				liveEvents[name] = append(liveEvents[name], *m.Event)
			}
			return m.Type == opening.LiveEvent && m.Version == end.Version
		})
	}

	// What B must never read: anything naming A, A's objection or the answer to it.
	leaks := func(what string, e opening.HallEvent) {
		t.Helper()
		raw, _ := json.Marshal(e)
		switch {
		case e.Bidder != "" && e.Bidder != b.id:
			t.Errorf("B reads %s %s (version %d), which is bidder %s's", what, e.Type, e.Version, e.Bidder)
		case bytes.Contains(raw, []byte(a.id)), bytes.Contains(raw, []byte(objectionText)), bytes.Contains(raw, []byte(answerText)):
			t.Errorf("B reads %s %s (version %d), which names A or quotes its objection: %s", what, e.Type, e.Version, raw)
		}
	}
	t.Run("bidder B reads nothing of A's objection or rescue", func(t *testing.T) {
		for _, e := range rw.events(t, b.c, 0) {
			leaks("on GET …/hall/events", e)
		}
		for _, e := range liveEvents["B"] {
			leaks("live", e)
		}
		replayed := mustDialLive(t, rw.ta.base, rw.livePath()+"?after=0", b.c.Token)
		replayed.next("the view after the replay", func(m opening.LiveMessage) bool {
			if m.Type == opening.LiveEvent {
				leaks("replayed on reconnecting", *m.Event)
			}
			return m.Type == opening.LiveView
		})
	})

	t.Run("every kind of event reaches exactly its audience", func(t *testing.T) {
		readers := []hallReader{
			{"甲 (rescued, objected)", a.c, "bidder", a.id},
			{"乙", b.c, "bidder", b.id},
			{"丙", c.c, "bidder", c.id},
			{"丁 (withdrew)", withdrawn.c, "outsider", withdrawn.id},
			{"未投标公司 (never bid)", rw.outsider, "outsider", ""},
			{"主持人", rw.host, "host", ""},
			{"监督 (rescue holder)", rw.holders[0].c, "supervisor", ""},
		}
		kinds := rw.mustEventAudiences(t, readers)
		for kind := range eventVisibility {
			if !kinds[kind] && kind != "hall.qualify" { // the technical stage: TestHallSecondRound
				t.Errorf("no %s event in this hall: the test no longer covers it", kind)
			}
		}
		// Live, B reads what it reads on GET …/hall/events (after the seal, when it
		// connected), and each overseer every event.
		wantLive := map[string][]int64{}
		for _, e := range rw.events(t, b.c, 1) {
			wantLive["B"] = append(wantLive["B"], e.Version)
		}
		for v := int64(2); v <= end.Version; v++ {
			wantLive["host"] = append(wantLive["host"], v)
		}
		wantLive["supervisor"] = wantLive["host"]
		for name, evs := range liveEvents {
			var got []int64
			for _, e := range evs {
				got = append(got, e.Version)
			}
			if !slices.Equal(got, wantLive[name]) {
				t.Errorf("%s's live connection read versions %v, want %v", name, got, wantLive[name])
			}
		}
	})

	t.Run("the database refuses an event without its audience; migration 014 gives old events theirs", func(t *testing.T) {
		mustMigration014(t, rw.hallWorld)
	})

	t.Run("the table is opening.HallEventAudiences", func(t *testing.T) {
		for kind, audience := range opening.HallEventAudiences {
			v, ok := eventVisibility[kind]
			want := map[opening.Audience]bool{opening.AudienceAll: true, opening.AudienceBidder: false, opening.AudienceOverseers: false}
			if !ok || v.other != want[audience] || v.outsider != want[audience] || v.subject != (audience != opening.AudienceOverseers) || !v.host || !v.supervisor {
				t.Errorf("%s: opening.HallEventAudiences says %s, eventVisibility %+v", kind, audience, v)
			}
		}
		if len(eventVisibility) != len(opening.HallEventAudiences) {
			t.Errorf("eventVisibility has %d kinds, opening.HallEventAudiences %d", len(eventVisibility), len(opening.HallEventAudiences))
		}
	})
}

// mustMigration014 checks the database's side of the audiences on the hall w ran: an event
// without an audience, or for one bidder without naming it, is refused; and the backfill of
// migration 014, run on the hall's events as the code before it wrote them (an objection,
// its answer and a rescue naming no bidder), gives every event the audience and bidder the
// code writes now. All of it in a transaction rolled back.
func mustMigration014(t *testing.T, w *hallWorld) {
	t.Helper()
	ctx := context.Background()
	sql, err := os.ReadFile("../../../storage/postgres/migrations/014_hall_event_audience.sql")
	if err != nil {
		t.Fatal(err)
	}
	up, down, ok := strings.Cut(string(sql), "---- create above / drop below ----")
	if !ok {
		t.Fatal("014 has no down part")
	}
	tx, err := w.ta.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	everyone, none := "everyone", ""
	for _, bad := range []struct {
		name     string
		audience *string
		code     string
	}{
		{"no audience", nil, "23502"},
		{"an audience that does not exist", &everyone, "23514"},
		{"for one bidder, naming none", func() *string { s := "bidder"; return &s }(), "23514"},
		{"an empty audience", &none, "23514"},
	} {
		if _, err := tx.Exec(ctx, `SAVEPOINT bad`); err != nil {
			t.Fatal(err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO hall_events (section_id, version, type, audience, payload, at, ledger_seq)
			VALUES ($1, 100000, 'hall.transition', $2, '{}', now(), 1)`, w.section.ID, bad.audience)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != bad.code {
			t.Errorf("an event with %s: %v, want SQLSTATE %s", bad.name, err, bad.code)
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT bad`); err != nil {
			t.Fatal(err)
		}
	}

	type written struct {
		audience string
		bidder   string
	}
	read := func() map[int64]written {
		rows, err := tx.Query(ctx, `SELECT version, audience, coalesce(bidder_id::text, '') FROM hall_events WHERE section_id = $1`, w.section.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]written{}
		for rows.Next() {
			var v int64
			var x written
			if err := rows.Scan(&v, &x.audience, &x.bidder); err != nil {
				t.Fatal(err)
			}
			out[v] = x
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		return out
	}
	now := read()
	if _, err := tx.Exec(ctx, down); err != nil {
		t.Fatalf("014 down: %v", err)
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE hall_events DISABLE TRIGGER hall_events_immutable;
		UPDATE hall_events SET payload = payload || jsonb_build_object('bidder', bidder_id), bidder_id = NULL WHERE type = 'hall.objection';
		UPDATE hall_events SET bidder_id = NULL WHERE type IN ('hall.objection_answer', 'hall.rescue_share', 'hall.rescue_combine');
		ALTER TABLE hall_events ENABLE TRIGGER hall_events_immutable`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, up); err != nil {
		t.Fatalf("014 up: %v", err)
	}
	backfilled := read()
	for v, x := range now {
		if backfilled[v] != x {
			t.Errorf("version %d: backfilled as %+v, the code writes %+v", v, backfilled[v], x)
		}
	}
	// The immutability trigger is back.
	if _, err := tx.Exec(ctx, `UPDATE hall_events SET audience = 'all' WHERE section_id = $1`, w.section.ID); err == nil {
		t.Error("hall_events can be updated after migration 014")
	}
}

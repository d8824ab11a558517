package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/postgres"
)

// pdfBid is a technical envelope's file as a bidder makes one: a PDF of several chunks.
func pdfBid(t *testing.T, size int) []byte {
	t.Helper()
	body := make([]byte, size)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	return slices.Concat([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), body, []byte("\n%%EOF\n"))
}

// readAll reads a whole envelope through OpenedBids, or says why it could not.
func readAll(ctx context.Context, bids *opening.OpenedBids, a kaiping.Actor, envelope kaiping.ID) (*opening.BidReader, []byte, error) {
	r, err := bids.Read(ctx, a, envelope)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var out bytes.Buffer
	_, err = io.Copy(&out, r)
	return r, out.Bytes(), err
}

// tamperedObjects serves the bids bucket's objects altered on the way, as a storage that
// lost or changed bytes after the opening would: one bit flipped at flip, or cut at cut
// bytes (when not negative).
type tamperedObjects struct {
	ta        *testApp
	flip, cut int64
}

func (o tamperedObjects) open(ctx context.Context, key, version string) (io.ReadCloser, error) {
	r, _, err := o.ta.Blob.GetVersion(ctx, o.ta.setup.Config.Blob.BidsBucket, key, version)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return nil, err
	}
	if o.flip >= 0 {
		b[o.flip] ^= 1
	}
	if o.cut >= 0 {
		b = b[:o.cut]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// TestOpenedBids: after an opening of four bidders, in which 丙 handed in its summary's key
// but not its technical envelope's (its bid is 撤销), the committee reads the opened bids.
// Before the record is published nothing is listed or read (reading.not_published, no
// ledger entry); after it, the list holds the envelopes of the three opened bids only, with
// what the opening verified of them, and each reads back, streamed, as exactly the file its
// bidder sealed (the PDF typed application/pdf), each read ledgered as bid.read. 丙's
// decrypted summary is refused (reading.not_opened) like its sealed technical envelope, and
// leaves no ledger entry. Stored bytes altered or cut after the opening fail the stream with
// reading.corrupt, the cut one at its end, after earlier chunks had been handed out.
func TestOpenedBids(t *testing.T) {
	w := mustHallWorld(t, 4, nil)
	ctx := context.Background()
	a, b, c, d := w.bidders[0], w.bidders[1], w.bidders[2], w.bidders[3]
	files := map[*hallBidder][]byte{}
	for i, x := range w.bidders {
		w.mustSubmit(t, x, seal.Summary, summaryJSON(fmt.Sprint(3000000+i), 150))
		files[x] = pdfBid(t, 200<<10+i*1000)
		w.mustSubmit(t, x, seal.Technical, files[x])
	}
	w.sealNow(t)
	w.mustMove(t, opening.HallCheckingIn, 0)
	for _, x := range w.bidders {
		if err := w.checkIn(x); err != nil {
			t.Fatal(err)
		}
	}
	w.mustMove(t, opening.HallDecrypting, 30)
	envelopes := map[*hallBidder]map[seal.EnvelopeKind]kaiping.ID{}
	for _, x := range w.bidders {
		envelopes[x] = map[seal.EnvelopeKind]kaiping.ID{}
		for _, h := range w.headers(t, x) {
			envelopes[x][seal.EnvelopeKind(h.Kind)] = h.Envelope
		}
	}
	for _, x := range []*hallBidder{a, b, d} {
		w.mustUnlockAll(t, x)
	}
	sum := headerOf(t, w.headers(t, c), seal.Summary)
	if _, err := w.unlock(c, sum.Envelope, fileKey(t, c, sum)); err != nil {
		t.Fatal(err)
	}
	for _, x := range w.bidders {
		w.waitVerified(t, x)
	}

	member := kaiping.ActorAt(principalID(t, w.host), netip.MustParseAddr("127.0.0.1"), w.ta.clock.Now())
	bids := w.ta.OpenedBids
	refused := func(name, code string, do func() error) {
		t.Helper()
		size := w.ta.ledgerSize(t)
		if err := do(); kaiping.CodeOf(err) != code {
			t.Errorf("%s: %v, want %s", name, err, code)
		}
		if s := w.ta.ledgerSize(t); s != size {
			t.Errorf("%s wrote %d ledger entries", name, s-size)
		}
	}
	refused("list while decrypting", "reading.not_published", func() error { _, err := bids.List(ctx, w.section.ID); return err })
	refused("read a decrypted envelope while decrypting", "reading.not_published", func() error {
		_, _, err := readAll(ctx, bids, member, envelopes[a][seal.Technical])
		return err
	})
	refused("list a section with no hall", "reading.not_published", func() error { _, err := bids.List(ctx, kaiping.NewID()); return err })

	// The window ends with 丙's technical envelope sealed: the record is published.
	w.ta.clock.Advance(31 * time.Minute)
	if err := w.ta.Hall.Due(ctx); err != nil {
		t.Fatal(err)
	}
	w.relogin(t)
	if board := w.board(t); board.State != opening.HallPublished {
		t.Fatalf("hall after the window: %s", board.State)
	}

	list, err := bids.List(ctx, w.section.ID)
	if err != nil {
		t.Fatal(err)
	}
	var listed []kaiping.ID
	for _, x := range list {
		listed = append(listed, x.Envelope)
	}
	var want []kaiping.ID
	for _, x := range []*hallBidder{a, b, d} {
		want = append(want, envelopes[x][seal.Summary], envelopes[x][seal.Technical])
	}
	slices.Sort(listed)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %v, want the six envelopes of the opened bids %v", listed, want)
	}

	for _, x := range []*hallBidder{a, b, d} {
		i := slices.IndexFunc(list, func(o opening.OpenedBid) bool { return o.Envelope == envelopes[x][seal.Technical] })
		if o := list[i]; o.Bidder != x.id || o.BidderName != x.name || o.Kind != "technical" || o.Round != 1 ||
			o.PlaintextSize != int64(len(files[x])) || o.PlaintextDigest == "" || o.Section != w.section.ID || o.Tender != w.tender.ID {
			t.Errorf("%s's technical envelope listed as %+v", x.name, o)
		}
		before := ledgerActions(t, w.ta, "bid.read", string(x.id))
		r, got, err := readAll(ctx, bids, member, envelopes[x][seal.Technical])
		if err != nil {
			t.Fatalf("read %s's technical envelope: %v", x.name, err)
		}
		if !bytes.Equal(got, files[x]) {
			t.Errorf("%s's technical envelope reads %d bytes, not the %d sealed", x.name, len(got), len(files[x]))
		}
		if r.ContentType != "application/pdf" || r.Kind != "technical" || r.Bidder != x.id {
			t.Errorf("%s's technical envelope read as %q, %+v", x.name, r.ContentType, r.OpenedBid)
		}
		if n := ledgerActions(t, w.ta, "bid.read", string(x.id)); n != before+1 {
			t.Errorf("reading %s's technical envelope made %d bid.read entries, want 1", x.name, n-before)
		}
	}
	// Read chunk by chunk too (Read, not WriteTo), with a buffer smaller than the sniffed head.
	r, err := bids.Read(ctx, member, envelopes[b][seal.Summary])
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(struct{ io.Reader }{r})
	r.Close()
	if err != nil || !bytes.Equal(got, summaryJSON("3000001", 150)) || r.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("乙's summary reads %q (%s), %v", got, r.ContentType, err)
	}

	refused("read 丙's decrypted summary: its bid was revoked", "reading.not_opened", func() error {
		_, _, err := readAll(ctx, bids, member, envelopes[c][seal.Summary])
		return err
	})
	refused("read 丙's sealed technical envelope", "reading.not_opened", func() error {
		_, _, err := readAll(ctx, bids, member, envelopes[c][seal.Technical])
		return err
	})
	refused("read no envelope", "hall.envelope_not_found", func() error {
		_, _, err := readAll(ctx, bids, member, kaiping.NewID())
		return err
	})

	t.Run("altered in storage", func(t *testing.T) {
		store := postgres.NewOpeningStore(w.ta.DB, w.ta.Ledger)
		var hdr int64
		if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT length(header) FROM hall_envelopes WHERE envelope_id = $1`, envelopes[a][seal.Technical]).Scan(&hdr); err != nil {
			t.Fatal(err)
		}
		full, chunks := int64(seal.ChunkSize+seal.TagSize), len(files[a])/seal.ChunkSize // and a shorter last one
		for _, tc := range []struct {
			name      string
			flip, cut int64
			handedOut int // plaintext handed out before the failure, at least
		}{
			{"a bit flipped in the second chunk", hdr + full + 100, -1, seal.ChunkSize},
			{"the last chunk cut off", -1, hdr + int64(chunks)*full, (chunks - 1) * seal.ChunkSize},
		} {
			bad := opening.NewOpenedBids(store, tamperedObjects{ta: w.ta, flip: tc.flip, cut: tc.cut}.open, w.ta.KEK,
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			_, got, err := readAll(ctx, bad, member, envelopes[a][seal.Technical])
			if kaiping.CodeOf(err) != "reading.corrupt" {
				t.Errorf("%s: %v, want reading.corrupt", tc.name, err)
			}
			if len(got) < tc.handedOut || len(got) >= len(files[a]) || !bytes.Equal(got, files[a][:len(got)]) {
				t.Errorf("%s: %d bytes handed out before the failure, want from %d and fewer than %d, each as sealed", tc.name, len(got), tc.handedOut, len(files[a]))
			}
		}
	})
}

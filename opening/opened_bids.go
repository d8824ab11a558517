package opening

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/kaiping/kaiping"
)

// OpenedBid is an envelope the opening verified and published as part of an opened bid
// (开标记录中"已开启"的投标文件): what the evaluation committee may read. It names the bid and
// what the opening found in it; the plaintext is only ever streamed (OpenedBids.Read).
type OpenedBid struct {
	Envelope   kaiping.ID `json:"envelope_id"`
	Tender     kaiping.ID `json:"tender_id"`
	Section    kaiping.ID `json:"section_id"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	// Kind is the envelope kind (seal.Technical, seal.Commercial or seal.Summary).
	Kind string `json:"kind"`
	// Round is the round of the opening that opened it: 1, or 2 for the commercial round of
	// a two-envelope tender (双信封).
	Round int `json:"round"`
	// PlaintextSize and PlaintextDigest are what the opening's verification found: the
	// file's length and its hash under the envelope's suite (SHA-256, or SM3 in national
	// mode), as the opening record shows it.
	PlaintextSize   int64  `json:"plaintext_size"`
	PlaintextDigest string `json:"plaintext_digest"`
	// SHA256 is the sealed file's digest, as receipted.
	SHA256      string    `json:"sha256"`
	DecryptedAt time.Time `json:"decrypted_at"`
}

// OpenedBidStore is what reading the opened bids needs from persistence.
type OpenedBidStore interface {
	// Tender returns a tender with its sections.
	Tender(ctx context.Context, id kaiping.ID) (Tender, error)
	// Hall returns a section's hall; KindNotFound "hall.not_open" before its bid set is sealed.
	Hall(ctx context.Context, section kaiping.ID) (HallStatus, error)
	// HallEnvelopes lists the section's envelopes in the hall (bidder empty: all of them).
	HallEnvelopes(ctx context.Context, section, bidder kaiping.ID) ([]HallEnvelope, error)
	// HallEnvelope returns one envelope of a hall, with its wrapped file key; KindNotFound
	// "hall.envelope_not_found".
	HallEnvelope(ctx context.Context, envelope kaiping.ID) (HallEnvelope, error)
	// RecordOf returns the published record of one round; KindNotFound "hall.no_record".
	RecordOf(ctx context.Context, section kaiping.ID, round int) (PublishedRecord, error)
	// LedgerBidRead appends the ledger entry of a read of an opened envelope (bid.read):
	// who read which envelope of which bid, from where, when.
	LedgerBidRead(ctx context.Context, a kaiping.Actor, b OpenedBid) error
}

// OpenedBids lets the evaluation committee read the opened bids (已开启的投标文件): it lists a
// section's envelopes the opening verified and published as opened, and streams one of them
// decrypted from object storage with the file key the opening holds, unwrapped by the KEK
// for that read only. The plaintext is never written anywhere — not to disk, a temporary
// file, the database or a log — and every read is ledgered before its first byte.
//
// It decides only what is readable and when; who may read (the committee's members, for
// their group's sections) is the caller's to check.
type OpenedBids struct {
	store OpenedBidStore
	open  OpenObject
	keys  KeyWrapper
	log   *slog.Logger
}

// NewOpenedBids returns the reader of the opened bids: open reads a stored envelope version
// (the bids bucket), keys unwraps the file keys the opening holds.
func NewOpenedBids(store OpenedBidStore, open OpenObject, keys KeyWrapper, log *slog.Logger) *OpenedBids {
	return &OpenedBids{store: store, open: open, keys: keys, log: log}
}

// The refusals of reading an opened bid.
var (
	errReadNotPublished = kaiping.E(kaiping.KindTooEarly, "reading.not_published",
		"该标段的开标记录尚未公布，投标文件不能调阅")
	errReadHallFailed = kaiping.E(kaiping.KindConflict, "reading.opening_failed",
		"该标段开标已流标，没有可供评审的投标文件")
	errReadNotOpened = kaiping.E(kaiping.KindForbidden, "reading.not_opened",
		"该投标文件未在开标中开启（撤销、撤回、未解密或未通过技术评审），不能调阅")
	errReadKeyDestroyed = kaiping.E(kaiping.KindTooLate, "reading.key_destroyed",
		"该投标文件的密钥已按规定销毁，投标文件不能再解密")
)

// errReadCorrupt is a stored envelope that no longer opens as the opening verified it: its
// bytes in storage were altered or cut. The stream fails; what it handed out is not the bid.
func errReadCorrupt(op string, cause error) error {
	return &kaiping.Error{Kind: kaiping.KindConflict, Code: "reading.corrupt",
		Message: "存储中的投标文件与开标时验证的不一致，已中止读取，请联系平台运维人员", Op: op, Err: cause}
}

// sectionView is what decides which envelopes of a section are readable.
type sectionView struct {
	hall   HallStatus
	tender Tender
	// opened holds, per published round, the bidders the round's record shows as opened.
	opened map[int]map[kaiping.ID]bool
}

// view reads the section's hall, tender and published records. A section whose opening has
// not published a record is "reading.not_published", a failed one (流标)
// "reading.opening_failed".
func (o *OpenedBids) view(ctx context.Context, section kaiping.ID) (sectionView, error) {
	h, err := o.store.Hall(ctx, section)
	if kaiping.IsKind(err, kaiping.KindNotFound) {
		return sectionView{}, errReadNotPublished
	}
	if err != nil {
		return sectionView{}, err
	}
	if h.State == HallFailed {
		return sectionView{}, errReadHallFailed
	}
	rounds := publishedRounds(h)
	if len(rounds) == 0 {
		return sectionView{}, errReadNotPublished
	}
	t, err := o.store.Tender(ctx, h.Tender)
	if err != nil {
		return sectionView{}, err
	}
	v := sectionView{hall: h, tender: t, opened: map[int]map[kaiping.ID]bool{}}
	for _, r := range rounds {
		pub, err := o.store.RecordOf(ctx, section, r)
		if err != nil {
			return sectionView{}, err
		}
		rec, err := DecodeRoundRecord(pub.Record)
		if err != nil {
			return sectionView{}, err
		}
		v.opened[r] = map[kaiping.ID]bool{}
		for _, b := range rec.Bids {
			if b.Status == BidOpened {
				v.opened[r][b.Bidder] = true
			}
		}
	}
	return v, nil
}

// publishedRounds are the rounds of a hall whose opening record is out: a round's once its
// hall is past decryption (published, confirming, closed), the first round's for good once
// the second began.
func publishedRounds(h HallStatus) []int {
	past := slices.Contains([]HallState{HallPublished, HallConfirming, HallClosed}, h.State)
	switch {
	case h.Round >= 2 && past:
		return []int{1, 2}
	case h.Round >= 2:
		return []int{1}
	case past:
		return []int{1}
	}
	return nil
}

// roundOf is the round that opens envelopes of kind under the tender's plan, 0 if none.
func (v sectionView) roundOf(kind string) int {
	for _, r := range []int{1, 2} {
		if v.tender.Plan.OpensIn(r, kind) {
			return r
		}
	}
	return 0
}

// readable says whether e may be read: decrypted by a round whose record is published,
// and part of a bid that record shows as opened (a bid revoked or withdrawn for another of
// its envelopes is not evaluated). It returns the envelope as OpenedBid.
func (v sectionView) readable(e HallEnvelope) (OpenedBid, error) {
	r := v.roundOf(e.Kind)
	if e.State != EnvDecrypted || !v.opened[r][e.Bidder] {
		if r > 0 && v.opened[r] == nil && e.State != EnvRetained {
			// Its round's record is not out yet (the commercial round of a two-envelope
			// tender still running).
			return OpenedBid{}, errReadNotPublished
		}
		return OpenedBid{}, errReadNotOpened
	}
	if e.WrappedKey == nil {
		return OpenedBid{}, errReadKeyDestroyed
	}
	b := OpenedBid{Envelope: e.ID, Tender: v.hall.Tender, Section: e.Section, Bidder: e.Bidder, BidderName: e.BidderName,
		Kind: e.Kind, Round: r, PlaintextSize: e.PlaintextSize, PlaintextDigest: e.PlaintextDigest, SHA256: e.SHA256}
	if e.DecryptedAt != nil {
		b.DecryptedAt = *e.DecryptedAt
	}
	return b, nil
}

// List lists the envelopes of a section the committee may read, by bidder name, bidder and
// kind: those of the bids the published records show as opened, whose file keys are held.
// Before the section's record is published it is "reading.not_published"; a failed opening
// (流标) is "reading.opening_failed".
func (o *OpenedBids) List(ctx context.Context, section kaiping.ID) ([]OpenedBid, error) {
	v, err := o.view(ctx, section)
	if err != nil {
		return nil, err
	}
	envs, err := o.store.HallEnvelopes(ctx, section, "")
	if err != nil {
		return nil, err
	}
	out := []OpenedBid{}
	for _, e := range envs {
		if b, err := v.readable(e); err == nil {
			out = append(out, b)
		}
	}
	return out, nil
}

// Read opens one envelope for reading as the committee member a: it checks the envelope is
// readable (List's rules: "reading.not_published", "reading.opening_failed",
// "reading.not_opened", "reading.key_destroyed"), ledgers the read (bid.read) and returns
// its plaintext as a stream, decrypted chunk by chunk from object storage. The caller reads
// it to io.EOF and closes it; an error from it means what was read so far is not the bid
// ("reading.corrupt" when the stored bytes no longer open as the opening verified them).
func (o *OpenedBids) Read(ctx context.Context, a kaiping.Actor, envelope kaiping.ID) (*BidReader, error) {
	e, err := o.store.HallEnvelope(ctx, envelope)
	if err != nil {
		return nil, err
	}
	v, err := o.view(ctx, e.Section)
	if err != nil {
		return nil, err
	}
	b, err := v.readable(e)
	if err != nil {
		return nil, err
	}
	if err := o.store.LedgerBidRead(ctx, a, b); err != nil {
		return nil, err
	}
	r, err := o.stream(ctx, e, b)
	if err != nil && kaiping.CodeOf(err) == "reading.corrupt" {
		o.log.Error("stored envelope does not open as verified", "envelope_id", e.ID, "section_id", e.Section, "err", err)
	}
	return r, err
}

package opening

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaiping/kaiping"
)

// The second round of a two-envelope tender (双信封). The first round opens the technical
// envelopes only, so no price is known while they are judged, and ends like any opening, at
// closed. The technical stage is then
// evaluated (by the committee, elsewhere), and the host records its results here: the hall
// moves from (round 1, closed) to (round 2, qualified), or to failed (流标) when fewer
// bidders passed than the tender's minimum. The second round runs check-in, the decrypt
// window, the record and its confirmation again, for the summary (开标一览表) and commercial
// envelopes of the bidders who passed. The failed bidders' are retained: sealed for
// good, refused by the hall (CanUnlock), by the store under the hall's lock, and by the
// database, which lets no key, no queueing and no state change touch them.
//
// The pair (round, state) only moves forward, in the order (1, sealed) < … < (1, closed) <
// (2, qualified) < (2, checking_in) < … < (2, closed), with failed final in either round;
// the round changes once, in Qualify, only from the first round's closed hall.

// EnvRetained is the state of the summary and commercial envelopes of a bidder who did not
// pass the technical stage of a two-envelope tender: never opened, by anyone.
const EnvRetained = "retained"

// BidNotPassed is the status, in the second round's record, of a bidder who did not pass
// the technical stage.
const BidNotPassed = "not_passed"

// Reason codes of the second round's record.
const (
	ReasonNotPassed    = "hall.not_passed"
	ReasonNoCommercial = "hall.no_commercial"
	// ReasonFirstRoundNotOpened is why a bidder whose first-round bid was not opened (撤销
	// or 撤回) does not proceed.
	ReasonFirstRoundNotOpened = "第一轮开标中投标文件未解密（撤销或撤回），不进入第二轮"
)

func errNotPassed() error {
	return kaiping.E(kaiping.KindForbidden, "hall.not_passed", "贵单位未通过技术评审，商务标不予开启，永久密封")
}

// QualificationRequest is the host's record of the technical stage (技术标评审结果) of a
// two-envelope tender: for every bidder whose first-round bid was opened, whether it
// passed, and why not when it did not. Bidders whose first-round bid was not opened do not
// proceed and need not be listed.
type QualificationRequest struct {
	Results []QualificationResult `json:"results"`
}

// QualificationResult is one bidder's result of the technical stage.
type QualificationResult struct {
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name,omitempty"` // as the first round's record names it
	Passed     bool       `json:"passed"`
	Reason     string     `json:"reason,omitempty"`
}

// Qualification is what Qualify records: every bidder of the set and its result, and the
// state the hall goes to.
type Qualification struct {
	To      HallState // qualified, or failed (流标) with Reason
	Reason  string
	Results []QualificationResult
	// FirstRecord is the digest of the first round's record the results refer to.
	FirstRecord string
}

// Passed lists the bidders who passed.
func (q Qualification) Passed() []kaiping.ID {
	var ids []kaiping.ID
	for _, r := range q.Results {
		if r.Passed {
			ids = append(ids, r.Bidder)
		}
	}
	return ids
}

const maxQualificationReasonRunes = 500

// Qualify records the host's results of the technical stage of a two-envelope tender on
// the first round's closed hall and opens the second round (qualified), or fails the hall
// (流标) when fewer bidders passed than the tender's minimum. Checked against the first
// round's record: only a bidder whose bid was opened may pass, every such bidder must be
// listed once, and a bidder who did not pass needs a reason.
func (h *Hall) Qualify(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req QualificationRequest) (HallStatus, error) {
	t, _, err := h.section(ctx, tenderID, sectionRef)
	if err != nil {
		return HallStatus{}, err
	}
	if t.NeedsCosign(CosignQualification) {
		return HallStatus{}, cosignRequired(CosignQualification)
	}
	return h.qualify(ctx, a, tenderID, sectionRef, req)
}

// qualify records the technical stage's results (Qualify, or a co-signed proposal).
func (h *Hall) qualify(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req QualificationRequest) (HallStatus, error) {
	return untilSettled(func() (HallStatus, error) {
		t, sec, st, err := h.load(ctx, tenderID, sectionRef)
		if err != nil {
			return HallStatus{}, err
		}
		q, err := h.qualificationOf(ctx, t, sec, st, req)
		if err != nil {
			return HallStatus{}, err
		}
		return h.store.Qualify(ctx, a, sec.ID, st.Version, q)
	})
}

// qualificationOf checks the results against the hall (a closed first round of a
// two-envelope tender) and its first record, and returns what Qualify stores.
func (h *Hall) qualificationOf(ctx context.Context, t Tender, sec Section, st HallStatus, req QualificationRequest) (Qualification, error) {
	if t.Plan != TwoEnvelope {
		return Qualification{}, kaiping.E(kaiping.KindConflict, "hall.not_two_envelope", "本项目不是双信封项目，没有第二轮开标")
	}
	if err := st.Require(HallClosed); err != nil {
		return Qualification{}, err
	}
	if st.Round != 1 {
		return Qualification{}, kaiping.E(kaiping.KindConflict, "hall.already_qualified", "技术评审结果已录入，第二轮开标已经进行")
	}
	pr, err := h.store.RecordOf(ctx, sec.ID, 1)
	if err != nil {
		return Qualification{}, err
	}
	first, err := DecodeRoundRecord(pr.Record)
	if err != nil {
		return Qualification{}, err
	}
	q, err := qualification(first, req, t.MinBids)
	if err != nil {
		return Qualification{}, err
	}
	q.FirstRecord = pr.Digest
	return q, nil
}

// qualification checks the host's results against the first round's record and completes
// them with the bidders that do not proceed.
func qualification(first RoundRecord, req QualificationRequest, minBids int) (Qualification, error) {
	given := map[kaiping.ID]QualificationResult{}
	bids := map[kaiping.ID]RecordBid{}
	for _, b := range first.Bids {
		bids[b.Bidder] = b
	}
	for _, r := range req.Results {
		b, ok := bids[r.Bidder]
		if !ok {
			return Qualification{}, kaiping.Errorf(kaiping.KindInvalid, "hall.qualify_unknown_bidder", "投标人 %s 不在第一轮开标记录中", r.Bidder)
		}
		if _, dup := given[r.Bidder]; dup {
			return Qualification{}, kaiping.Errorf(kaiping.KindInvalid, "hall.qualify_duplicate", "投标人「%s」的技术评审结果重复", b.BidderName)
		}
		r.Reason = strings.TrimSpace(r.Reason)
		switch {
		case utf8.RuneCountInString(r.Reason) > maxQualificationReasonRunes:
			return Qualification{}, kaiping.Errorf(kaiping.KindInvalid, "hall.qualify_reason", "评审意见不超过 %d 字", maxQualificationReasonRunes)
		case r.Passed && b.Status != BidOpened:
			return Qualification{}, kaiping.Errorf(kaiping.KindInvalid, "hall.qualify_not_opened", "「%s」的第一轮投标文件未解密（%s），不能通过技术评审", b.BidderName, b.StatusLabel)
		case !r.Passed && r.Reason == "":
			return Qualification{}, kaiping.Errorf(kaiping.KindInvalid, "hall.qualify_reason", "未通过技术评审的投标人须写明理由：「%s」", b.BidderName)
		}
		r.BidderName = b.BidderName
		given[r.Bidder] = r
	}
	q := Qualification{To: HallQualified}
	var missing []string
	passed := 0
	for _, b := range first.Bids {
		r, ok := given[b.Bidder]
		switch {
		case ok:
		case b.Status == BidOpened:
			missing = append(missing, "「"+b.BidderName+"」")
			continue
		default:
			r = QualificationResult{Bidder: b.Bidder, BidderName: b.BidderName, Reason: ReasonFirstRoundNotOpened}
		}
		if r.Passed {
			passed++
		}
		q.Results = append(q.Results, r)
	}
	if len(missing) > 0 {
		return Qualification{}, kaiping.Errorf(kaiping.KindInvalid, "hall.qualify_missing", "以下投标人尚未录入技术评审结果：%s", strings.Join(missing, "、"))
	}
	if passed < minBids {
		q.To = HallFailed
		q.Reason = fmt.Sprintf("通过技术评审的投标人不足 %d 家（%d 家），不开启商务标，依法流标，须重新招标", minBids, passed)
	}
	return q, nil
}

// Qualifications returns the recorded results of the technical stage to the bidders of the
// set (overseer false) and to hosts and supervisors. Before they are recorded the list is
// empty.
func (h *Hall) Qualifications(ctx context.Context, a kaiping.Actor, overseer bool, tenderID kaiping.ID, sectionRef string) ([]QualificationResult, error) {
	t, sec, err := h.section(ctx, tenderID, sectionRef)
	if err != nil {
		return nil, err
	}
	if !overseer {
		if _, err := h.ownEnvelopes(ctx, t, sec, a.Principal); err != nil {
			return nil, err
		}
	}
	return h.store.Qualifications(ctx, sec.ID)
}

// builtRecord is a round's record built when its decrypt window ends, ready to publish.
type builtRecord struct {
	canonical []byte
	digest    string
	outcomes  []EnvelopeOutcome
	failed    string // why the hall fails (流标), or empty
}

// buildRoundRecord builds the record of the hall's round: buildRecord's for the first, the
// commercial round's (buildSecondRecord) for the second.
func (h *Hall) buildRoundRecord(ctx context.Context, in recordInput) (builtRecord, error) {
	var b builtRecord
	var rec RoundRecord
	if in.hall.Round < 2 {
		first, outcomes := buildRecord(in)
		rec, b.outcomes = RoundRecord{OpeningRecord: first}, outcomes
	} else {
		pr, err := h.store.RecordOf(ctx, in.section.ID, 1)
		if err != nil {
			return b, err
		}
		quals, err := h.store.Qualifications(ctx, in.section.ID)
		if err != nil {
			return b, err
		}
		rec, b.outcomes = buildSecondRecord(in, pr.Digest, quals)
	}
	var err error
	if b.canonical, b.digest, err = rec.Canonical(); err != nil {
		return b, err
	}
	if rec.Outcome == string(HallFailed) {
		b.failed = rec.Reason
	}
	return b, nil
}

// buildSecondRecord builds the commercial round's record: a line for every bidder of the
// technical stage, by name. A bidder who passed is opened when its commercial and summary
// envelopes were decrypted and the summary read: its values are that 开标一览表, seen by
// nobody before this round. Otherwise it is revoked (撤销) or withdrawn (撤回) as in the
// first round. A bidder who did not pass is listed with the reason and its envelopes'
// digests, never opened. Fewer opened bids than the minimum fail the hall (流标).
func buildSecondRecord(in recordInput, firstDigest string, quals []QualificationResult) (RoundRecord, []EnvelopeOutcome) {
	// buildRecord of no envelopes is the record's head: tender, section, times, bid set.
	head, _ := buildRecord(recordInput{tender: in.tender, section: in.section, set: in.set, hall: in.hall, closedAt: in.closedAt, at: in.at})
	rec := RoundRecord{OpeningRecord: head, Round: 2, FirstRecordDigest: firstDigest}
	rec.Bids, rec.ValidBids, rec.Outcome, rec.Reason, rec.Fields = []RecordBid{}, 0, BidOpened, "", in.tender.SummaryFields
	envs := map[kaiping.ID][]HallEnvelope{}
	for _, e := range in.envelopes {
		if in.tender.Plan.OpensIn(2, e.Kind) {
			envs[e.Bidder] = append(envs[e.Bidder], e)
		}
	}
	var outcomes []EnvelopeOutcome
	for _, q := range quals {
		b := RecordBid{Bidder: q.Bidder, BidderName: q.BidderName, Status: BidOpened, Envelopes: []RecordEnvelope{}}
		commercial := false
		for _, e := range envs[q.Bidder] {
			commercial = commercial || e.Kind == "commercial"
			re := RecordEnvelope{Kind: e.Kind, SHA256: e.SHA256, PlaintextDigest: e.PlaintextDigest, Via: e.Via}
			if !q.Passed {
				re.Outcome = EnvRetained
			} else if outcome, reason := e.Classify(); outcome != "" {
				re.Outcome, re.Reason = outcome, reason
				outcomes = append(outcomes, EnvelopeOutcome{Envelope: e.ID, Outcome: outcome, Reason: reason})
				b.fail(outcome, reason)
			} else if e.Kind == "summary" {
				b.Values = e.Summary
			}
			b.Envelopes = append(b.Envelopes, re)
		}
		switch {
		case !q.Passed:
			b.Status, b.StatusLabel, b.Reason, b.ReasonText = BidNotPassed, "未通过技术评审", ReasonNotPassed, "商务标不予开启："+q.Reason
		case !commercial:
			b.Status, b.StatusLabel, b.Reason, b.ReasonText = OutcomeRevoked, OutcomeLabel(OutcomeRevoked), ReasonNoCommercial, "投标文件中没有商务标"
		case b.Status == BidOpened && b.Values == nil:
			b.fail(OutcomeRevoked, ReasonNoSummary)
			fallthrough
		default:
			b.StatusLabel, b.ReasonText = OutcomeLabel(b.Status), ReasonText(b.Reason)
		}
		if b.Status == BidOpened {
			rec.ValidBids++
		} else {
			b.Values = nil
		}
		rec.Bids = append(rec.Bids, b)
	}
	slices.SortFunc(rec.Bids, func(x, y RecordBid) int {
		return cmp.Or(cmp.Compare(x.BidderName, y.BidderName), cmp.Compare(x.Bidder, y.Bidder))
	})
	for i := range rec.Bids {
		rec.Bids[i].No = i + 1
	}
	if rec.ValidBids < in.tender.MinBids {
		rec.Outcome, rec.Reason = string(HallFailed), failedReason(rec.ValidBids, in.tender.MinBids)
	}
	return rec, outcomes
}

// roundLabel names a record's round as the PDF and the command line show it.
func roundLabel(plan EnvelopePlan, round int) string {
	switch {
	case round >= 2:
		return "第二轮：开标一览表及商务标"
	case plan == TwoEnvelope:
		return "第一轮：技术标"
	}
	return ""
}

// chinaDate formats a time as the hall shows it (北京时间).
func chinaDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(kaiping.BeijingTime).Format("2006-01-02 15:04:05")
}

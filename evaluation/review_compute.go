package evaluation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
)

// The review's own warnings, beside the computation's (scoring.Code*): what the committee
// must settle that only the platform's records show.
const (
	// CodeBelowCostUndecided (hard): a price the computation flags as possibly below cost
	// that the committee has neither accepted (the bidder's explanation) nor rejected.
	CodeBelowCostUndecided = "review.below_cost_undecided"
	// CodeSameAddress (soft): several bidders of the section submitted or unlocked from one
	// network address (a collusion prompt from our own ledger).
	CodeSameAddress = "review.same_address"
)

// MemberMark is a stored mark with the member who gave it.
type MemberMark struct {
	Member kaiping.ID `json:"member_id"`
	Mark
}

// members are the scoring identities of the section's sitting members, in session order:
// the replaced members' marks are void and left out.
func (c *reviewCase) members() []string {
	var out []string
	for _, m := range c.sess.sitting(c.rev.Group) {
		out = append(out, string(m.ID))
	}
	return out
}

// inputs builds the computation's inputs from the section's stored marks of the sitting
// members, the opened bids and the committee's decisions. Detailed marks are left out with
// withSheets false (the initial review's validity needs none).
//
// The inputs, and so their digest, must not depend on the order the marks were read in (the
// store's, or the ledger's when `kaiping evaluation verify` replays it): every bid's verdicts
// are in member then item order, the sheets in member then bidder order. They are sorted
// once grouped, not the marks first: a large section has tens of thousands of marks and a
// few hundred sheets.
func (c *reviewCase) inputs(marks []MemberMark, withSheets bool) scoring.Inputs {
	in := scoring.Inputs{Ceiling: c.rev.Ceiling, Downward: c.rev.Downward, Members: c.members()}
	sitting := map[kaiping.ID]bool{}
	for _, m := range in.Members {
		sitting[kaiping.ID(m)] = true
	}
	verdicts := map[kaiping.ID][]scoring.Verdict{}
	sheets := map[[2]kaiping.ID]*scoring.Sheet{}
	review := map[string]bool{} // isReviewItem by item, looked up once each
	for _, mk := range marks {
		if !sitting[mk.Member] {
			continue
		}
		if mk.Item == "" {
			continue
		}
		isReview, ok := review[mk.Item]
		if !ok {
			isReview = c.isReviewItem(mk.Item)
			review[mk.Item] = isReview
		}
		if isReview {
			verdicts[mk.Bidder] = append(verdicts[mk.Bidder], scoring.Verdict{Member: string(mk.Member), Item: mk.Item, Pass: mk.Value == 1})
			continue
		}
		if !withSheets {
			continue
		}
		k := [2]kaiping.ID{mk.Member, mk.Bidder}
		s := sheets[k]
		if s == nil {
			s = &scoring.Sheet{Member: string(mk.Member), Bidder: string(mk.Bidder), Scores: map[string]int64{}}
			sheets[k] = s
		}
		s.Scores[mk.Item] = mk.Value
	}
	for _, vs := range verdicts {
		slices.SortFunc(vs, func(a, b scoring.Verdict) int {
			if a.Member != b.Member {
				return strings.Compare(a.Member, b.Member)
			}
			return strings.Compare(a.Item, b.Item)
		})
	}
	for _, b := range c.bids {
		if !b.Opened {
			continue
		}
		bid := scoring.Bid{Bidder: string(b.Bidder), Price: b.Price, Review: verdicts[b.Bidder]}
		if p := c.corrected(b.Bidder); p > 0 {
			bid.Price = p
		}
		if bid.Review == nil {
			bid.Review = []scoring.Verdict{}
		}
		if r := c.rev.rejection(b.Bidder); r != nil {
			bid.Rejected, bid.Reason = true, RejectGrounds[r.Reason]
		}
		for _, d := range c.rev.Decisions {
			if d.Bidder == b.Bidder && d.Kind == DecisionAdjust {
				if bid.Adjustments == nil {
					bid.Adjustments = map[string]int64{}
				}
				bid.Adjustments[d.Adjustment] = d.Amount
			}
		}
		in.Bids = append(in.Bids, bid)
	}
	if len(sheets) > 0 {
		in.Sheets = make([]scoring.Sheet, 0, len(sheets))
		for _, s := range sheets {
			in.Sheets = append(in.Sheets, *s)
		}
		slices.SortFunc(in.Sheets, func(a, b scoring.Sheet) int {
			if a.Member != b.Member {
				return strings.Compare(a.Member, b.Member)
			}
			return strings.Compare(a.Bidder, b.Bidder)
		})
	}
	return in
}

func (c *reviewCase) isReviewItem(code string) bool {
	return slices.ContainsFunc(c.method.Review, func(r scoring.ReviewItem) bool { return r.Code == code })
}

// validity is the initial review's outcome over the stored verdicts, once complete.
func (c *reviewCase) validity(marks []MemberMark) ([]scoring.Outcome, error) {
	return scoring.Validity(c.method, c.inputs(marks, false))
}

// validSet is the bidders the detailed review scores: valid after the initial review and
// not rejected since. Before the initial review is concluded it is empty.
func (c *reviewCase) validSet(marks []MemberMark) (map[kaiping.ID]bool, error) {
	out := map[kaiping.ID]bool{}
	if c.rev.Stage == ReviewInitial {
		return out, nil
	}
	outcomes, err := c.validity(marks)
	if err != nil {
		return nil, err
	}
	for _, o := range outcomes {
		if o.Valid {
			out[kaiping.ID(o.Bidder)] = true
		}
	}
	return out, nil
}

// compute runs the computation over the complete inputs and adds the review's own warnings,
// each with its key and the committee's note if one is filed.
func (c *reviewCase) compute(marks []MemberMark) (scoring.Inputs, scoring.Result, []ReviewWarning, error) {
	in := c.inputs(marks, true)
	res, err := scoring.Compute(c.method, in)
	if err != nil {
		return in, res, nil, err
	}
	var ws []scoring.Warning
	for _, w := range res.Warnings {
		ws = append(ws, w)
		if w.Code == scoring.CodeBelowCost && !c.costDecided(kaiping.ID(w.Bidders[0])) {
			ws = append(ws, scoring.Warning{Code: CodeBelowCostUndecided, Hard: true, Bidders: w.Bidders,
				Message: fmt.Sprintf("%s 的报价可能低于成本：评标委员会须在其书面说明后决定接受说明或否决其投标", c.name(kaiping.ID(w.Bidders[0])))})
		}
	}
	ws = append(ws, c.sameAddress()...)
	ws = append(ws, c.corrections()...)
	names := c.namer()
	out := make([]ReviewWarning, len(ws))
	for i, w := range ws {
		w.Message = names.Replace(w.Message)
		out[i] = ReviewWarning{Warning: w, Key: WarningKey(w)}
		if n := c.noteOn(out[i]); n != nil {
			out[i].Note = n
		}
	}
	return in, res, out, nil
}

// costDecided reports whether the committee accepted bidder's explanation of its price.
func (c *reviewCase) costDecided(bidder kaiping.ID) bool {
	return slices.ContainsFunc(c.rev.Decisions, func(d BidDecision) bool { return d.Bidder == bidder && d.Kind == DecisionCostExplained })
}

// noteOn is the note filed on w: the committee's note by key, or for a below-cost price the
// decision that accepted the explanation.
func (c *reviewCase) noteOn(w ReviewWarning) *WarningNote {
	for i := range c.rev.Notes {
		if c.rev.Notes[i].Key == w.Key {
			return &c.rev.Notes[i]
		}
	}
	if w.Code == scoring.CodeBelowCost {
		for _, d := range c.rev.Decisions {
			if d.Kind == DecisionCostExplained && string(d.Bidder) == w.Bidders[0] {
				return &WarningNote{Key: w.Key, Code: w.Code, Text: d.Text, By: d.By, At: d.At}
			}
		}
	}
	return nil
}

// sameAddress prompts on every network address that several of the section's opened bidders
// submitted or unlocked from.
func (c *reviewCase) sameAddress() []scoring.Warning {
	byAddr := map[string][]string{}
	var addrs []string
	for _, o := range c.origins {
		if _, ok := c.opened(o.Bidder); !ok || o.Address == "" {
			continue
		}
		if _, ok := byAddr[o.Address]; !ok {
			addrs = append(addrs, o.Address)
		}
		if !slices.Contains(byAddr[o.Address], string(o.Bidder)) {
			byAddr[o.Address] = append(byAddr[o.Address], string(o.Bidder))
		}
	}
	slices.Sort(addrs)
	var out []scoring.Warning
	for _, a := range addrs {
		bidders := byAddr[a]
		if len(bidders) < 2 {
			continue
		}
		slices.Sort(bidders)
		names := make([]string, len(bidders))
		for i, b := range bidders {
			names[i] = c.name(kaiping.ID(b))
		}
		out = append(out, scoring.Warning{Code: CodeSameAddress, Bidders: bidders,
			Message: fmt.Sprintf("%s 的投标文件递交或解密来自同一网络地址 %s，请注意是否存在串通投标", strings.Join(names, "、"), a)})
	}
	return out
}

// name is the bidder's name as the record shows it.
func (c *reviewCase) name(bidder kaiping.ID) string {
	for _, b := range c.bids {
		if b.Bidder == bidder {
			return b.Name
		}
	}
	return string(bidder)
}

// namer replaces the bidder and member IDs in a computation's messages by their names.
func (c *reviewCase) namer() *strings.Replacer {
	var pairs []string
	for _, b := range c.bids {
		pairs = append(pairs, string(b.Bidder), b.Name)
	}
	for _, m := range c.sess.Members {
		pairs = append(pairs, string(m.ID), m.Name)
	}
	return strings.NewReplacer(pairs...)
}

// WarningKey identifies a warning across computations, so a note stays with what it is
// about: its code, bidders, member and item (not its values, which a fix changes).
func WarningKey(w scoring.Warning) string {
	sum := sha256.Sum256([]byte(w.Code + "|" + strings.Join(w.Bidders, ",") + "|" + w.Member + "|" + w.Item))
	return hex.EncodeToString(sum[:8])
}

// The review's warnings about arithmetic corrections (hard: the price the computation uses
// must be the one the bidder confirmed, and a refused correction makes the bid invalid).
const (
	CodeCorrectionPending   = "review.correction_pending"
	CodeCorrectionUnapplied = "review.correction_unapplied"
	CodeCorrectionRefused   = "review.correction_refused"
	// CodeInquiryPending (hard): a clarification or below-cost request still awaiting its
	// answer within its deadline; the committee waits for it (or for the deadline).
	CodeInquiryPending = "review.inquiry_pending"
)

// corrections warns on every request to a bid still in the running that awaits its answer,
// and on every correction confirmed but not applied, or refused (or let expire) without the
// bid rejected.
func (c *reviewCase) corrections() []scoring.Warning {
	var out []scoring.Warning
	for _, o := range c.inquiries {
		if c.rev.rejection(o.Bidder) != nil {
			continue
		}
		if o.Kind != string(InquiryCorrection) {
			if o.State == string(InquirySent) || o.State == string(InquiryPending) {
				out = append(out, scoring.Warning{Code: CodeInquiryPending, Hard: true, Bidders: []string{string(o.Bidder)},
					Message: fmt.Sprintf("评标委员会向 %s 发出的书面%s尚未答复（答复期限未到）", c.name(o.Bidder), InquiryKind(o.Kind).Label())})
			}
			continue
		}
		if _, ok := c.opened(o.Bidder); !ok {
			continue
		}
		name, bidders := c.name(o.Bidder), []string{string(o.Bidder)}
		switch o.State {
		case string(InquirySent), string(InquiryPending):
			out = append(out, scoring.Warning{Code: CodeCorrectionPending, Hard: true, Bidders: bidders,
				Message: fmt.Sprintf("已书面要求 %s 确认算术修正后的报价，尚未答复", name)})
		case string(InquiryAnswered):
			if c.corrected(o.Bidder) != o.CorrectedPrice {
				out = append(out, scoring.Warning{Code: CodeCorrectionUnapplied, Hard: true, Bidders: bidders, Values: []int64{o.CorrectedPrice},
					Message: fmt.Sprintf("%s 已确认修正后的报价 %s 元：组长须按确认的报价录入修正", name, yuanOf(o.CorrectedPrice))})
			}
		case string(InquiryRefused), string(InquiryExpired):
			out = append(out, scoring.Warning{Code: CodeCorrectionRefused, Hard: true, Bidders: bidders,
				Message: fmt.Sprintf("%s 不接受或逾期未确认算术修正，其投标无效：组长须记录否决", name)})
		}
	}
	return out
}

// corrected is the price of the committee's last correction of bidder's bid, 0 if none.
func (c *reviewCase) corrected(bidder kaiping.ID) int64 {
	var price int64
	for _, d := range c.rev.Decisions {
		if d.Bidder == bidder && d.Kind == DecisionCorrect {
			price = d.Amount
		}
	}
	return price
}

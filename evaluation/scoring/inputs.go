package scoring

// Inputs are everything the committee's computation rests on besides the method, each of
// them ledgered when it is entered: the bids as opened (prices after the arithmetic
// corrections the bidders confirmed), the members' initial-review verdicts, the committee's
// 否决 decisions and adjustments, and the members' score sheets.
type Inputs struct {
	// Ceiling is the 最高投标限价 in fen; 0 when the tender has none.
	Ceiling int64 `json:"ceiling"`
	// Downward is the 下浮 rate drawn at the opening, in basis points, when the method has
	// DownwardChoices; otherwise it must be absent.
	Downward *int64 `json:"downward,omitempty"`
	// Members are the committee members whose verdicts and sheets count (the replaced
	// members' conclusions are void and not given). Their order is the order of every
	// per-member list in the result and breaks ties of §5.2.
	Members []string `json:"members"`
	Bids    []Bid    `json:"bids"`
	// Sheets are the members' score sheets (评分表) of 综合评估法, one per member and valid
	// bid. Sheets of bids that are not valid are not used.
	Sheets []Sheet `json:"sheets,omitempty"`
}

// Bid is one opened bid.
type Bid struct {
	Bidder string `json:"bidder"`
	// Price is the bid price (投标报价) in fen, as corrected and confirmed.
	Price int64 `json:"price"`
	// Adjustments are the committee's amounts, in fen, for the method's adjustments, by
	// code; missing ones are 0.
	Adjustments map[string]int64 `json:"adjustments,omitempty"`
	// Review holds every member's verdict on every initial-review item.
	Review []Verdict `json:"review"`
	// Rejected is a 否决 the committee decided on grounds other than the review items
	// (an unexplained below-cost price, collusion found); Reason says why.
	Rejected bool   `json:"rejected,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Verdict is one member's pass/fail on one initial-review item of one bid.
type Verdict struct {
	Member string `json:"member"`
	Item   string `json:"item"`
	Pass   bool   `json:"pass"`
}

// Sheet is one member's scores of one bid, in hundredths of a point by item code. Total,
// when the member's tool submits one, is the member's own sum (with the group weights,
// without the price score), checked against the computed one.
type Sheet struct {
	Member string           `json:"member"`
	Bidder string           `json:"bidder"`
	Scores map[string]int64 `json:"scores"`
	Total  *int64           `json:"total,omitempty"`
}

// Result is the computation's outcome: what the report's tables 4, 5, 7 and 8 and its
// candidate list hold, and the warnings to settle before signing.
type Result struct {
	// Base is the base price in fen: the lowest evaluated price (low_base) or S after the
	// 下浮 (average_base); 0 under 经评审的最低投标价法 or with no valid bid.
	Base int64 `json:"base"`
	// Dropped are the members left out of the aggregation (§5.2), in the order dropped.
	Dropped []string `json:"dropped,omitempty"`
	// Bids are the valid bids in rank order, then the others in input order.
	Bids       []Outcome `json:"bids"`
	Candidates []string  `json:"candidates"`
	Warnings   []Warning `json:"warnings"`
}

// Outcome is one bid's row of the comparison table (标价比较表 or 综合评估比较表).
type Outcome struct {
	Bidder string `json:"bidder"`
	Price  int64  `json:"price"`
	// Evaluated is the evaluated price (评标价): Price plus the adjustments.
	Evaluated int64 `json:"evaluated"`
	Valid     bool  `json:"valid"`
	// Failed are the initial-review items a majority of members failed; Rejected is the
	// committee's other 否决.
	Failed   []string `json:"failed,omitempty"`
	Rejected bool     `json:"rejected,omitempty"`
	// Members are each member's total (with weights, without price), in Inputs.Members
	// order; Items the committee's score per item, in the method's order.
	Members    []int64 `json:"members,omitempty"`
	Items      []int64 `json:"items,omitempty"`
	Technical  int64   `json:"technical"`
	PriceScore int64   `json:"price_score"`
	Total      int64   `json:"total"`
	// Rank counts from 1; bids that are 并列 share it and the next rank skips (1, 1, 3).
	// 0 for a bid that is not valid.
	Rank int `json:"rank"`
}

// Warning is a finding of the checks before signing (195号 item 9). A hard warning blocks
// signing until the inputs are corrected; a soft one needs the committee's written note in
// the report. Bidders, Member, Item and Values are what it rests on; SCORING.md §8 says what
// Values hold for each code.
type Warning struct {
	Code    string   `json:"code"`
	Hard    bool     `json:"hard"`
	Message string   `json:"message"`
	Bidders []string `json:"bidders,omitempty"`
	Member  string   `json:"member,omitempty"`
	Item    string   `json:"item,omitempty"`
	Values  []int64  `json:"values,omitempty"`
}

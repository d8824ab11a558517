package opening

import (
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// Registration is a bidder's registration for a section (投标报名), naming the certificate
// whose key its bids are sealed to.
type Registration struct {
	Tender      kaiping.ID `json:"tender_id"`
	Section     kaiping.ID `json:"section_id"`
	Bidder      kaiping.ID `json:"bidder_id"`
	BidderName  string     `json:"bidder_name"`
	Certificate string     `json:"certificate_fingerprint"` // hex SHA-256 of the DER
	At          time.Time  `json:"registered_at"`
}

// BlacklistEntry records a bidder barred from bidding (不良行为记录 / 失信被执行人) for a
// period, with the reason an admin gave.
type BlacklistEntry struct {
	ID        kaiping.ID `json:"id"`
	Bidder    kaiping.ID `json:"bidder_id"`
	Reason    string     `json:"reason"`
	Source    string     `json:"source"` // where the record comes from: 信用中国, 行政处罚决定书 ...
	From      time.Time  `json:"from"`
	Until     time.Time  `json:"until"` // exclusive
	CreatedBy kaiping.ID `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// ActiveAt reports whether the entry bars bidding at t.
func (b BlacklistEntry) ActiveAt(t time.Time) bool {
	return !t.Before(b.From) && t.Before(b.Until)
}

// Validate checks an admin's new entry.
func (b *BlacklistEntry) Validate() error {
	b.Reason = strings.TrimSpace(b.Reason)
	b.Source = strings.TrimSpace(b.Source)
	switch {
	case !b.Bidder.Valid():
		return invalid("blacklist.bidder", "须指定被列入名单的投标人")
	case b.Reason == "" || len([]rune(b.Reason)) > 500:
		return invalid("blacklist.reason", "须写明列入原因（不超过 500 字）")
	case b.From.IsZero() || b.Until.IsZero() || !b.From.Before(b.Until):
		return invalid("blacklist.period", "须给出有效期，且开始时间早于结束时间")
	}
	return nil
}

package evaluation

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// DrawRequest is a host's request to draw the experts of a tender's evaluation committee
// (评标委员会专家抽取申请).
type DrawRequest struct {
	Tender kaiping.ID `json:"tender_id"`
	// CommitteeSize is the whole committee: an odd number, at least 5 (《招标投标法》 Art. 37).
	CommitteeSize int `json:"committee_size"`
	// TendererReps are the tenderer's own representatives on the committee (招标人代表), at
	// most a third of it; the rest are drawn.
	TendererReps int          `json:"tenderer_representatives"`
	Quotas       []draw.Quota `json:"quotas"`
	// OutsideSharePercent is the share of drawn experts whose home city is not the host
	// site's city (异地专家比例); the minimum is rounded up.
	OutsideSharePercent int         `json:"outside_share_percent"`
	HostVenue           kaiping.ID  `json:"host_venue_id"`
	Session             draw.Period `json:"session"`
	// SupervisingDepartments are the administrative supervisors of the tender (行政监督部门);
	// their staff step aside.
	SupervisingDepartments []string `json:"supervising_departments,omitempty"`
	// ConflictOrganisations are further organisations whose staff step aside (a bidder's
	// parent company, the agent).
	ConflictOrganisations []string `json:"conflict_organisations,omitempty"`
	// RespondMinutes is how long a drawn expert has to accept (default from Config).
	RespondMinutes int `json:"respond_minutes,omitempty"`
	// SeedCommitment, when given, is the SHA-256 (hex) of a seed someone else holds (a
	// supervisor, a notary): the draw then waits for that seed to be revealed. Without it the
	// platform generates the seed, commits to it and reveals it after the pick.
	SeedCommitment string `json:"seed_commitment,omitempty"`
}

// Limits of a draw request.
const (
	MinCommittee       = 5
	maxCommittee       = 25
	maxSessionLength   = 7 * 24 * time.Hour
	minRespondMinutes  = 5
	maxRespondMinutes  = 7 * 24 * 60
	maxConflictOrgs    = 1000
	maxSupervisingDept = 20
)

// validate checks the request at now and returns the draw's rules for hostCity.
func (r *DrawRequest) validate(now time.Time, defaultRespond time.Duration) error {
	if !r.Tender.Valid() {
		return invalid("draw.tender", "须指定招标项目")
	}
	if r.CommitteeSize < MinCommittee || r.CommitteeSize%2 == 0 || r.CommitteeSize > maxCommittee {
		return invalid("draw.committee_size", "评标委员会成员人数须为 %d 人以上的单数（不超过 %d 人），当前为 %d 人", MinCommittee, maxCommittee, r.CommitteeSize)
	}
	if r.TendererReps < 0 || 3*r.TendererReps > r.CommitteeSize {
		return invalid("draw.tenderer_representatives", "招标人代表不得超过成员总数的三分之一（技术、经济等方面的专家不得少于三分之二）")
	}
	for i, q := range r.Quotas {
		r.Quotas[i].Specialty = strings.ToUpper(strings.TrimSpace(q.Specialty))
		if _, ok := SpecialtyByCode(r.Quotas[i].Specialty); !ok {
			return invalid("draw.quota_specialty", "专业代码 %q 不在《评标专家专业分类标准》目录中", q.Specialty)
		}
	}
	if r.OutsideSharePercent < 0 || r.OutsideSharePercent > 100 {
		return invalid("draw.outside_share", "异地专家比例须在 0 至 100 之间")
	}
	if !r.HostVenue.Valid() {
		return invalid("draw.host_venue", "须指定主场场地")
	}
	s := r.Session
	switch {
	case s.Start.IsZero() || s.End.IsZero() || !s.Start.Before(s.End):
		return invalid("draw.session", "须给出评标开始和结束时间，且开始早于结束")
	case !s.Start.After(now):
		return invalid("draw.session_past", "评标开始时间须晚于当前时间")
	case s.End.Sub(s.Start) > maxSessionLength:
		return invalid("draw.session", "一次评标不超过 7 天")
	}
	if r.RespondMinutes == 0 {
		r.RespondMinutes = int(defaultRespond / time.Minute)
	}
	if r.RespondMinutes < minRespondMinutes || r.RespondMinutes > maxRespondMinutes {
		return invalid("draw.respond_minutes", "应答时限须在 %d 分钟至 7 天之间", minRespondMinutes)
	}
	if now.Add(time.Duration(r.RespondMinutes) * time.Minute).After(s.Start) {
		return invalid("draw.respond_window", "专家应答截止时间须不晚于评标开始时间，请缩短应答时限")
	}
	if len(r.SupervisingDepartments) > maxSupervisingDept || len(r.ConflictOrganisations) > maxConflictOrgs {
		return invalid("draw.conflicts", "监督部门最多 %d 个，利害关系单位最多 %d 个", maxSupervisingDept, maxConflictOrgs)
	}
	r.SupervisingDepartments = trimmed(r.SupervisingDepartments)
	r.ConflictOrganisations = trimmed(r.ConflictOrganisations)
	if c := r.SeedCommitment; c != "" {
		if b, err := hex.DecodeString(c); err != nil || len(b) != 32 || strings.ToLower(c) != c {
			return invalid("draw.commitment", "种子承诺值须为 64 位小写十六进制 SHA-256")
		}
	}
	return nil
}

// rules are the pick's rules for this request with the host site in hostCity.
func (r *DrawRequest) rules(hostCity string) draw.Rules {
	experts := r.CommitteeSize - r.TendererReps
	return draw.Rules{
		Version:    draw.Version,
		Experts:    experts,
		Quotas:     r.Quotas,
		HostCity:   hostCity,
		MinOutside: (experts*r.OutsideSharePercent + 99) / 100,
	}
}

func trimmed(names []string) []string {
	out := []string{}
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// DrawStatus is where a draw stands.
type DrawStatus string

// The draw statuses.
const (
	// DrawCommitted: the seed commitment is in the ledger, the pool not yet snapshotted.
	// A draw left here (the server stopped mid-way) is abandoned; a new one is needed.
	DrawCommitted DrawStatus = "committed"
	// DrawAwaitingSeed: the snapshot is taken; the holder of an external seed must reveal it.
	DrawAwaitingSeed DrawStatus = "awaiting_seed"
	// DrawDrawn: the committee is drawn and the seed revealed.
	DrawDrawn DrawStatus = "drawn"
	// DrawFailed: the pool could not satisfy the request; the reason is ledgered.
	DrawFailed DrawStatus = "failed"
)

// Draw is one expert draw (专家抽取) for a tender.
type Draw struct {
	ID         kaiping.ID  `json:"id"`
	Tender     kaiping.ID  `json:"tender_id"`
	TenderCode string      `json:"tender_code"`
	Tenderer   string      `json:"tenderer"`
	Request    DrawRequest `json:"request"`
	Rules      draw.Rules  `json:"rules"`
	Status     DrawStatus  `json:"status"`
	// Commitment is the lowercase hex SHA-256 of the seed, ledgered before the snapshot.
	Commitment string `json:"commitment"`
	// Seed is the revealed seed, hex; empty until the pick.
	Seed           string     `json:"seed,omitempty"`
	SnapshotDigest string     `json:"snapshot_digest,omitempty"`
	SnapshotSize   int        `json:"snapshot_size"`
	Excluded       int        `json:"excluded"`
	Failure        string     `json:"failure,omitempty"`
	HostVenue      kaiping.ID `json:"host_venue_id"`
	PublishedAt    *time.Time `json:"published_at,omitempty"`
	CreatedBy      kaiping.ID `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	DrawnAt        *time.Time `json:"drawn_at,omitempty"`
}

// MemberState is a drawn expert's answer.
type MemberState string

// The member states.
const (
	MemberPending  MemberState = "pending"  // notified, not yet answered
	MemberAccepted MemberState = "accepted" // 确认参加
	MemberDeclined MemberState = "declined" // 拒绝 (replaced)
	MemberNoShow   MemberState = "no_show"  // 未应答或缺席 (replaced)
	// MemberRecused stepped aside at the session (回避) and was replaced.
	MemberRecused MemberState = "recused"
	// MemberLeft left the post or fell ill during the session (擅离职守、因病) and was replaced.
	MemberLeft MemberState = "left"
)

// current reports whether the member still holds a seat on the committee.
func (s MemberState) current() bool { return s == MemberPending || s == MemberAccepted }

// Member is a drawn expert of a draw.
type Member struct {
	Draw       kaiping.ID `json:"draw_id"`
	Expert     kaiping.ID `json:"expert_id"`
	ExpertCode string     `json:"expert_code"`
	ExpertName string     `json:"expert_name"`
	City       string     `json:"city"`
	Quota      string     `json:"quota"` // the specialty code of the quota filled
	Position   int        `json:"position"`
	Outside    bool       `json:"outside"`
	// Round is 0 for the initial committee and n for the n-th replacement.
	Round       int         `json:"round"`
	Replaces    kaiping.ID  `json:"replaces,omitempty"`
	State       MemberState `json:"state"`
	RespondBy   time.Time   `json:"respond_by"`
	RespondedAt *time.Time  `json:"responded_at,omitempty"`
	Reason      string      `json:"reason,omitempty"`
}

// Picked is m as the draw sequence produced it, the form the ledger records.
func (m Member) Picked(rules draw.Rules) draw.Member {
	qi := -1
	for i, q := range rules.Quotas {
		if q.Specialty == m.Quota {
			qi = i
		}
	}
	return draw.Member{Expert: string(m.Expert), Quota: qi, Position: m.Position, Outside: m.Outside}
}

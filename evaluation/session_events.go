package evaluation

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/kaiping/kaiping"
)

// The ledger actions of a session; each is also the type of the event written with it.
const (
	ActionSessionCreate         = "session.create"
	ActionSessionCheckIn        = "session.checkin"           // 开始签到
	ActionSessionConfirm        = "session.confirm"           // 场地人员现场核验身份
	ActionSessionPledge         = "session.pledge"            // 签署承诺书
	ActionSessionDeclare        = "session.declare"           // 回避声明
	ActionSessionReplace        = "session.replace"           // 递补专家加入
	ActionSessionAccepted       = "session.accepted"          // 递补专家确认参加
	ActionSessionLogin          = "session.member_login"      // 成员的登录账号变更（补绑证书）
	ActionSessionSeatMoved      = "session.seat_moved"        // 主持人调整了成员的工位
	ActionSessionVote           = "session.vote"              // 推选组长投票
	ActionSessionVoteVoid       = "session.vote_void"         // 被替换成员的投票作废
	ActionSessionChair          = "session.chair"             // 组长选出
	ActionSessionChairVoid      = "session.chair_void"        // 组长被替换，重新推选
	ActionSessionRevote         = "session.revote"            // 无人过半，重新投票
	ActionSessionReview         = "session.review"            // 开始评审
	ActionSessionSigning        = "session.signing"           // 进入报告签署
	ActionSessionClose          = "session.close"             // 结束
	ActionSessionSuspend        = "session.suspend"           // 故障暂停
	ActionSessionResume         = "session.resume"            // 恢复
	ActionSessionVoid           = "session.void"              // 作废
	ActionSessionExtensionAsk   = "session.extension_request" // 成员认为时间不够
	ActionSessionExtensionDue   = "session.extension_due"     // 超过三分之一成员申请延长
	ActionSessionExtend         = "session.extend"            // 延长评标时间
	ActionSessionLeft           = "session.left"              // 成员离席
	ActionSessionBidRead        = "session.bid_read"          // 成员阅读投标文件
	ActionSessionSupervisorRead = "session.supervisor_read"   // 监督人员经登记调阅投标文件内容
	ActionSessionMessage        = "session.message"           // 主持人向工位发送消息

	// The seats in the committee's rooms (session_media.go, session_presence.go).
	ActionSessionSeatMute         = "session.seat_mute"         // 主持人关闭/恢复工位的音频或视频
	ActionSessionSeatRemove       = "session.seat_remove"       // 主持人将工位移出音视频房间（不是登记离席）
	ActionSessionSeatOnline       = "session.seat_online"       // 工位在线
	ActionSessionSeatReconnecting = "session.seat_reconnecting" // 工位断线重连中
	ActionSessionSeatGone         = "session.seat_gone"         // 工位离开音视频房间
	ActionSessionSeatPastGrace    = "session.seat_past_grace"   // 工位离开超过宽限时间，主持人可登记离席
)

// SessionAudience is who may read an event of a session.
type SessionAudience string

// The audiences.
const (
	// AudienceSession: everyone taking part (members, the venue staff of its seats) and the
	// overseers (assigned host staff and supervisors).
	AudienceSession SessionAudience = "all"
	// AudienceOverseers: host staff and supervisors only (who read which bid, votes cast).
	AudienceOverseers SessionAudience = "overseers"
	// AudienceMember: one member (and the overseers).
	AudienceMember SessionAudience = "member"
	// AudienceCommittee: the members (and the overseers), not the venues' staff: the
	// committee's review.
	AudienceCommittee SessionAudience = "committee"
	// AudienceVenue: the staff of one venue (and the overseers).
	AudienceVenue SessionAudience = "venue"
	// AudienceGroup: the members of one committee group (and the overseers): what the
	// committee writes to bidders, which neither the other groups nor venue staff read.
	AudienceGroup SessionAudience = "group"
)

// SessionAudiences is the audience of every event kind. A kind missing here cannot be
// written (the store refuses it), so a new kind must decide who sees it.
var SessionAudiences = map[string]SessionAudience{
	ActionSessionCreate:         AudienceSession,
	ActionSessionCheckIn:        AudienceSession,
	ActionSessionConfirm:        AudienceSession,
	ActionSessionPledge:         AudienceSession,
	ActionSessionDeclare:        AudienceSession,
	ActionSessionReplace:        AudienceSession,
	ActionSessionAccepted:       AudienceSession,
	ActionSessionLogin:          AudienceOverseers,
	ActionSessionSeatMoved:      AudienceSession,
	ActionSessionVote:           AudienceOverseers,
	ActionSessionVoteVoid:       AudienceOverseers,
	ActionSessionChair:          AudienceSession,
	ActionSessionChairVoid:      AudienceSession,
	ActionSessionRevote:         AudienceSession,
	ActionSessionReview:         AudienceSession,
	ActionSessionSigning:        AudienceSession,
	ActionSessionClose:          AudienceSession,
	ActionSessionSuspend:        AudienceSession,
	ActionSessionResume:         AudienceSession,
	ActionSessionVoid:           AudienceSession,
	ActionSessionExtensionAsk:   AudienceOverseers,
	ActionSessionExtensionDue:   AudienceOverseers,
	ActionSessionExtend:         AudienceSession,
	ActionSessionLeft:           AudienceSession,
	ActionSessionBidRead:        AudienceOverseers,
	ActionSessionSupervisorRead: AudienceOverseers,
	ActionSessionMessage:        AudienceSession,
	ActionSessionMemberMessage:  AudienceMember,
	// The host's console, every venue's staff and the members all see the seats' states.
	ActionSessionSeatMute:         AudienceSession,
	ActionSessionSeatRemove:       AudienceSession,
	ActionSessionSeatOnline:       AudienceSession,
	ActionSessionSeatReconnecting: AudienceSession,
	ActionSessionSeatGone:         AudienceSession,
	ActionSessionSeatPastGrace:    AudienceSession,

	// The review: the group sees its stages, decisions, notes and summary; a member's
	// submission and a sheet handed back are the member's (the chair reads the progress).
	ActionReviewFacts:      AudienceGroup,
	ActionReviewSubmit:     AudienceGroup,
	ActionReviewReopenMark: AudienceMember,
	ActionReviewConclude:   AudienceGroup,
	ActionReviewDecision:   AudienceGroup,
	ActionReviewNote:       AudienceGroup,
	ActionReviewSummary:    AudienceGroup,
	ActionReviewReopen:     AudienceGroup,
	ActionReportBuilt:      AudienceCommittee,
	ActionReportSigned:     AudienceCommittee,
	ActionReportRefused:    AudienceCommittee,
	ActionReportArchived:   AudienceCommittee,
	// The committee's written requests to bidders (inquiry_rules.go): the group that asks.
	ActionInquiryRequested:  AudienceGroup,
	ActionInquirySent:       AudienceGroup,
	ActionInquiryApproved:   AudienceGroup,
	ActionInquiryRefusedSup: AudienceGroup,
	ActionInquiryAnswered:   AudienceGroup,
}

// SessionEvent is a recorded change of a session as watchers read it.
type SessionEvent struct {
	Version  int64           `json:"version"`
	Type     string          `json:"type"`
	Audience SessionAudience `json:"audience"`
	Member   kaiping.ID      `json:"member_id,omitempty"`
	Venue    kaiping.ID      `json:"venue_id,omitempty"`
	Group    string          `json:"group,omitempty"`
	Payload  json.RawMessage `json:"payload"`
	At       time.Time       `json:"at"`
	// LedgerSeq is the ledger entry written with the event.
	LedgerSeq int64 `json:"ledger_seq"`
}

// SessionReader is who reads a session's events: an overseer reads all of them; a member
// those for the session, its own and its group's; venue staff those for the session and
// their venues'.
type SessionReader struct {
	Overseer bool
	Member   kaiping.ID
	// Group is the member's group.
	Group  string
	Venues []kaiping.ID
}

// Sees reports whether r may read e.
func (r SessionReader) Sees(e SessionEvent) bool {
	switch {
	case r.Overseer:
		return true
	case e.Audience == AudienceSession:
		return true
	case e.Audience == AudienceCommittee:
		return r.Member != ""
	case e.Audience == AudienceMember:
		return r.Member != "" && e.Member == r.Member
	case e.Audience == AudienceGroup:
		return r.Group != "" && e.Group == r.Group
	case e.Audience == AudienceVenue:
		return slices.Contains(r.Venues, e.Venue)
	}
	return false
}

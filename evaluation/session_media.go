package evaluation

import (
	"context"
	"slices"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// The committee's audio and video across cities (异地评标音视频): one room per committee group,
// through the media plane, in which the members at their seats in every city see and hear each
// other, the evaluation host sees and hears all and speaks to them, supervisors watch unseen and
// venue staff watch their own venues' seats unseen. Every room is recorded (the audio and video
// of evaluations are kept 15 years). A group's room exists from check-in until the session is
// closed or void.
//
// As with the opening hall's broadcast, the embedded backend's rooms live in the process that
// issued the grant: a deployment with several replicas sends a session's requests to one
// replica or uses the LiveKit backend.

// SessionRoom is the name of a committee group's room: "session-<session ID>-<group ID>", at
// most 48 characters of signaling.ValidRoomName's alphabet.
func SessionRoom(session kaiping.ID, group string) string {
	return "session-" + string(session) + "-" + group
}

// sessionMediaTimeout bounds the media plane's work at a transition (the recorder joining
// every group's room): the transition is committed, and its answer should not wait long.
const sessionMediaTimeout = 20 * time.Second

// StreamWith has every session meet through media: a recorded room per committee group from
// check-in to the end. Without it sessions run without audio and video and the media routes
// answer "session.media_unavailable".
func (s *Service) StreamWith(media signaling.Media) { s.media = media }

func errMediaUnavailable() error {
	return kaiping.E(kaiping.KindUnavailable, "session.media_unavailable", "本平台未配置音视频服务，无法进行远程异地评标")
}

// ensureRoom makes sure the group's room exists and is being recorded. Both halves are
// idempotent, so a process restarted mid-session recovers on the first grant it issues.
func (s *Service) ensureRoom(ctx context.Context, session kaiping.ID, group string) error {
	if s.media == nil {
		return errMediaUnavailable()
	}
	room := SessionRoom(session, group)
	if err := s.media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
		return err
	}
	if err := s.media.StartRecording(ctx, room); err != nil && kaiping.CodeOf(err) != signaling.CodeRecordingActive {
		return err
	}
	return nil
}

// roomsFollow brings the groups' rooms in line with a session that just moved: opened and
// recorded at check-in, closed (the recording stored) when the session is closed or void.
// A suspension keeps the rooms: the fault may be the media plane itself, and the host and
// the seats may need the room to find it; the session resumes in the same rooms. A
// transition is legally binding and already committed, so a media failure is logged and
// never undoes or blocks it; the grant routes try again.
func (s *Service) roomsFollow(ctx context.Context) func(Session, error) (Session, error) {
	return func(sess Session, err error) (Session, error) {
		if err != nil || s.media == nil {
			return sess, err
		}
		// The request may end (the host's browser closes) while the recorder is joining.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sessionMediaTimeout)
		defer cancel()
		for _, g := range sess.Groups {
			var merr error
			switch sess.State {
			case SessionCheckingIn:
				merr = s.ensureRoom(ctx, sess.ID, g.ID)
			case SessionClosed, SessionVoid:
				merr = s.media.CloseRoom(ctx, SessionRoom(sess.ID, g.ID))
				if kaiping.CodeOf(merr) == signaling.CodeRoomNotFound {
					merr = nil // never opened in this process (voided before check-in)
				}
			}
			if merr != nil {
				s.log.Error("session room", "session_id", sess.ID, "tender_id", sess.Tender, "group", g.ID,
					"state", sess.State, "room", SessionRoom(sess.ID, g.ID), "err", merr)
			}
		}
		return sess, nil
	}
}

// SessionMediaRole is the part a principal plays in a group's room.
type SessionMediaRole string

// The roles in a session's room.
const (
	// MediaMember is a sitting member at their seat: publishes camera and microphone, sees
	// and hears the whole group.
	MediaMember SessionMediaRole = "member"
	// MediaEvalHost is the tender's evaluation host: sees and hears all, speaks to the seats.
	MediaEvalHost SessionMediaRole = "host"
	// MediaSupervisor is a supervisor assigned to the tender: watches unseen.
	MediaSupervisor SessionMediaRole = "supervisor"
	// MediaVenueStaff is venue staff: watches, unseen, the seats of their own venues only.
	MediaVenueStaff SessionMediaRole = "venue"
)

// SessionMediaGrant is a join grant for a group's room, the role it was issued for, and who
// is who in the room: Members maps the identity of every sitting member of the group whose
// tracks the grant receives (their principal ID, the room's identity) to their member ID.
type SessionMediaGrant struct {
	Grant   signaling.Grant       `json:"grant"`
	Role    SessionMediaRole      `json:"role"`
	Group   string                `json:"group"`
	Members map[string]kaiping.ID `json:"members"`
}

// mediaGroup is the group ref names (the first group if ref is ""), "session.group_not_found"
// if none.
func (sess *Session) mediaGroup(ref string) (*Group, error) {
	if ref == "" && len(sess.Groups) > 0 {
		return &sess.Groups[0], nil
	}
	if g := sess.group(ref); g != nil {
		return g, nil
	}
	return nil, kaiping.E(kaiping.KindNotFound, "session.group_not_found", "没有这个评标小组")
}

func errMediaNotOpen(sess *Session) error {
	return kaiping.Errorf(kaiping.KindConflict, "session.media_not_open",
		"评标会议当前为「%s」，音视频房间未开放", sess.State.Label())
}

// grant ensures the group's room and issues who's grant to it.
func (s *Service) grant(ctx context.Context, sess *Session, g *Group, who kaiping.Principal, role SessionMediaRole,
	perms signaling.Permissions, members map[string]kaiping.ID) (SessionMediaGrant, error) {
	if s.media == nil {
		return SessionMediaGrant{}, errMediaUnavailable()
	}
	if err := s.ensureRoom(ctx, sess.ID, g.ID); err != nil {
		return SessionMediaGrant{}, err
	}
	gr, err := s.media.Grant(ctx, SessionRoom(sess.ID, g.ID), who, perms)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	return SessionMediaGrant{Grant: gr, Role: role, Group: g.ID, Members: members}, nil
}

// identities maps the principal IDs of the sitting members of group accepted by keep to
// their member IDs.
func (sess *Session) identities(group string, keep func(*SessionMember) bool) map[string]kaiping.ID {
	out := map[string]kaiping.ID{}
	for _, m := range sess.sitting(group) {
		if m.Principal != "" && keep(m) {
			out[string(m.Principal)] = m.ID
		}
	}
	return out
}

func anyMember(*SessionMember) bool { return true }

// MemberMediaGrant issues the sitting member logged in as who a grant to their group's room,
// once venue staff confirmed their identity at the seat ("session.not_confirmed"; a member
// who declared a conflict is "session.member_recusing"), while the session runs
// ("session.media_not_open"). The member publishes camera and microphone and receives the
// whole group; their identity in the room is their principal ID.
func (s *Service) MemberMediaGrant(ctx context.Context, who kaiping.Principal, id kaiping.ID) (SessionMediaGrant, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	m, err := sess.acting(who.ID)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	switch m.Stage() {
	case StageConfirmed, StagePledged, StageDeclared:
	case StageRecusing:
		return SessionMediaGrant{}, kaiping.E(kaiping.KindForbidden, "session.member_recusing", "您已声明回避，不再参加本次评标")
	default:
		return SessionMediaGrant{}, errNotConfirmed()
	}
	if !sess.State.running() {
		return SessionMediaGrant{}, errMediaNotOpen(&sess)
	}
	return s.grant(ctx, &sess, sess.group(m.Group), who, MediaMember,
		signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}},
		sess.identities(m.Group, anyMember))
}

// StaffMediaGrant issues the tender's evaluation host (role MediaEvalHost: publishes, receives
// all) or a supervisor assigned to it (MediaSupervisor: hidden, receives all) a grant to the
// room of the group named group ("" for the first), while the session runs or is suspended
// (the host may need the room to find a fault). The route decides the role from the duty.
func (s *Service) StaffMediaGrant(ctx context.Context, who kaiping.Principal, role SessionMediaRole, id kaiping.ID, group string) (SessionMediaGrant, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	g, err := sess.mediaGroup(group)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	if !sess.State.running() && sess.State != SessionSuspended {
		return SessionMediaGrant{}, errMediaNotOpen(&sess)
	}
	perms := signaling.Permissions{Hidden: true, Subscribe: signaling.Subscription{All: true}}
	if role == MediaEvalHost {
		perms = signaling.Permissions{PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}}
	}
	return s.grant(ctx, &sess, g, who, role, perms, sess.identities(g.ID, anyMember))
}

// VenueMediaGrant issues venue staff who a hidden grant to the room of the group named group
// ("" for the first group with a seat at one of their venues) that receives only the members
// seated at their venues, while the session runs. Staff with no such seat in the group are
// "session.not_venue_staff".
func (s *Service) VenueMediaGrant(ctx context.Context, who kaiping.Principal, id kaiping.ID, group string) (SessionMediaGrant, error) {
	venues, err := s.store.StaffVenues(ctx, who.ID)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	ours := func(m *SessionMember) bool { return slices.Contains(venues, m.Venue) }
	if group == "" {
		for _, g := range sess.Groups {
			if len(sess.identities(g.ID, ours)) > 0 {
				group = g.ID
				break
			}
		}
	}
	g, err := sess.mediaGroup(group)
	if err != nil {
		return SessionMediaGrant{}, err
	}
	members := sess.identities(g.ID, ours)
	if len(members) == 0 {
		return SessionMediaGrant{}, kaiping.E(kaiping.KindForbidden, "session.not_venue_staff", "本评标小组在您所在场地没有工位")
	}
	if !sess.State.running() {
		return SessionMediaGrant{}, errMediaNotOpen(&sess)
	}
	only := make([]string, 0, len(members))
	for identity := range members {
		only = append(only, identity)
	}
	slices.Sort(only)
	return s.grant(ctx, &sess, g, who, MediaVenueStaff,
		signaling.Permissions{Hidden: true, Subscribe: signaling.Subscription{Only: only}}, members)
}

// SeatMuteRequest is the host's muting (or unmuting) of a seat's tracks of one kind.
type SeatMuteRequest struct {
	Kind  signaling.TrackKind `json:"kind"`
	Muted bool                `json:"muted"`
}

// seatInRoom is the sitting member of group, for the host's actions on their seat.
func (sess *Session) seatInRoom(group string, member kaiping.ID) (*SessionMember, error) {
	if sess.group(group) == nil {
		return nil, kaiping.E(kaiping.KindNotFound, "session.group_not_found", "没有这个评标小组")
	}
	m, err := sess.member(member)
	if err != nil {
		return nil, err
	}
	if m.Group != group || !m.sitting() || m.Principal == "" {
		return nil, kaiping.E(kaiping.KindNotFound, "session.not_member", "该人员不是本评标小组的在席成员")
	}
	return m, nil
}

// MuteSeat stops (or resumes) forwarding the seat's tracks of req.Kind in the group's room,
// on the host's word, and records it. It is a media action only: the member stays on the
// committee.
func (s *Service) MuteSeat(ctx context.Context, a kaiping.Actor, id kaiping.ID, group string, member kaiping.ID, req SeatMuteRequest) (Session, error) {
	if !req.Kind.Valid() {
		return Session{}, invalid("session.track_kind", "kind 须为 audio 或 video")
	}
	return s.seatAction(ctx, a, id, group, member, ActionSessionSeatMute, map[string]any{"kind": req.Kind, "muted": req.Muted},
		func(room, identity string) error {
			return s.media.MuteParticipant(ctx, room, identity, req.Kind, req.Muted)
		})
}

// RemoveSeat disconnects the seat from the group's room, on the host's word, and records it.
// It is not the removal of the member from the committee (RemoveMember, which voids their work
// and draws a replacement): the member may join the room again with a new grant.
func (s *Service) RemoveSeat(ctx context.Context, a kaiping.Actor, id kaiping.ID, group string, member kaiping.ID) (Session, error) {
	return s.seatAction(ctx, a, id, group, member, ActionSessionSeatRemove, map[string]any{},
		func(room, identity string) error { return s.media.RemoveParticipant(ctx, room, identity) })
}

// seatAction runs act on the member's seat in the group's room, then records it as typ. The
// media plane acts first: a refusal there (the seat is not in the room) records nothing.
func (s *Service) seatAction(ctx context.Context, a kaiping.Actor, id kaiping.ID, group string, member kaiping.ID,
	typ string, payload map[string]any, act func(room, identity string) error) (Session, error) {
	if s.media == nil {
		return Session{}, errMediaUnavailable()
	}
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return Session{}, err
	}
	m, err := sess.seatInRoom(group, member)
	if err != nil {
		return Session{}, err
	}
	if !sess.State.running() && sess.State != SessionSuspended {
		return Session{}, errMediaNotOpen(&sess)
	}
	if err := act(SessionRoom(sess.ID, group), string(m.Principal)); err != nil {
		return Session{}, err
	}
	return s.store.ChangeSession(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		c := change(typ, payload)
		c.Payload["member"], c.Payload["group"] = member, group
		return []SessionChange{c}, nil
	})
}

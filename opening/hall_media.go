package opening

import (
	"context"
	"slices"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// The opening's live broadcast (开标直播): the host's camera and microphone streamed to every
// bidder in the hall through one room per section, recorded like every room (recordings of
// openings are kept 15 years). The room exists from check-in to the end of the opening.
//
// With the embedded backend each kaiping process runs its own SFU, and a grant's URL points
// at the process that issued it: the host and the bidders meet only in rooms of the same
// process, so a deployment with several replicas either sends every hall request of a
// section to one replica or uses the LiveKit backend, whose rooms every process shares.

// HallRoom is the name of a section's broadcast room.
func HallRoom(section kaiping.ID) string { return "hall-" + string(section) }

// mediaStates are the states in which a section's hall is broadcast, in either round.
var mediaStates = []HallState{HallCheckingIn, HallDecrypting, HallPublished, HallConfirming}

// mediaJoinTimeout bounds the recorder's joining of a room at a transition: the transition
// is already committed, and its answer should not wait on the media plane for long.
const mediaJoinTimeout = 20 * time.Second

// StreamWith has the hall broadcast every opening through media: a room per section from
// check-in, recorded, closed (and its recording stored) when the hall closes or fails.
// Without it the hall runs unbroadcast and the media route answers "hall.media_unavailable".
func (h *Hall) StreamWith(media signaling.Media) { h.media = media }

// ensureStream makes sure the section's room exists and is being recorded. Both halves are
// idempotent, so a process restarted mid-opening recovers on the first grant it issues.
func (h *Hall) ensureStream(ctx context.Context, section kaiping.ID) error {
	if h.media == nil {
		return kaiping.E(kaiping.KindUnavailable, "hall.media_unavailable", "本平台未配置音视频服务，无法进行开标直播")
	}
	room := HallRoom(section)
	if err := h.media.CreateRoom(ctx, room, signaling.RoomOptions{}); err != nil {
		return err
	}
	if err := h.media.StartRecording(ctx, room); err != nil && kaiping.CodeOf(err) != signaling.CodeRecordingActive {
		return err
	}
	return nil
}

// streamFollows brings the section's room in line with a hall that just moved: opened at
// check-in, closed when the opening ends. A transition is legally binding and already
// committed, so a media failure is logged and never undoes or blocks it; the grant route
// tries again.
func (h *Hall) streamFollows(ctx context.Context, st HallStatus) {
	if h.media == nil {
		return
	}
	// The request may end (the host's browser closes) while the recorder is joining.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mediaJoinTimeout)
	defer cancel()
	var err error
	switch st.State {
	case HallCheckingIn:
		err = h.ensureStream(ctx, st.Section)
	case HallClosed, HallFailed:
		err = h.media.CloseRoom(ctx, HallRoom(st.Section))
		if kaiping.CodeOf(err) == signaling.CodeRoomNotFound {
			err = nil // never opened in this process: nothing to close
		}
	default:
		return
	}
	if err != nil {
		h.log.Error("hall broadcast room", "tender_id", st.Tender, "section_id", st.Section,
			"state", st.State, "room", HallRoom(st.Section), "err", err)
	}
}

// MediaRole is the part a principal plays in a hall's broadcast.
type MediaRole string

// The broadcast roles.
const (
	// MediaHost publishes camera and microphone and sees everyone who publishes.
	MediaHost MediaRole = "host"
	// MediaBidder watches unseen: bidders never learn who else is in the hall.
	MediaBidder MediaRole = "bidder"
	// MediaSupervisor watches unseen.
	MediaSupervisor MediaRole = "supervisor"
)

// mediaPermissions are what each role's grant allows.
var mediaPermissions = map[MediaRole]signaling.Permissions{
	MediaHost:       {PublishAudio: true, PublishVideo: true, Subscribe: signaling.Subscription{All: true}},
	MediaBidder:     {Hidden: true, Subscribe: signaling.Subscription{All: true}},
	MediaSupervisor: {Hidden: true, Subscribe: signaling.Subscription{All: true}},
}

// HallMediaGrant is a join grant for a section's broadcast room and the role it was issued
// for.
type HallMediaGrant struct {
	Grant signaling.Grant `json:"grant"`
	Role  MediaRole       `json:"role"`
}

// mediaRoleOf is who's part; a principal holding several roles takes the strongest.
// MediaGrant issues who a grant for the section's broadcast room while the opening runs
// (check-in to confirmation), as role (the caller's duty on the tender, decided by the
// route): the assigned host publishes, a supervisor or a bidder registered for
// the section watches unseen. Outside those states it is KindConflict
// "hall.media_not_open"; a bidder not registered is "hall.not_bidder". It makes sure the
// room exists and is recorded first.
func (h *Hall) MediaGrant(ctx context.Context, who kaiping.Principal, role MediaRole, tenderID kaiping.ID, sectionRef string) (HallMediaGrant, error) {
	_, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return HallMediaGrant{}, err
	}
	if role == MediaBidder {
		if _, err := h.store.Registration(ctx, sec.ID, who.ID); kaiping.KindOf(err) == kaiping.KindNotFound {
			return HallMediaGrant{}, notBidder()
		} else if err != nil {
			return HallMediaGrant{}, err
		}
	}
	if !slices.Contains(mediaStates, st.State) {
		return HallMediaGrant{}, kaiping.Errorf(kaiping.KindConflict, "hall.media_not_open",
			"开标直播尚未开始或已经结束（开标大厅当前为「%s」）", st.State.Label())
	}
	if err := h.ensureStream(ctx, sec.ID); err != nil {
		return HallMediaGrant{}, err
	}
	g, err := h.media.Grant(ctx, HallRoom(sec.ID), who, mediaPermissions[role])
	if err != nil {
		return HallMediaGrant{}, err
	}
	return HallMediaGrant{Grant: g, Role: role}, nil
}

// streamAfter is streamFollows for a transition that returns through named results.
func (h *Hall) streamAfter(ctx context.Context, st *HallStatus, err *error) {
	if *err == nil {
		h.streamFollows(ctx, *st)
	}
}

package livekit

import (
	"time"

	lkp "github.com/livekit/protocol/livekit"

	"github.com/kaiping/kaiping/signaling"
)

// participantOf is what LiveKit reports of a participant, in signaling's terms.
func participantOf(p *lkp.ParticipantInfo) signaling.Participant {
	joined := time.UnixMilli(p.JoinedAtMs)
	if p.JoinedAtMs == 0 {
		joined = time.Unix(p.JoinedAt, 0)
	}
	out := signaling.Participant{
		Identity:    p.Identity,
		Name:        p.Name,
		Hidden:      p.Permission.GetHidden(),
		Permissions: permissionsOf(p.Permission, p.Attributes),
		JoinedAt:    joined,
		Tracks:      []signaling.Track{},
		Quality:     qualityOf(p.State),
	}
	for _, t := range p.Tracks {
		if tr, ok := trackOf(p.Identity, t); ok {
			out.Tracks = append(out.Tracks, tr)
		}
	}
	return out
}

// qualityOf grades a participant from its state only. LiveKit measures connection quality
// but reports it only over the signaling connections of participants subscribed to each
// other, never through RoomService or webhooks; so a participant whose media is up is
// reported good, and one whose media is not (yet, or any more) up is lost.
func qualityOf(s lkp.ParticipantInfo_State) signaling.Quality {
	if s == lkp.ParticipantInfo_ACTIVE {
		return signaling.QualityGood
	}
	return signaling.QualityLost
}

// trackOf converts an audio or video track; ok is false for none or another kind.
func trackOf(participant string, t *lkp.TrackInfo) (signaling.Track, bool) {
	kind := trackKind(t.GetType())
	if t == nil || kind == "" {
		return signaling.Track{}, false
	}
	return signaling.Track{ID: t.Sid, Participant: participant, Kind: kind, Muted: t.Muted}, true
}

func trackKind(t lkp.TrackType) signaling.TrackKind {
	switch t {
	case lkp.TrackType_AUDIO:
		return signaling.Audio
	case lkp.TrackType_VIDEO:
		return signaling.Video
	}
	return ""
}

// Package signaling is the media plane of Kaiping: the Media interface the domains (opening
// hall, evaluation session) use to run rooms of live audio and video, whatever backend runs
// them. The embedded backend (signaling/embedded, a pion SFU inside the kaiping binary) is the
// default; a LiveKit backend serves deployments that outgrow one machine. Both speak the
// vocabulary of this package: rooms, grants, permissions, participants, tracks and events.
package signaling

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
)

// Media is what the domains need from the media plane. Every method takes a room name the
// domain chooses (a tender or session ID; see ValidRoomName). Errors are *kaiping.Error with
// codes "signaling.*".
type Media interface {
	// CreateRoom makes room ready for grants. Creating a room that exists is not an error:
	// a domain restarted mid-session calls it again.
	CreateRoom(ctx context.Context, room string, opts RoomOptions) error
	// CloseRoom stops any recording, disconnects every participant and forgets the room.
	CloseRoom(ctx context.Context, room string) error
	// Grant issues a join grant for who in room, bound to perms and valid for a short time.
	// The participant's identity in the room is who.ID.
	Grant(ctx context.Context, room string, who kaiping.Principal, perms Permissions) (Grant, error)
	// RemoveParticipant disconnects identity from room; it may join again with a new grant.
	RemoveParticipant(ctx context.Context, room, identity string) error
	// MuteParticipant stops (muted) or resumes forwarding identity's tracks of kind.
	MuteParticipant(ctx context.Context, room, identity string, kind TrackKind, muted bool) error
	// Participants lists who is in room, hidden participants included (marked Hidden).
	Participants(ctx context.Context, room string) ([]Participant, error)
	// StartRecording has the configured Recorder join room as a hidden participant that
	// subscribes to everything. StopRecording stops it; CloseRoom does too.
	StartRecording(ctx context.Context, room string) error
	StopRecording(ctx context.Context, room string) error
	// Events streams the events of room, or of every room if room is "", until ctx ends or
	// the backend closes; then the channel is closed. A consumer that falls more than
	// EventBuffer events behind is cut off (its channel closes early): it should subscribe
	// again and call Participants to catch up.
	Events(ctx context.Context, room string) (<-chan RoomEvent, error)
}

// RoomOptions tune a room.
type RoomOptions struct {
	// MaxParticipants bounds the participants, hidden ones included; 0 means the backend's
	// default.
	MaxParticipants int
}

// Permissions are what a grant allows its holder. The server enforces them: a holder without
// PublishVideo that offers video is refused.
type Permissions struct {
	PublishAudio bool         `json:"publish_audio"`
	PublishVideo bool         `json:"publish_video"`
	Subscribe    Subscription `json:"subscribe"`
	// Hidden participants are never announced to the others (a supervisor watching unseen,
	// the recorder). They may not publish.
	Hidden bool `json:"hidden"`
	// Data allows sending data messages to the room.
	Data bool `json:"data"`
}

// Subscription says whose tracks a participant receives: everyone's, or only those of the
// listed identities.
type Subscription struct {
	All  bool     `json:"all"`
	Only []string `json:"only,omitempty"`
}

// Allows reports whether the subscription covers tracks published by identity.
func (s Subscription) Allows(identity string) bool {
	if s.All {
		return true
	}
	for _, id := range s.Only {
		if id == identity {
			return true
		}
	}
	return false
}

// CanPublish reports whether p allows publishing a track of kind.
func (p Permissions) CanPublish(kind TrackKind) bool {
	switch kind {
	case Audio:
		return p.PublishAudio
	case Video:
		return p.PublishVideo
	}
	return false
}

// Grant is what a participant needs to join: hand it to the client as it is.
type Grant struct {
	// Backend is "embedded" or "livekit": which client protocol URL speaks.
	Backend string `json:"backend"`
	// URL is the signaling endpoint (a ws:// or wss:// URL).
	URL string `json:"url"`
	// Token is the signed join token; it is bound to Room, Identity and Permissions.
	Token       string      `json:"token"`
	Room        string      `json:"room"`
	Identity    string      `json:"identity"`
	Permissions Permissions `json:"permissions"`
	// Expires is when the token stops being accepted for a new join. A participant already
	// in the room stays; a dropped one resumes without a new grant (see PROTOCOL.md).
	Expires time.Time `json:"expires"`
}

// TrackKind is the kind of a media track.
type TrackKind string

// The track kinds.
const (
	Audio TrackKind = "audio"
	Video TrackKind = "video"
)

// Valid reports whether k is Audio or Video.
func (k TrackKind) Valid() bool { return k == Audio || k == Video }

// Track is a published track.
type Track struct {
	ID          string    `json:"id"`
	Participant string    `json:"participant"`
	Kind        TrackKind `json:"kind"`
	Muted       bool      `json:"muted"`
}

// Participant is someone in a room.
type Participant struct {
	Identity    string      `json:"identity"`
	Name        string      `json:"name"`
	Hidden      bool        `json:"hidden"`
	Permissions Permissions `json:"permissions"`
	JoinedAt    time.Time   `json:"joined_at"`
	Tracks      []Track     `json:"tracks"`
	Quality     Quality     `json:"quality"`
}

// Quality is a participant's connection quality as the server sees it.
type Quality string

// The connection qualities, best first.
const (
	QualityExcellent Quality = "excellent"
	QualityGood      Quality = "good"
	QualityPoor      Quality = "poor"
	QualityLost      Quality = "lost" // no media connection at the moment
)

// EventType says what happened in a room.
type EventType string

// The room events.
const (
	EventJoined            EventType = "joined"
	EventLeft              EventType = "left"
	EventTrackPublished    EventType = "track_published"
	EventTrackUnpublished  EventType = "track_unpublished"
	EventConnectionQuality EventType = "connection_quality"
)

// RoomEvent is one thing that happened in a room.
type RoomEvent struct {
	Type        EventType `json:"type"`
	Room        string    `json:"room"`
	Participant string    `json:"participant"`
	// Hidden marks events about hidden participants, which the others never see.
	Hidden bool `json:"hidden,omitempty"`
	// Track is set for track events.
	Track *Track `json:"track,omitempty"`
	// Quality is set for connection_quality.
	Quality Quality `json:"quality,omitempty"`
	// Reason is set for left: "left", "removed", "replaced", "ice_timeout",
	// "connection_lost", "room_closed" or "server_closed".
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

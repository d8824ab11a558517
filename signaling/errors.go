package signaling

import "github.com/kaiping/kaiping"

// The stable error codes of the media plane. Clients of the embedded backend also receive
// them in "error" messages (PROTOCOL.md lists which).
const (
	CodeRoomInvalid          = "signaling.room_invalid"
	CodeRoomNotFound         = "signaling.room_not_found"
	CodeRoomFull             = "signaling.room_full"
	CodeRoomClosed           = "signaling.room_closed"
	CodeIdentityInvalid      = "signaling.identity_invalid"
	CodePermissionsInvalid   = "signaling.permissions_invalid"
	CodeParticipantNotFound  = "signaling.participant_not_found"
	CodeTrackKindInvalid     = "signaling.track_kind_invalid"
	CodeGrantInvalid         = "signaling.grant_invalid"
	CodeGrantExpired         = "signaling.grant_expired"
	CodeResumeInvalid        = "signaling.resume_invalid"
	CodePublishForbidden     = "signaling.publish_forbidden"
	CodeDataForbidden        = "signaling.data_forbidden"
	CodeRecordingUnavailable = "signaling.recording_unavailable"
	CodeRecordingActive      = "signaling.recording_active"
	CodeRecordingNotActive   = "signaling.recording_not_active"
	CodeClosed               = "signaling.closed"
)

// ErrRoomNotFound is returned for a room that was never created or is closed.
func ErrRoomNotFound(room string) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindNotFound, CodeRoomNotFound, "音视频房间 %s 不存在或已关闭", room)
}

// ErrParticipantNotFound is returned for an identity not in the room.
func ErrParticipantNotFound(identity string) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindNotFound, CodeParticipantNotFound, "参与者 %s 不在房间中", identity)
}

// ErrClosed is returned by a backend that was shut down.
func ErrClosed() *kaiping.Error {
	return kaiping.E(kaiping.KindUnavailable, CodeClosed, "音视频服务已停止")
}

// ValidRoomName checks a room name: 1 to 64 characters from A-Z a-z 0-9 . _ -, which every
// backend accepts and which is safe in URLs and object keys.
func ValidRoomName(room string) error {
	if room == "" || len(room) > 64 || !plain(room) {
		return kaiping.E(kaiping.KindInvalid, CodeRoomInvalid, "房间名称须为 1 至 64 个字母、数字、点、下划线或连字符")
	}
	return nil
}

// ValidIdentity checks a participant identity: 1 to 64 characters of the same alphabet as
// room names (principal IDs are UUIDs).
func ValidIdentity(identity string) error {
	if identity == "" || len(identity) > 64 || !plain(identity) {
		return kaiping.E(kaiping.KindInvalid, CodeIdentityInvalid, "参与者标识须为 1 至 64 个字母、数字、点、下划线或连字符")
	}
	return nil
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks that the permissions make sense: hidden participants publish nothing and
// send no data, and a subscription list names valid identities.
func (p Permissions) Validate() error {
	if p.Hidden && (p.PublishAudio || p.PublishVideo || p.Data) {
		return kaiping.E(kaiping.KindInvalid, CodePermissionsInvalid, "隐藏参与者不能发布音视频或发送消息")
	}
	if p.Subscribe.All && len(p.Subscribe.Only) > 0 {
		return kaiping.E(kaiping.KindInvalid, CodePermissionsInvalid, "订阅全部时不能再列出订阅对象")
	}
	if len(p.Subscribe.Only) > 1000 {
		return kaiping.E(kaiping.KindInvalid, CodePermissionsInvalid, "订阅对象过多（至多 1000 个）")
	}
	for _, id := range p.Subscribe.Only {
		if ValidIdentity(id) != nil {
			return kaiping.Errorf(kaiping.KindInvalid, CodePermissionsInvalid, "订阅对象 %q 不是有效的参与者标识", id)
		}
	}
	return nil
}

// CheckGrant checks what every backend's Grant checks before anything else: the room name,
// who's identity (its ID) and the permissions. It returns the identity.
func CheckGrant(room string, who kaiping.Principal, perms Permissions) (identity string, err error) {
	if err := ValidRoomName(room); err != nil {
		return "", err
	}
	identity = string(who.ID)
	if err := ValidIdentity(identity); err != nil {
		return "", err
	}
	return identity, perms.Validate()
}

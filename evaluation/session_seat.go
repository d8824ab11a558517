package evaluation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// What the seat needs besides the committee's acts: the expert's photo for the identity check
// (现场身份核验) and the host's messages to the seats.

// ActionExpertPhoto is the ledger action of an expert's photo stored (detail: its digest).
const ActionExpertPhoto = "expert.photo"

// maxPhotoBytes bounds an expert's photo: a passport-style picture, not a scan.
const maxPhotoBytes = 256 << 10

// photoType names the image type of data by its first bytes (JPEG or PNG), or "".
func photoType(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	}
	return ""
}

// SetPhoto stores the photo venue staff compare with the person at the seat.
func (s *Service) SetPhoto(ctx context.Context, a kaiping.Actor, expert kaiping.ID, data []byte) error {
	if len(data) > maxPhotoBytes {
		return kaiping.Errorf(kaiping.KindInvalid, "expert.photo_size", "照片不超过 %d KB", maxPhotoBytes>>10)
	}
	ct := photoType(data)
	if ct == "" {
		return invalid("expert.photo_type", "照片须为 JPEG 或 PNG 图片")
	}
	sum := sha256.Sum256(data)
	return s.store.SetExpertPhoto(ctx, a, expert, data, ct, hex.EncodeToString(sum[:]))
}

// seatPhoto returns the photo of member for staff of venues, while the session runs.
func (s *Service) seatPhoto(ctx context.Context, id, member kaiping.ID, venues []kaiping.ID, overseer bool) ([]byte, string, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return nil, "", err
	}
	m, err := sess.member(member)
	if err != nil {
		return nil, "", err
	}
	if !overseer && !slices.Contains(venues, m.Venue) {
		return nil, "", kaiping.E(kaiping.KindForbidden, "session.not_venue_staff", "该专家不在您所在场地的工位")
	}
	if sess.State == SessionClosed || sess.State == SessionVoid || m.Kind != MemberDrawn {
		return nil, "", kaiping.E(kaiping.KindNotFound, "expert.no_photo", "没有可供核验的照片")
	}
	return s.store.ExpertPhoto(ctx, m.ID)
}

func (s *Service) handleSetPhoto(c *fiber.Ctx) error {
	id, err := expertID.of(c)
	if err != nil {
		return err
	}
	data := append([]byte(nil), c.Body()...)
	if err := s.SetPhoto(c.UserContext(), httpapi.ActorOf(c, s.clock), id, data); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Service) handleVenuePhoto(c *fiber.Ctx) error {
	id, member, err := s.sessionMember(c)
	if err != nil {
		return err
	}
	venues, err := s.store.StaffVenues(c.UserContext(), principal(c).ID)
	if err != nil {
		return err
	}
	return s.sendPhoto(c)(s.seatPhoto(c.UserContext(), id, member, venues, false))
}

func (s *Service) handleHostPhoto(c *fiber.Ctx) error {
	id, member, err := s.sessionMember(c)
	if err != nil {
		return err
	}
	return s.sendPhoto(c)(s.seatPhoto(c.UserContext(), id, member, nil, true))
}

func (s *Service) sendPhoto(c *fiber.Ctx) func([]byte, string, error) error {
	return func(data []byte, ct string, err error) error {
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Send(data)
	}
}

// ActionSessionMemberMessage is a host's message to one member's seat.
const ActionSessionMemberMessage = "session.member_message"

// MessageRequest is a host's message to the seats: to every seat, or to one member's.
type MessageRequest struct {
	Text   string     `json:"text"`
	Member kaiping.ID `json:"member_id,omitempty"`
}

const maxMessageRunes = 500

// SendMessage records the host's message to the seats (or to one member), which the seats'
// pages show as it arrives.
func (s *Service) SendMessage(ctx context.Context, a kaiping.Actor, id kaiping.ID, req MessageRequest) (Session, error) {
	text := strings.TrimSpace(req.Text)
	if text == "" || runes(text) > maxMessageRunes {
		return Session{}, invalid("session.message", "消息不能为空，且不超过 %d 字", maxMessageRunes)
	}
	return s.change(ctx, a, id, func(sess *Session) ([]SessionChange, error) {
		if sess.State == SessionClosed || sess.State == SessionVoid {
			return nil, errSessionState(sess, "发送消息")
		}
		if req.Member == "" {
			return []SessionChange{change(ActionSessionMessage, map[string]any{"text": text})}, nil
		}
		m, err := sess.member(req.Member)
		if err != nil {
			return nil, err
		}
		c := change(ActionSessionMemberMessage, map[string]any{"text": text, "member": m.ID})
		c.Member = m.ID
		return []SessionChange{c}, nil
	})
}

package livekit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/livekit/protocol/auth"
	lkp "github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// MaxWebhookBytes bounds a webhook body; LiveKit's events are a few KiB.
const MaxWebhookBytes = 1 << 20

// WebhookHandler receives LiveKit's webhooks on a fiber route (POST; the server's
// `webhook.urls` must point at it). A request that is not signed with the webhook key is
// refused with CodeWebhookInvalid (401 through the app's error handler), so nobody but the
// LiveKit server can inject room events.
func (c *Client) WebhookHandler() fiber.Handler {
	return func(fc *fiber.Ctx) error {
		// fiber reuses its buffers: copy before use beyond the handler's own frame.
		authz := strings.Clone(fc.Get(fiber.HeaderAuthorization))
		body := bytes.Clone(fc.Body())
		if err := c.HandleWebhook(authz, body); err != nil {
			return err
		}
		return fc.SendStatus(fiber.StatusNoContent)
	}
}

// HandleWebhook verifies one webhook (the Authorization header and the body as received)
// and feeds its event to Events. A repeated delivery of an event is ignored.
func (c *Client) HandleWebhook(authorization string, body []byte) error {
	if len(body) > MaxWebhookBytes {
		return kaiping.E(kaiping.KindInvalid, CodeWebhookMalformed, "回调内容过大")
	}
	if err := c.verifyWebhook(authorization, body); err != nil {
		return &kaiping.Error{Kind: kaiping.KindUnauthenticated, Code: CodeWebhookInvalid,
			Message: "音视频服务回调签名无效", Op: "livekit.HandleWebhook", Err: err}
	}
	var ev lkp.WebhookEvent
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &ev); err != nil || ev.Event == "" {
		return kaiping.E(kaiping.KindInvalid, CodeWebhookMalformed, "音视频服务回调内容无法解析")
	}
	if ev.Id != "" && !c.seen.add(ev.Id) {
		return nil
	}
	c.dispatch(&ev)
	return nil
}

// verifyWebhook checks a webhook as livekit/protocol/webhook.Receive does (that package
// cannot be imported here: it pulls in a module our go.sum lacks): the Authorization header
// is a JWT signed (HS256) by the webhook key, whose sha256 claim is the body's checksum, so
// neither the signature nor the body can be swapped.
func (c *Client) verifyWebhook(authorization string, body []byte) error {
	if authorization == "" {
		return errors.New("no Authorization header")
	}
	v, err := auth.ParseAPIToken(authorization)
	if err != nil {
		return err
	}
	if v.APIKey() != c.cfg.WebhookKey {
		return errors.New("signed with an unknown key")
	}
	_, claims, err := v.Verify(c.cfg.WebhookSecret)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	want := base64.StdEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(claims.Sha256), []byte(want)) != 1 {
		return errors.New("body does not match its signed checksum")
	}
	return nil
}

// The webhook events LiveKit sends (livekit/protocol/webhook's names).
const (
	eventRoomFinished                 = "room_finished"
	eventParticipantJoined            = "participant_joined"
	eventParticipantLeft              = "participant_left"
	eventParticipantConnectionAborted = "participant_connection_aborted"
	eventTrackPublished               = "track_published"
	eventTrackUnpublished             = "track_unpublished"
)

// dispatch maps a LiveKit event to room events and to the backend's own duties.
func (c *Client) dispatch(ev *lkp.WebhookEvent) {
	room := ev.Room.GetName()
	p := ev.Participant
	out := signaling.RoomEvent{Room: room, Participant: p.GetIdentity(), Hidden: p.GetPermission().GetHidden()}
	switch ev.Event {
	case eventParticipantJoined:
		// Sent when the participant's media connection is up, not when it signs in.
		out.Type = signaling.EventJoined
		if _, restricted := subscribeOnly(p.GetAttributes()); restricted {
			c.enforcer.watch(room)
			c.enforcer.poke(room)
		}
	case eventParticipantLeft:
		out.Type, out.Reason = signaling.EventLeft, leftReason(p.GetDisconnectReason())
	case eventParticipantConnectionAborted:
		// The participant left before its media connection came up. LiveKit announces a
		// join only once media flows, so this "left" follows no "joined".
		out.Type, out.Reason = signaling.EventLeft, leftReason(p.GetDisconnectReason())
		if out.Reason == "connection_lost" {
			out.Reason = "ice_timeout"
		}
	case eventTrackPublished, eventTrackUnpublished:
		t, ok := trackOf(p.GetIdentity(), ev.Track)
		if !ok {
			return
		}
		out.Type, out.Track = signaling.EventTrackPublished, &t
		if ev.Event == eventTrackUnpublished {
			out.Type = signaling.EventTrackUnpublished
		} else {
			c.enforcer.pokeIfWatched(room)
		}
	case eventRoomFinished:
		// The room is gone, whoever closed it (CloseRoom, LiveKit's idle timeout): the
		// recording ends with it. Participants' departures came as their own events.
		c.enforcer.forget(room)
		c.stopRecordingLater(room)
		return
	default:
		return
	}
	out.At = c.clock.Now()
	c.hub.Publish(out)
}

// stopRecordingLater stops room's recording off the webhook's request: storing the files
// takes longer than LiveKit waits for an answer.
func (c *Client) stopRecordingLater(room string) {
	c.mu.Lock()
	_, ok := c.recording[room]
	delete(c.recording, room)
	if !ok || c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := c.recs.StopIfActive(ctx, room); err != nil {
			c.log.Error("stop recording of finished room", "room", room, "err", err)
		}
	}()
}

// leftReason names why a participant left, in the words of signaling.RoomEvent.Reason.
func leftReason(r lkp.DisconnectReason) string {
	switch r {
	case lkp.DisconnectReason_CLIENT_INITIATED:
		return "left"
	case lkp.DisconnectReason_PARTICIPANT_REMOVED:
		return "removed"
	case lkp.DisconnectReason_DUPLICATE_IDENTITY:
		return "replaced"
	case lkp.DisconnectReason_ROOM_DELETED, lkp.DisconnectReason_ROOM_CLOSED:
		return "room_closed"
	case lkp.DisconnectReason_SERVER_SHUTDOWN:
		return "server_closed"
	case lkp.DisconnectReason_JOIN_FAILURE:
		return "ice_timeout"
	}
	return "connection_lost"
}

// recent remembers the last n event IDs: LiveKit retries a webhook it thinks failed, and an
// event must reach Events once.
type recent struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records id and reports whether it is new.
func (r *recent) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ids[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.ids, old)
	}
	r.ring[r.next] = id
	r.ids[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
	return true
}

package livekit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/livekit/protocol/auth"
	lkp "github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
	"github.com/kaiping/kaiping/signaling"
)

// signWebhook returns the Authorization header LiveKit sends with body: a JWT of key and
// secret whose sha256 claim is the body's checksum.
func signWebhook(tb testing.TB, key, secret string, body []byte) string {
	tb.Helper()
	sum := sha256.Sum256(body)
	tok, err := auth.NewAccessToken(key, secret).SetValidFor(5 * time.Minute).
		SetSha256(base64.StdEncoding.EncodeToString(sum[:])).ToJWT()
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func webhookBody(tb testing.TB, ev *lkp.WebhookEvent) []byte {
	tb.Helper()
	b, err := protojson.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestWebhookSignature: only a webhook signed by the configured key, over the very body
// received, is accepted; the others are refused with a stable code.
func TestWebhookSignature(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: httpapi.ErrorHandler(testLog())})
	app.Post("/webhook", c.WebhookHandler())
	evs := events(t, c, "r1") // no test room has that name: only this test's posts reach it
	body := webhookBody(t, &lkp.WebhookEvent{Event: "participant_joined", Id: "EV_signed",
		Room:        &lkp.Room{Name: "r1"},
		Participant: &lkp.ParticipantInfo{Identity: "p1", Permission: &lkp.ParticipantPermission{Hidden: true}}})
	other := webhookBody(t, &lkp.WebhookEvent{Event: "participant_joined", Id: "EV_other", Room: &lkp.Room{Name: "r1"},
		Participant: &lkp.ParticipantInfo{Identity: "intruder"}})
	good := signWebhook(t, testKey, shared.secret, body)
	tests := []struct {
		name   string
		authz  string
		body   []byte
		status int
		code   string
	}{
		{"signed", good, body, fiber.StatusNoContent, ""},
		{"repeated delivery", good, body, fiber.StatusNoContent, ""},
		{"no signature", "", body, fiber.StatusUnauthorized, CodeWebhookInvalid},
		{"garbage signature", "Bearer nonsense", body, fiber.StatusUnauthorized, CodeWebhookInvalid},
		{"another secret", signWebhook(t, testKey, "another-secret-of-at-least-32-characters!", body), body, fiber.StatusUnauthorized, CodeWebhookInvalid},
		{"unknown key", signWebhook(t, "nosuchkey", shared.secret, body), body, fiber.StatusUnauthorized, CodeWebhookInvalid},
		{"body swapped", good, other, fiber.StatusUnauthorized, CodeWebhookInvalid},
		{"signed but not an event", signWebhook(t, testKey, shared.secret, []byte(`{"event": 7}`)), []byte(`{"event": 7}`), fiber.StatusBadRequest, CodeWebhookMalformed},
		{"too large", good, bytes.Repeat([]byte(" "), MaxWebhookBytes+1), fiber.StatusBadRequest, CodeWebhookMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/webhook+json")
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, err := app.Test(req, 5000)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.code == "" {
				return
			}
			var p httpapi.ErrorBody
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, &p); err != nil || p.Error.Code != tt.code || p.Error.Message == "" {
				t.Fatalf("body %s, want code %s", b, tt.code)
			}
		})
	}
	// Exactly one event came through: the signed one, once.
	ev := <-evs
	if ev.Type != signaling.EventJoined || ev.Room != "r1" || ev.Participant != "p1" || !ev.Hidden {
		t.Errorf("event %+v", ev)
	}
	select {
	case ev := <-evs:
		t.Errorf("another event came through: %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestWebhookEvents(t *testing.T) {
	c := mustClient(t, kaiping.SystemClock{})
	who := &lkp.ParticipantInfo{Identity: "p1"}
	video := &lkp.TrackInfo{Sid: "TR_v", Type: lkp.TrackType_VIDEO, Muted: true}
	tests := []struct {
		name string
		ev   *lkp.WebhookEvent
		want *signaling.RoomEvent // nil: no event
	}{
		{"joined", &lkp.WebhookEvent{Event: "participant_joined", Participant: who},
			&signaling.RoomEvent{Type: signaling.EventJoined, Participant: "p1"}},
		{"left", &lkp.WebhookEvent{Event: "participant_left",
			Participant: &lkp.ParticipantInfo{Identity: "p1", DisconnectReason: lkp.DisconnectReason_CLIENT_INITIATED}},
			&signaling.RoomEvent{Type: signaling.EventLeft, Participant: "p1", Reason: "left"}},
		{"removed", &lkp.WebhookEvent{Event: "participant_left",
			Participant: &lkp.ParticipantInfo{Identity: "p1", DisconnectReason: lkp.DisconnectReason_PARTICIPANT_REMOVED}},
			&signaling.RoomEvent{Type: signaling.EventLeft, Participant: "p1", Reason: "removed"}},
		{"replaced", &lkp.WebhookEvent{Event: "participant_left",
			Participant: &lkp.ParticipantInfo{Identity: "p1", DisconnectReason: lkp.DisconnectReason_DUPLICATE_IDENTITY}},
			&signaling.RoomEvent{Type: signaling.EventLeft, Participant: "p1", Reason: "replaced"}},
		{"signal lost", &lkp.WebhookEvent{Event: "participant_left",
			Participant: &lkp.ParticipantInfo{Identity: "p1", DisconnectReason: lkp.DisconnectReason_SIGNAL_CLOSE}},
			&signaling.RoomEvent{Type: signaling.EventLeft, Participant: "p1", Reason: "connection_lost"}},
		{"aborted", &lkp.WebhookEvent{Event: "participant_connection_aborted", Participant: who},
			&signaling.RoomEvent{Type: signaling.EventLeft, Participant: "p1", Reason: "ice_timeout"}},
		{"aborted by closing", &lkp.WebhookEvent{Event: "participant_connection_aborted",
			Participant: &lkp.ParticipantInfo{Identity: "p1", DisconnectReason: lkp.DisconnectReason_ROOM_DELETED}},
			&signaling.RoomEvent{Type: signaling.EventLeft, Participant: "p1", Reason: "room_closed"}},
		{"track published", &lkp.WebhookEvent{Event: "track_published", Participant: who, Track: video},
			&signaling.RoomEvent{Type: signaling.EventTrackPublished, Participant: "p1",
				Track: &signaling.Track{ID: "TR_v", Participant: "p1", Kind: signaling.Video, Muted: true}}},
		{"track unpublished", &lkp.WebhookEvent{Event: "track_unpublished", Participant: who, Track: video},
			&signaling.RoomEvent{Type: signaling.EventTrackUnpublished, Participant: "p1",
				Track: &signaling.Track{ID: "TR_v", Participant: "p1", Kind: signaling.Video, Muted: true}}},
		{"track without track", &lkp.WebhookEvent{Event: "track_published", Participant: who}, nil},
		{"data track", &lkp.WebhookEvent{Event: "track_published", Participant: who, Track: &lkp.TrackInfo{Sid: "TR_d", Type: lkp.TrackType_DATA}}, nil},
		{"room started", &lkp.WebhookEvent{Event: "room_started"}, nil},
		{"room finished", &lkp.WebhookEvent{Event: "room_finished"}, nil},
		{"egress", &lkp.WebhookEvent{Event: "egress_started"}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			room := "hook" + string(rune('a'+i))
			tt.ev.Room, tt.ev.Id = &lkp.Room{Name: room}, "EV_"+room
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			evs, err := c.Events(ctx, room)
			if err != nil {
				t.Fatal(err)
			}
			body := webhookBody(t, tt.ev)
			if err := c.HandleWebhook(signWebhook(t, testKey, shared.secret, body), body); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-evs:
				if tt.want == nil {
					t.Fatalf("unexpected event %+v", got)
				}
				tt.want.Room, tt.want.At = room, got.At
				if got.At.IsZero() || !equalEvents(got, *tt.want) {
					t.Fatalf("event %+v, want %+v", got, *tt.want)
				}
			case <-time.After(100 * time.Millisecond):
				if tt.want != nil {
					t.Fatal("no event")
				}
			}
		})
	}
}

func equalEvents(a, b signaling.RoomEvent) bool {
	if (a.Track == nil) != (b.Track == nil) || (a.Track != nil && *a.Track != *b.Track) {
		return false
	}
	a.Track, b.Track = nil, nil
	return a == b
}

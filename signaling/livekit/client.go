// Package livekit is the LiveKit backend of the media plane: signaling.Media carried out by a
// LiveKit server (v1.13) through its RoomService API (server-sdk-go, Twirp), with grants that
// are LiveKit access tokens and room events that arrive as LiveKit webhooks. It serves
// deployments that outgrow the embedded SFU of one machine; the seat agent for it is
// clients/seat/livekit.
//
// The LiveKit server must be configured with `room.auto_create: false` (else a grant for a
// closed room would create it again), `room.enable_remote_unmute: true` (else
// MuteParticipant cannot unmute), and `webhook.urls` pointing at WebhookHandler's route
// (else Events stays silent and subscription restrictions are enforced only by polling).
package livekit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	lkp "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// Backend is the Grant.Backend value of this backend.
const Backend = "livekit"

// Client is the LiveKit backend. It implements signaling.Media; it holds no room state of its
// own, so several kaiping replicas may share one LiveKit server.
type Client struct {
	cfg      Config
	clock    kaiping.Clock
	log      *slog.Logger
	api      *lksdk.RoomServiceClient
	hub      signaling.Hub
	recs     *signaling.Recordings
	enforcer *enforcer
	seen     *recent

	mu        sync.Mutex
	recording map[string]struct{} // rooms whose recording this process started
	closed    bool
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

var _ signaling.Media = (*Client)(nil)

// New returns the backend for the LiveKit server cfg names and starts its subscription
// enforcer. rec records rooms (nil: recording unavailable); clock dates grants and events.
func New(cfg Config, rec signaling.Recorder, clock kaiping.Clock, log *slog.Logger) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, clock: clock, log: log,
		api:       lksdk.NewRoomServiceClient(cfg.APIURL, cfg.APIKey, cfg.APISecret),
		recs:      signaling.NewRecordings(rec, log),
		seen:      newRecent(4096),
		recording: map[string]struct{}{},
	}
	c.enforcer = newEnforcer(c)
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.enforcer.run(ctx)
	}()
	return c, nil
}

// Close stops the recordings this process started and the enforcer, and ends every Events
// subscription. The rooms stay on the LiveKit server.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	rooms := make([]string, 0, len(c.recording))
	for r := range c.recording {
		rooms = append(rooms, r)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range rooms {
		if err := c.recs.StopIfActive(ctx, r); err != nil {
			c.log.Error("stop recording", "room", r, "err", err)
		}
	}
	c.stop()
	c.wg.Wait()
	c.hub.Close()
	return nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// call bounds one RoomService call.
func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.CallTimeout)
}

// CreateRoom implements signaling.Media.
func (c *Client) CreateRoom(ctx context.Context, room string, opts signaling.RoomOptions) error {
	if err := signaling.ValidRoomName(room); err != nil {
		return err
	}
	if c.isClosed() {
		return signaling.ErrClosed()
	}
	max := opts.MaxParticipants
	if max <= 0 {
		max = c.cfg.MaxParticipants
	}
	idle := uint32(c.cfg.RoomIdleTimeout / time.Second)
	ctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.api.CreateRoom(ctx, &lkp.CreateRoomRequest{
		Name: room, MaxParticipants: uint32(max), EmptyTimeout: idle, DepartureTimeout: idle,
	})
	return apiError("livekit.CreateRoom "+room, err, nil)
}

// CloseRoom implements signaling.Media.
func (c *Client) CloseRoom(ctx context.Context, room string) error {
	if err := signaling.ValidRoomName(room); err != nil {
		return err
	}
	if c.isClosed() {
		return signaling.ErrClosed()
	}
	if err := c.roomExists(ctx, room); err != nil {
		return err
	}
	recErr := c.recs.StopIfActive(ctx, room)
	c.forgetRecording(room)
	cctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.api.DeleteRoom(cctx, &lkp.DeleteRoomRequest{Room: room})
	if err = apiError("livekit.CloseRoom "+room, err, roomNotFound(room)); err != nil {
		return err
	}
	c.enforcer.forget(room)
	return recErr
}

// roomExists returns ErrRoomNotFound unless room is open on the server.
func (c *Client) roomExists(ctx context.Context, room string) error {
	if c.isClosed() {
		return signaling.ErrClosed()
	}
	ctx, cancel := c.call(ctx)
	defer cancel()
	res, err := c.api.ListRooms(ctx, &lkp.ListRoomsRequest{Names: []string{room}})
	if err != nil {
		return apiError("livekit.ListRooms "+room, err, roomNotFound(room))
	}
	for _, r := range res.Rooms {
		if r.Name == room {
			return nil
		}
	}
	return signaling.ErrRoomNotFound(room)
}

// RemoveParticipant implements signaling.Media.
func (c *Client) RemoveParticipant(ctx context.Context, room, identity string) error {
	if err := c.checkNames(room, identity); err != nil {
		return err
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.api.RemoveParticipant(cctx, &lkp.RoomParticipantIdentity{Room: room, Identity: identity})
	return apiError("livekit.RemoveParticipant "+room, err, c.participantNotFound(ctx, room, identity))
}

// participantNotFound tells a missing participant from a missing room, which LiveKit
// reports alike.
func (c *Client) participantNotFound(ctx context.Context, room, identity string) func() *kaiping.Error {
	return func() *kaiping.Error {
		if err := c.roomExists(ctx, room); kaiping.CodeOf(err) == signaling.CodeRoomNotFound {
			return signaling.ErrRoomNotFound(room)
		}
		return signaling.ErrParticipantNotFound(identity)
	}
}

func (c *Client) checkNames(room, identity string) error {
	if err := signaling.ValidRoomName(room); err != nil {
		return err
	}
	if err := signaling.ValidIdentity(identity); err != nil {
		return err
	}
	if c.isClosed() {
		return signaling.ErrClosed()
	}
	return nil
}

// MuteParticipant implements signaling.Media: every published track of kind is muted on the
// server, which stops forwarding it and tells the publisher. Unlike the embedded backend, a
// track the participant publishes later starts unmuted: LiveKit mutes tracks, not
// participants.
func (c *Client) MuteParticipant(ctx context.Context, room, identity string, kind signaling.TrackKind, muted bool) error {
	if !kind.Valid() {
		return kaiping.Errorf(kaiping.KindInvalid, signaling.CodeTrackKindInvalid, "轨道类型须为 audio 或 video，而不是 %q", kind)
	}
	if err := c.checkNames(room, identity); err != nil {
		return err
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	info, err := c.api.GetParticipant(cctx, &lkp.RoomParticipantIdentity{Room: room, Identity: identity})
	if err != nil {
		return apiError("livekit.GetParticipant "+room, err, c.participantNotFound(ctx, room, identity))
	}
	for _, t := range info.Tracks {
		if trackKind(t.Type) != kind {
			continue
		}
		_, err := c.api.MutePublishedTrack(cctx, &lkp.MuteRoomTrackRequest{Room: room, Identity: identity, TrackSid: t.Sid, Muted: muted})
		if err != nil {
			return apiError("livekit.MutePublishedTrack "+room, err, c.participantNotFound(ctx, room, identity))
		}
	}
	return nil
}

// Participants implements signaling.Media.
func (c *Client) Participants(ctx context.Context, room string) ([]signaling.Participant, error) {
	if err := signaling.ValidRoomName(room); err != nil {
		return nil, err
	}
	infos, err := c.list(ctx, room)
	if err != nil {
		return nil, err
	}
	out := make([]signaling.Participant, 0, len(infos))
	for _, p := range infos {
		out = append(out, participantOf(p))
	}
	return out, nil
}

// list returns the participants LiveKit reports, or ErrRoomNotFound.
func (c *Client) list(ctx context.Context, room string) ([]*lkp.ParticipantInfo, error) {
	if c.isClosed() {
		return nil, signaling.ErrClosed()
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	res, err := c.api.ListParticipants(cctx, &lkp.ListParticipantsRequest{Room: room})
	if err != nil {
		return nil, apiError("livekit.ListParticipants "+room, err, roomNotFound(room))
	}
	if len(res.Participants) == 0 {
		// LiveKit answers an empty list for a room it does not have.
		if err := c.roomExists(ctx, room); err != nil {
			return nil, err
		}
	}
	return res.Participants, nil
}

// StartRecording implements signaling.Media.
func (c *Client) StartRecording(ctx context.Context, room string) error {
	if err := signaling.ValidRoomName(room); err != nil {
		return err
	}
	if err := c.roomExists(ctx, room); err != nil {
		return err
	}
	if err := c.recs.Start(ctx, c, room); err != nil {
		return err
	}
	c.mu.Lock()
	c.recording[room] = struct{}{}
	c.mu.Unlock()
	return nil
}

// StopRecording implements signaling.Media.
func (c *Client) StopRecording(ctx context.Context, room string) error {
	c.forgetRecording(room)
	return c.recs.Stop(ctx, room)
}

func (c *Client) forgetRecording(room string) {
	c.mu.Lock()
	delete(c.recording, room)
	c.mu.Unlock()
}

// Events implements signaling.Media. The events come from LiveKit's webhooks (see
// WebhookHandler); LiveKit sends no connection-quality webhooks, so there are no
// connection_quality events on this backend.
func (c *Client) Events(ctx context.Context, room string) (<-chan signaling.RoomEvent, error) {
	if room != "" {
		if err := signaling.ValidRoomName(room); err != nil {
			return nil, err
		}
	}
	return c.hub.Subscribe(ctx, room)
}

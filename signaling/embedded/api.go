package embedded

import (
	"context"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// CreateRoom implements signaling.Media.
func (s *Server) CreateRoom(_ context.Context, name string, opts signaling.RoomOptions) error {
	if err := signaling.ValidRoomName(name); err != nil {
		return err
	}
	max := opts.MaxParticipants
	if max <= 0 {
		max = s.cfg.MaxParticipants
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return signaling.ErrClosed()
	}
	if _, ok := s.rooms[name]; !ok {
		s.rooms[name] = newRoom(s, name, max)
	}
	return nil
}

// CloseRoom implements signaling.Media.
func (s *Server) CloseRoom(ctx context.Context, name string) error {
	r, err := s.room(name)
	if err != nil {
		return err
	}
	recErr := s.recs.StopIfActive(ctx, name)
	s.mu.Lock()
	if s.rooms[name] == r {
		delete(s.rooms, name)
	}
	s.mu.Unlock()
	r.close("room_closed")
	return recErr
}

// Grant implements signaling.Media.
func (s *Server) Grant(_ context.Context, room string, who kaiping.Principal, perms signaling.Permissions) (signaling.Grant, error) {
	identity, err := signaling.CheckGrant(room, who, perms)
	if err != nil {
		return signaling.Grant{}, err
	}
	if _, err := s.room(room); err != nil {
		return signaling.Grant{}, err
	}
	now := s.clock.Now()
	exp := now.Add(s.cfg.GrantTTL)
	token := s.keys.signGrant(claims{
		Room: room, Identity: identity, Name: who.Name, Perms: perms,
		Issued: now.Unix(), Expires: exp.Unix(), Nonce: randomToken()[:8],
	})
	return signaling.Grant{
		Backend: Backend, URL: s.cfg.URL, Token: token, Room: room, Identity: identity,
		Permissions: perms, Expires: exp.Truncate(1e9),
	}, nil
}

// RemoveParticipant implements signaling.Media.
func (s *Server) RemoveParticipant(_ context.Context, room, identity string) error {
	p, err := s.participant(room, identity)
	if err != nil {
		return err
	}
	p.room.remove(p, "removed", byeMessages["removed"])
	return nil
}

func (s *Server) participant(room, identity string) (*participant, error) {
	r, err := s.room(room)
	if err != nil {
		return nil, err
	}
	return r.get(identity)
}

// MuteParticipant implements signaling.Media.
func (s *Server) MuteParticipant(_ context.Context, room, identity string, kind signaling.TrackKind, muted bool) error {
	if !kind.Valid() {
		return kaiping.Errorf(kaiping.KindInvalid, signaling.CodeTrackKindInvalid, "轨道类型须为 audio 或 video，而不是 %q", kind)
	}
	p, err := s.participant(room, identity)
	if err != nil {
		return err
	}
	p.setMuted(kind, muted)
	return nil
}

// Participants implements signaling.Media.
func (s *Server) Participants(_ context.Context, room string) ([]signaling.Participant, error) {
	r, err := s.room(room)
	if err != nil {
		return nil, err
	}
	ps := r.all()
	out := make([]signaling.Participant, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.info())
	}
	return out, nil
}

// StartRecording implements signaling.Media.
func (s *Server) StartRecording(ctx context.Context, room string) error {
	if _, err := s.room(room); err != nil {
		return err
	}
	return s.recs.Start(ctx, s, room)
}

// StopRecording implements signaling.Media.
func (s *Server) StopRecording(ctx context.Context, room string) error {
	return s.recs.Stop(ctx, room)
}

// Events implements signaling.Media.
func (s *Server) Events(ctx context.Context, room string) (<-chan signaling.RoomEvent, error) {
	if room != "" {
		if err := signaling.ValidRoomName(room); err != nil {
			return nil, err
		}
	}
	return s.hub.Subscribe(ctx, room)
}

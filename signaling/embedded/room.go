package embedded

import (
	"sync"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// room is one media room: its participants by identity.
type room struct {
	srv  *Server
	name string
	max  int

	mu     sync.Mutex
	parts  map[string]*participant
	closed bool
}

func newRoom(srv *Server, name string, max int) *room {
	return &room{srv: srv, name: name, max: max, parts: map[string]*participant{}}
}

// add admits p, replacing a participant with the same identity (returned, to be closed by
// the caller), and queues p's joined message with the visible participants while still
// holding the lock, so that p hears of every later change after it.
func (r *room) add(p *participant, joined wire.Joined) (replaced *participant, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, signaling.ErrRoomNotFound(r.name)
	}
	replaced = r.parts[p.identity]
	if replaced == nil && len(r.parts) >= r.max {
		return nil, kaiping.Errorf(kaiping.KindConflict, signaling.CodeRoomFull, "房间已满（至多 %d 人）", r.max)
	}
	joined.Participants = r.visibleLocked(p)
	p.send(joined)
	r.parts[p.identity] = p
	return replaced, nil
}

// visibleLocked lists the participants other than self that self may see.
func (r *room) visibleLocked(self *participant) []wire.Participant {
	out := []wire.Participant{}
	for _, q := range r.parts {
		if q == self || q.perms.Hidden {
			continue
		}
		out = append(out, q.wireInfo())
	}
	return out
}

// others returns everyone in the room but p.
func (r *room) others(p *participant) []*participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*participant, 0, len(r.parts))
	for _, q := range r.parts {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

func (r *room) get(identity string) (*participant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.parts[identity]
	if !ok {
		return nil, signaling.ErrParticipantNotFound(identity)
	}
	return p, nil
}

func (r *room) all() []*participant { return r.others(nil) }

// remove takes p out of the room (if it is still there), closes it and tells the others.
func (r *room) remove(p *participant, reason, message string) {
	r.mu.Lock()
	if r.parts[p.identity] == p {
		delete(r.parts, p.identity)
	}
	r.mu.Unlock()
	if !p.close(reason, message) {
		return
	}
	if !p.perms.Hidden {
		for _, q := range r.others(p) {
			q.send(wire.ParticipantLeft{Identity: p.identity, Reason: reason})
		}
	}
	r.srv.emit(signaling.RoomEvent{Type: signaling.EventLeft, Room: r.name, Participant: p.identity,
		Hidden: p.perms.Hidden, Reason: reason})
}

// close removes everyone; later joins fail.
func (r *room) close(reason string) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	for _, p := range r.all() {
		r.remove(p, reason, byeMessages[reason])
	}
}

// data delivers a data message from p to the listed identities (everyone if none), hidden
// participants included.
func (r *room) data(p *participant, to []string, payload string) {
	msg := wire.Data{From: p.identity, Payload: payload}
	for _, q := range r.others(p) {
		if len(to) == 0 || contains(to, q.identity) {
			q.send(msg)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// byeMessages are the messages of the bye a participant receives, by reason.
var byeMessages = map[string]string{
	"left":            "您已离开房间",
	"removed":         "您已被移出房间",
	"replaced":        "您已在其他地方加入此房间",
	"ice_timeout":     "媒体连接未能建立，请检查网络后重新加入",
	"connection_lost": "连接中断时间过长，请重新加入",
	"room_closed":     "房间已关闭",
	"server_closed":   "音视频服务已停止",
	"protocol_error":  "信令协商失败，请重新加入",
}

package embedded

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/wire"
)

// publishedTrack is one incoming track and its subscribers. Its reader goroutine hands every
// packet to each subscriber's queue without waiting: fan-out is parallel, one writer per
// subscriber track. The track outlives the connection it arrived on: when the publisher's
// connection is lost, the track stays published (and subscribed) until the publisher sends
// a track of the same kind on a new connection, which takes it over (its source changes).
type publishedTrack struct {
	id    string
	kind  signaling.TrackKind
	owner *participant
	codec webrtc.RTPCodecCapability
	// clientID is the publisher's own id for the track (its msid), preferred when a new
	// connection's track takes over one of several of the same kind.
	clientID string
	src      atomic.Pointer[trackSource]
	muted    atomic.Bool
	// lostAt is when the track's connection was lost, zero while it has one (owner.mu).
	lostAt time.Time
	cont   continuity

	mu     sync.Mutex // serialises changes to downs
	closed bool
	downs  atomic.Pointer[[]*downTrack] // copy on write: the reader never locks

	keyframe keyframeLimiter
	loss     lossCounter
}

func (t *publishedTrack) wireInfo() wire.Track {
	return wire.Track{ID: t.id, Participant: t.owner.identity, Kind: t.kind, Muted: t.muted.Load()}
}

func (t *publishedTrack) info() signaling.Track {
	return signaling.Track{ID: t.id, Participant: t.owner.identity, Kind: t.kind, Muted: t.muted.Load()}
}

// add subscribes d; it reports false once the track has ended.
func (t *publishedTrack) add(d *downTrack) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	var next []*downTrack
	if cur := t.downs.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, d)
	t.downs.Store(&next)
	return true
}

func (t *publishedTrack) remove(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.downs.Load()
	if cur == nil {
		return
	}
	next := make([]*downTrack, 0, len(*cur))
	for _, x := range *cur {
		if x != d {
			next = append(next, x)
		}
	}
	t.downs.Store(&next)
}

// end marks the track ended and returns its subscribers.
func (t *publishedTrack) end() []*downTrack {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	cur := t.downs.Load()
	t.downs.Store(nil)
	if cur == nil {
		return nil
	}
	return *cur
}

// trackSource is where a published track's packets come from: one remote track of one peer
// connection.
type trackSource struct {
	pc     *webrtc.PeerConnection
	remote *webrtc.TrackRemote
	recv   *webrtc.RTPReceiver
}

// readLoop forwards src's packets until it ends (the publisher stopped the track, left, or
// lost its connection) or another source has taken the track over.
func (t *publishedTrack) readLoop(src *trackSource) {
	buf := make([]byte, 1500)
	for {
		n, _, err := src.remote.Read(buf)
		if err != nil {
			return
		}
		if t.muted.Load() || t.src.Load() != src {
			continue
		}
		// One copy per packet, shared read-only by every subscriber queue.
		b := make([]byte, n)
		copy(b, buf[:n])
		pkt := &rtp.Packet{}
		if err := pkt.Unmarshal(b); err != nil {
			continue
		}
		// Header extension IDs are negotiated per connection: the publisher's mean nothing
		// to a subscriber, whose own interceptors add what it negotiated.
		pkt.Extension, pkt.Extensions, pkt.ExtensionProfile = false, nil, 0
		t.cont.rewrite(src, pkt, time.Now(), t.codec.ClockRate)
		t.loss.observe(pkt.SequenceNumber)
		if downs := t.downs.Load(); downs != nil {
			for _, d := range *downs {
				d.enqueue(pkt)
			}
		}
	}
}

// downTrack is one subscriber's copy of a published track: a bounded queue and the writer
// goroutine that drains it into the subscriber's connection.
type downTrack struct {
	track  *publishedTrack
	sub    *participant
	local  *boundTrack
	sender *webrtc.RTPSender
	mid    string
	q      chan *rtp.Packet
	done   chan struct{}
	once   sync.Once

	dropped atomic.Uint64
}

func (d *downTrack) enqueue(p *rtp.Packet) {
	select {
	case d.q <- p:
	default:
		d.dropped.Add(1)
	}
}

func (d *downTrack) writeLoop() {
	for {
		select {
		case <-d.done:
			return
		case p := <-d.q:
			_ = d.local.WriteRTP(p) // errors mean the subscriber is going away; done follows
		}
	}
}

func (d *downTrack) stop() { d.once.Do(func() { close(d.done) }) }

// boundTrack is a TrackLocalStaticRTP that asks the publisher for a keyframe as soon as the
// subscriber's connection binds it, so new subscribers see a picture without waiting for
// the next periodic keyframe.
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	onBind func()
}

// Bind implements webrtc.TrackLocal.
func (b *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, err := b.TrackLocalStaticRTP.Bind(ctx)
	if err == nil && b.onBind != nil {
		b.onBind()
	}
	return c, err
}

// onTrack publishes a track the client started sending on pc and subscribes everyone
// allowed; or, if one of p's tracks of that kind lost its connection, the new one takes it
// over and its subscribers receive again without renegotiating.
func (p *participant) onTrack(pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	kind := signaling.TrackKind(remote.Kind().String())
	if !p.perms.CanPublish(kind) {
		// checkOffer refuses such offers; this only guards against a path it missed.
		p.log.Warn("dropping track the grant does not allow", "kind", kind)
		_ = recv.Stop()
		return
	}
	src := &trackSource{pc: pc, remote: remote, recv: recv}
	p.mu.Lock()
	if p.gone || p.pc != pc {
		p.mu.Unlock()
		return
	}
	if t := p.lostTrackLocked(kind, remote.ID()); t != nil && t.codec.MimeType == remote.Codec().MimeType {
		t.lostAt = time.Time{}
		t.src.Store(src)
		p.mu.Unlock()
		p.log.Info("track taken over by the new connection", "track", t.id, "kind", kind)
		p.startSource(t, src)
		t.requestKeyframe()
		return
	}
	t := &publishedTrack{id: string(kind) + "-" + randomToken()[:12], kind: kind, owner: p,
		codec: remote.Codec().RTPCodecCapability, clientID: remote.ID()}
	t.src.Store(src)
	t.muted.Store(p.muted[kind])
	p.published[t.id] = t
	p.mu.Unlock()
	p.startSource(t, src)
	p.srv.emit(signaling.RoomEvent{Type: signaling.EventTrackPublished, Room: p.room.name, Participant: p.identity, Track: ptr(t.info())})
	p.log.Info("track published", "track", t.id, "kind", kind)
	for _, q := range p.room.others(p) {
		q.send(wire.TrackPublished{Track: t.wireInfo()})
		if q.perms.Subscribe.Allows(p.identity) {
			q.subscribe(t)
		}
	}
	if kind == signaling.Video {
		t.requestKeyframe()
	}
}

// unpublish ends t: every subscriber loses its copy and hears that the track is gone.
func (p *participant) unpublish(t *publishedTrack) {
	p.mu.Lock()
	if p.published[t.id] != t {
		p.mu.Unlock()
		return
	}
	delete(p.published, t.id)
	p.mu.Unlock()
	for _, d := range t.end() {
		d.sub.unsubscribe(d)
	}
	for _, q := range p.room.others(p) {
		q.send(wire.TrackUnpublished{TrackID: t.id})
	}
	p.srv.emit(signaling.RoomEvent{Type: signaling.EventTrackUnpublished, Room: p.room.name, Participant: p.identity, Track: ptr(t.info())})
}

// subscribe adds a copy of t to p's connection and renegotiates. Subscribing twice is a no-op.
func (p *participant) subscribe(t *publishedTrack) {
	p.neg.Lock()
	defer p.neg.Unlock()
	p.mu.Lock()
	_, dup := p.downs[t]
	gone := p.gone
	p.mu.Unlock()
	if dup || gone {
		return
	}
	static, err := webrtc.NewTrackLocalStaticRTP(t.codec, t.id, t.owner.identity)
	if err != nil {
		p.log.Error("new local track", "err", err)
		return
	}
	local := &boundTrack{TrackLocalStaticRTP: static}
	if t.kind == signaling.Video {
		local.onBind = t.requestKeyframe
	}
	// Always a new transceiver: AddTrack would reuse one the client offered (and the server
	// answered inactive), mixing the client's media with the server's on one m-line.
	tr, err := p.pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		p.log.Debug("add track", "err", err)
		return
	}
	p.nameMid(tr)
	sender := tr.Sender()
	d := &downTrack{track: t, sub: p, local: local, sender: sender, mid: tr.Mid(),
		q: make(chan *rtp.Packet, p.srv.cfg.QueuePackets), done: make(chan struct{})}
	p.mu.Lock()
	if p.gone {
		p.mu.Unlock()
		return
	}
	p.downs[t] = d
	p.mu.Unlock()
	if !t.add(d) {
		p.mu.Lock()
		delete(p.downs, t)
		p.mu.Unlock()
		_ = p.pc.RemoveTrack(sender)
		return
	}
	p.srv.goTracked(d.writeLoop)
	p.srv.goTracked(d.readRTCP)
	p.wantOffer = true
	p.offerLocked()
}

// unsubscribe removes d from p's connection and renegotiates.
func (p *participant) unsubscribe(d *downTrack) {
	d.stop()
	p.mu.Lock()
	mine := p.downs[d.track] == d
	if mine {
		delete(p.downs, d.track)
	}
	gone := p.gone
	p.mu.Unlock()
	if gone || !mine {
		return // p is gone, or d was on a connection a fresh resume replaced
	}
	p.neg.Lock()
	defer p.neg.Unlock()
	if err := p.pc.RemoveTrack(d.sender); err != nil {
		p.log.Debug("remove track", "err", err)
		return
	}
	p.wantOffer = true
	p.offerLocked()
}

// nameMid gives tr a mid of the server's own ("s0", "s1", ...), so that the mids of server
// offers never collide with the numeric mids clients give the m-lines they add, even when
// both sides offer at once and the client rolls back (p.neg held).
func (p *participant) nameMid(tr *webrtc.RTPTransceiver) {
	if tr.Mid() == "" && tr.SetMid(fmt.Sprintf("s%d", p.mids)) == nil {
		p.mids++
	}
}

func ptr[T any](v T) *T { return &v }

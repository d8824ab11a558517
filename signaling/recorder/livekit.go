package recorder

import (
	"context"
	"log/slog"
	"strings"

	"github.com/go-logr/logr"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// livekitBackend is signaling/livekit's Grant.Backend.
const livekitBackend = "livekit"

// livekitJoiner joins LiveKit rooms with server-sdk-go's client, subscribing to every track
// (the grant is hidden and may subscribe to all). The SDK reconnects by itself; its
// reconnecting/reconnected callbacks bracket the recorder's own outages.
type livekitJoiner struct {
	log *slog.Logger
}

type livekitConn struct {
	room    *lksdk.Room
	readers trackReaders // closed when we leave
}

// Join implements Joiner.
func (j livekitJoiner) Join(ctx context.Context, g signaling.Grant, sink Sink) (Conn, error) {
	c := &livekitConn{}
	cb := lksdk.NewRoomCallback()
	cb.OnParticipantConnected = func(rp *lksdk.RemoteParticipant) { sink.Participant(rp.Identity(), rp.Name()) }
	cb.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) { sink.ParticipantLeft(rp.Identity(), "left") }
	cb.OnTrackSubscribed = func(t *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		c.readers.start(func() {
			sink.Participant(rp.Identity(), rp.Name())
			readTrack(t, sink.Track(trackInfo(t, pub.SID(), rp.Identity()), func() { rp.WritePLI(t.SSRC()) }))
		})
	}
	cb.OnTrackMuted = func(pub lksdk.TrackPublication, _ lksdk.Participant) { sink.Muted(pub.SID(), true) }
	cb.OnTrackUnmuted = func(pub lksdk.TrackPublication, _ lksdk.Participant) { sink.Muted(pub.SID(), false) }
	cb.OnReconnecting = sink.Interrupted
	cb.OnReconnected = sink.Resumed
	cb.OnDisconnectedWithReason = func(reason lksdk.DisconnectionReason) {
		if !c.readers.closed() {
			sink.Ended(livekitReason(reason))
		}
	}
	room := lksdk.NewRoom(cb)
	if err := room.JoinWithContextAndToken(ctx, g.URL, g.Token, lksdk.WithAutoSubscribe(true),
		lksdk.WithLogger(protologger.LogRLogger(logr.FromSlogHandler(j.log.Handler())))); err != nil {
		return nil, livekitRefusal(err)
	}
	c.room = room
	for _, rp := range room.GetRemoteParticipants() {
		sink.Participant(rp.Identity(), rp.Name())
	}
	return c, nil
}

// Leave implements Conn.
func (c *livekitConn) Leave(ctx context.Context) error {
	c.readers.close()
	c.room.Disconnect()
	done := make(chan struct{})
	go func() {
		c.readers.wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// livekitReason says a LiveKit disconnection in PROTOCOL.md's bye reasons.
func livekitReason(r lksdk.DisconnectionReason) string {
	switch r {
	case lksdk.RoomClosed:
		return "room_closed"
	case lksdk.ParticipantRemoved:
		return "removed"
	case lksdk.DuplicateIdentity:
		return "replaced"
	case lksdk.LeaveRequested:
		return "left"
	}
	return "connection_lost"
}

// livekitRefusal classifies a refused join from the client library's text.
func livekitRefusal(err error) *kaiping.Error {
	low := strings.ToLower(err.Error())
	switch {
	case strings.Contains(low, "token is expired"):
		return kaiping.E(kaiping.KindUnauthenticated, signaling.CodeGrantExpired, "录制服务的入会凭证已过期")
	case strings.Contains(low, "room does not exist"), low == "not found":
		return kaiping.E(kaiping.KindNotFound, signaling.CodeRoomNotFound, "音视频房间不存在或已关闭")
	case strings.Contains(low, "unauthorized"), strings.Contains(low, "invalid token"):
		return kaiping.E(kaiping.KindUnauthenticated, signaling.CodeGrantInvalid, "录制服务的入会凭证无效")
	}
	e := kaiping.E(kaiping.KindUnavailable, CodeJoinFailed, "录制服务无法加入 LiveKit 房间")
	e.Err = err
	return e
}

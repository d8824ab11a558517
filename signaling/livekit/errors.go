package livekit

import (
	"context"
	"errors"
	"fmt"

	"github.com/twitchtv/twirp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// The error codes of this backend beyond signaling's.
const (
	// CodeUnavailable: the LiveKit server did not answer (down, unreachable, timed out).
	CodeUnavailable = "signaling.livekit_unavailable"
	// CodeWebhookInvalid: a webhook request without a valid signature of the configured key,
	// or whose body does not match its signed checksum.
	CodeWebhookInvalid = "signaling.webhook_invalid"
	// CodeWebhookMalformed: a correctly signed webhook whose body is not a LiveKit event.
	CodeWebhookMalformed = "signaling.webhook_malformed"
)

// apiError turns an error of a RoomService call into a *kaiping.Error. notFound is what a
// Twirp not_found means for this call (a room or a participant); nil makes it internal.
func apiError(op string, err error, notFound func() *kaiping.Error) error {
	if err == nil {
		return nil
	}
	var te twirp.Error
	if errors.As(err, &te) {
		switch te.Code() {
		case twirp.NotFound:
			if notFound != nil {
				return notFound()
			}
		case twirp.Unavailable, twirp.DeadlineExceeded, twirp.Canceled:
			return unavailable(op, err)
		}
		// Unauthenticated, invalid_argument, ...: our configuration or our request is wrong.
		return kaiping.Internal(op, err)
	}
	return unavailable(op, err)
}

func unavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &kaiping.Error{Kind: kaiping.KindUnavailable, Code: CodeUnavailable,
		Message: "音视频服务暂时不可用，请稍后重试", Op: op, Err: err}
}

func roomNotFound(room string) func() *kaiping.Error {
	return func() *kaiping.Error { return signaling.ErrRoomNotFound(room) }
}

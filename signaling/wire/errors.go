package wire

import "github.com/kaiping/kaiping"

// The error codes of the signaling protocol itself; the media plane's codes (grants,
// permissions, rooms) are in package signaling.
const (
	CodeMessageInvalid     = "signaling.message_invalid"
	CodeMessageUnknown     = "signaling.message_unknown"
	CodeMessageTooLarge    = "signaling.message_too_large"
	CodeMessageUnexpected  = "signaling.message_unexpected"
	CodeVersionUnsupported = "signaling.version_unsupported"
	CodeSDPInvalid         = "signaling.sdp_invalid"
	CodeGlare              = "signaling.glare"
	CodeJoinTimeout        = "signaling.join_timeout"
	CodeICETimeout         = "signaling.ice_timeout"
	CodeBusy               = "signaling.busy"
	CodeTooSlow            = "signaling.too_slow"
)

func invalid(format string, args ...any) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeMessageInvalid, "信令消息格式错误："+format, args...)
}

// ErrTooLarge is the error for a message over limit bytes.
func ErrTooLarge(limit int) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeMessageTooLarge, "信令消息过大（上限 %d 字节）", limit)
}

package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// maxTokenBytes bounds grant and resume tokens.
const maxTokenBytes = 4096

// maxCandidateBytes bounds one ICE candidate line.
const maxCandidateBytes = 1024

// maxRecipients bounds the To list of a data message.
const maxRecipients = 1000

// Parse decodes one message strictly: a single JSON object, a known "type", no unknown
// fields, the fields each type requires. Errors are *kaiping.Error with the codes
// CodeMessageTooLarge, CodeMessageInvalid, CodeMessageUnknown or CodeVersionUnsupported.
func Parse(b []byte) (Message, error) {
	if len(b) > MaxServerMessageBytes {
		return nil, ErrTooLarge(MaxServerMessageBytes)
	}
	var head struct {
		Type Type `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, invalid("不是 JSON 对象")
	}
	var (
		m   Message
		err error
	)
	switch head.Type {
	case TypeJoin:
		m, err = decode[Join](b)
	case TypeJoined:
		m, err = decode[Joined](b)
	case TypeOffer:
		m, err = decode[Offer](b)
	case TypeAnswer:
		m, err = decode[Answer](b)
	case TypeCandidate:
		m, err = decode[Candidate](b)
	case TypeRestartICE:
		m, err = decode[RestartICE](b)
	case TypeLeave:
		m, err = decode[Leave](b)
	case TypeData:
		m, err = decode[Data](b)
	case TypeParticipantJoined:
		m, err = decode[ParticipantJoined](b)
	case TypeParticipantLeft:
		m, err = decode[ParticipantLeft](b)
	case TypeTrackPublished:
		m, err = decode[TrackPublished](b)
	case TypeTrackUnpublished:
		m, err = decode[TrackUnpublished](b)
	case TypeMuted:
		m, err = decode[Muted](b)
	case TypeError:
		m, err = decode[Error](b)
	case TypeBye:
		m, err = decode[Bye](b)
	case "":
		return nil, invalid("缺少 type 字段")
	default:
		return nil, kaiping.Errorf(kaiping.KindInvalid, CodeMessageUnknown, "未知的信令消息类型 %q", truncate(string(head.Type)))
	}
	if err != nil {
		return nil, err
	}
	if err := validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

func decode[T Message](b []byte) (Message, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, invalid("%s", describe(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("对象之后还有多余内容")
	}
	return v, nil
}

// describe turns a JSON decoding error into a short reason without echoing input back.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return "字段 " + truncate(te.Field) + " 的类型不对"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "含有未知字段 " + truncate(strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return "JSON 语法错误"
}

func truncate(s string) string {
	const max = 40
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

func validate(m Message) error {
	switch v := m.(type) {
	case Join:
		if v.V != Version {
			return kaiping.Errorf(kaiping.KindInvalid, CodeVersionUnsupported, "不支持的信令协议版本 %d（服务器支持 %d）", v.V, Version)
		}
		if (v.Token == "") == (v.Resume == "") {
			return invalid("join 须且仅须携带 token 或 resume 之一")
		}
		if len(v.Token) > maxTokenBytes || len(v.Resume) > maxTokenBytes {
			return invalid("令牌过长")
		}
		if v.Fresh && v.Resume == "" {
			return invalid("fresh 仅用于携带 resume 的恢复")
		}
		if v.OfferFirst && v.Resume != "" && !v.Fresh {
			return invalid("恢复时沿用原有连接，offer_first 仅可与 fresh 一同使用")
		}
	case Offer:
		return checkSDP(v.SDP)
	case Answer:
		return checkSDP(v.SDP)
	case Candidate:
		if v.Candidate != nil && len(v.Candidate.Candidate) > maxCandidateBytes {
			return invalid("ICE 候选过长")
		}
	case Data:
		if len(v.Payload) > MaxDataBytes {
			return kaiping.Errorf(kaiping.KindInvalid, CodeMessageTooLarge, "数据消息过大（上限 %d 字节）", MaxDataBytes)
		}
		if len(v.To) > maxRecipients {
			return invalid("接收者过多")
		}
		for _, id := range v.To {
			if signaling.ValidIdentity(id) != nil {
				return invalid("接收者标识无效")
			}
		}
	case Error:
		if v.Code == "" {
			return invalid("error 缺少 code")
		}
	}
	return nil
}

func checkSDP(sdp string) error {
	if !strings.HasPrefix(sdp, "v=0") {
		return invalid("sdp 须以 v=0 开头")
	}
	return nil
}

// Marshal encodes m with its "type" filled in.
func Marshal(m Message) ([]byte, error) {
	t := m.MessageType()
	switch v := m.(type) {
	case Join:
		v.Type = t
		m = v
	case Joined:
		v.Type = t
		m = v
	case Offer:
		v.Type = t
		m = v
	case Answer:
		v.Type = t
		m = v
	case Candidate:
		v.Type = t
		m = v
	case RestartICE:
		v.Type = t
		m = v
	case Leave:
		v.Type = t
		m = v
	case Data:
		v.Type = t
		m = v
	case ParticipantJoined:
		v.Type = t
		m = v
	case ParticipantLeft:
		v.Type = t
		m = v
	case TrackPublished:
		v.Type = t
		m = v
	case TrackUnpublished:
		v.Type = t
		m = v
	case Muted:
		v.Type = t
		m = v
	case Error:
		v.Type = t
		m = v
	case Bye:
		v.Type = t
		m = v
	}
	return json.Marshal(m)
}

// ErrorMessage turns err into an error message: the code and public message of a
// *kaiping.Error, or a generic internal error.
func ErrorMessage(err error, fatal bool) Error {
	var e *kaiping.Error
	if !errors.As(err, &e) || e.Kind == kaiping.KindInternal {
		return Error{Code: "internal", Message: "服务器内部错误", Fatal: fatal}
	}
	return Error{Code: e.Code, Message: e.Message, Fatal: fatal}
}

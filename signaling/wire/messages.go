// Package wire is the message set of the embedded backend's WebSocket signaling protocol,
// specified in ../PROTOCOL.md: one JSON object per text frame, told apart by "type". The
// server (signaling/embedded) and the Go client (clients/seat) share it.
package wire

import "github.com/kaiping/kaiping/signaling"

// Version is the protocol version this package speaks; a join names it.
const Version = 1

// MaxMessageBytes bounds one client-to-server message.
const MaxMessageBytes = 64 << 10

// MaxServerMessageBytes bounds one server-to-client message (offers grow with the tracks).
const MaxServerMessageBytes = 1 << 20

// MaxDataBytes bounds the payload of a data message.
const MaxDataBytes = 16 << 10

// Type tells messages apart.
type Type string

// The message types; PROTOCOL.md says who sends which.
const (
	TypeJoin              Type = "join"
	TypeJoined            Type = "joined"
	TypeOffer             Type = "offer"
	TypeAnswer            Type = "answer"
	TypeCandidate         Type = "candidate"
	TypeRestartICE        Type = "restart_ice"
	TypeLeave             Type = "leave"
	TypeData              Type = "data"
	TypeParticipantJoined Type = "participant_joined"
	TypeParticipantLeft   Type = "participant_left"
	TypeTrackPublished    Type = "track_published"
	TypeTrackUnpublished  Type = "track_unpublished"
	TypeMuted             Type = "muted"
	TypeError             Type = "error"
	TypeBye               Type = "bye"
)

// Message is any protocol message.
type Message interface {
	// MessageType is the message's "type".
	MessageType() Type
}

// Join opens a session with a grant token, or resumes one with a resume token.
type Join struct {
	Type   Type   `json:"type"`
	V      int    `json:"v"`
	Token  string `json:"token,omitempty"`
	Resume string `json:"resume,omitempty"`
	// OfferFirst asks the server to hold its own offers until the client's first offer has
	// been answered (for clients that cannot roll back an offer). On a resume only with Fresh:
	// a resumed connection that keeps its peer connection has negotiated already.
	OfferFirst bool `json:"offer_first,omitempty"`
	// Fresh (resumes only) says the client has lost its peer connection and brings a new one:
	// the server drops its side of the old connection and negotiates anew, keeping the
	// participant's published tracks for the new connection to take over.
	Fresh bool `json:"fresh,omitempty"`
}

// Joined answers a join.
type Joined struct {
	Type         Type          `json:"type"`
	V            int           `json:"v"`
	Room         string        `json:"room"`
	Identity     string        `json:"identity"`
	Resume       string        `json:"resume"`
	Resumed      bool          `json:"resumed"`
	ICEServers   []ICEServer   `json:"ice_servers"`
	Participants []Participant `json:"participants"`
	Limits       Limits        `json:"limits"`
}

// ICEServer is a STUN or TURN server, as RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Limits tell the client the server's limits.
type Limits struct {
	MaxMessageBytes int `json:"max_message_bytes"`
	MaxDataBytes    int `json:"max_data_bytes"`
	ResumeWindowMS  int `json:"resume_window_ms"`
	ICETimeoutMS    int `json:"ice_timeout_ms"`
	PingIntervalMS  int `json:"ping_interval_ms"`
}

// Participant is another visible participant.
type Participant struct {
	Identity string  `json:"identity"`
	Name     string  `json:"name"`
	Tracks   []Track `json:"tracks"`
}

// Track is a published track as the others see it.
type Track struct {
	ID          string              `json:"id"`
	Participant string              `json:"participant"`
	Kind        signaling.TrackKind `json:"kind"`
	Muted       bool                `json:"muted"`
}

// Offer carries an SDP offer. A server offer maps each sending m-line's mid to the track it
// carries.
type Offer struct {
	Type   Type             `json:"type"`
	SDP    string           `json:"sdp"`
	Tracks map[string]Track `json:"tracks,omitempty"`
}

// Answer carries an SDP answer.
type Answer struct {
	Type Type   `json:"type"`
	SDP  string `json:"sdp"`
}

// Candidate carries one trickled ICE candidate (RTCIceCandidateInit); a null candidate means
// the sender has gathered all of its candidates.
type Candidate struct {
	Type      Type           `json:"type"`
	Candidate *CandidateInit `json:"candidate"`
}

// CandidateInit is RTCIceCandidateInit.
type CandidateInit struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// RestartICE asks the server to send an ICE-restart offer.
type RestartICE struct {
	Type Type `json:"type"`
}

// Leave ends the session for good.
type Leave struct {
	Type Type `json:"type"`
}

// Data is a data message: from a client with To (empty: everyone), to a client with From.
type Data struct {
	Type    Type     `json:"type"`
	From    string   `json:"from,omitempty"`
	To      []string `json:"to,omitempty"`
	Payload string   `json:"payload"`
}

// ParticipantJoined announces a visible participant.
type ParticipantJoined struct {
	Type        Type        `json:"type"`
	Participant Participant `json:"participant"`
}

// ParticipantLeft announces that a visible participant left.
type ParticipantLeft struct {
	Type     Type   `json:"type"`
	Identity string `json:"identity"`
	Reason   string `json:"reason"`
}

// TrackPublished announces a track the receiver may subscribe to (it will arrive in an offer).
type TrackPublished struct {
	Type  Type  `json:"type"`
	Track Track `json:"track"`
}

// TrackUnpublished announces that a track ended.
type TrackUnpublished struct {
	Type    Type   `json:"type"`
	TrackID string `json:"track_id"`
}

// Muted tells a client that the server stopped (or resumed) forwarding its tracks of Kind, or
// tells the others that a track was muted.
type Muted struct {
	Type    Type                `json:"type"`
	TrackID string              `json:"track_id,omitempty"`
	Kind    signaling.TrackKind `json:"kind"`
	Muted   bool                `json:"muted"`
}

// Error reports a refused message or a failure. Fatal errors are followed by a close.
type Error struct {
	Type    Type   `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Fatal   bool   `json:"fatal"`
}

// Bye is the server's last message before it closes the session for good.
type Bye struct {
	Type    Type   `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// MessageType implements Message.
func (Join) MessageType() Type { return TypeJoin }

// MessageType implements Message.
func (Joined) MessageType() Type { return TypeJoined }

// MessageType implements Message.
func (Offer) MessageType() Type { return TypeOffer }

// MessageType implements Message.
func (Answer) MessageType() Type { return TypeAnswer }

// MessageType implements Message.
func (Candidate) MessageType() Type { return TypeCandidate }

// MessageType implements Message.
func (RestartICE) MessageType() Type { return TypeRestartICE }

// MessageType implements Message.
func (Leave) MessageType() Type { return TypeLeave }

// MessageType implements Message.
func (Data) MessageType() Type { return TypeData }

// MessageType implements Message.
func (ParticipantJoined) MessageType() Type { return TypeParticipantJoined }

// MessageType implements Message.
func (ParticipantLeft) MessageType() Type { return TypeParticipantLeft }

// MessageType implements Message.
func (TrackPublished) MessageType() Type { return TypeTrackPublished }

// MessageType implements Message.
func (TrackUnpublished) MessageType() Type { return TypeTrackUnpublished }

// MessageType implements Message.
func (Muted) MessageType() Type { return TypeMuted }

// MessageType implements Message.
func (Error) MessageType() Type { return TypeError }

// MessageType implements Message.
func (Bye) MessageType() Type { return TypeBye }

package recorder

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// ManifestVersion is the version of the manifest format this package writes.
const ManifestVersion = 1

// ManifestName is the manifest's file name, in the spool and in the archive.
const ManifestName = "manifest.json"

// Manifest (录像清单) describes one recording: who was in the room, which file holds which
// participant's track over which stretch of wall-clock time, and every gap in it. It is
// stored beside the files, and its SHA-256 goes into the ledger with theirs.
//
// All times are the server's (the injected clock), in UTC.
type Manifest struct {
	Version   int        `json:"version"`
	Recording kaiping.ID `json:"recording"`
	Room      string     `json:"room"`
	// Backend is the media backend recorded ("embedded" or "livekit").
	Backend string `json:"backend"`
	// Identity is the recorder's own (hidden) identity in the room.
	Identity  string    `json:"recorder_identity"`
	StartedAt time.Time `json:"started_at"`
	// EndedAt and EndReason are set once the recording ended: "stopped" (StopRecording or
	// CloseRoom), a bye reason of the server ("room_closed", "removed", "server_closed",
	// "connection_lost", ...), "recorder_closed", or "recorder_crashed" for a recording whose
	// recorder died and that Recover stored from its last checkpoint.
	EndedAt   time.Time `json:"ended_at,omitzero"`
	EndReason string    `json:"end_reason,omitempty"`
	// Final is false in the checkpoints written while recording; the stored manifest is final
	// and names every file's digest.
	Final bool `json:"final"`
	// CheckpointAt is when this manifest was written.
	CheckpointAt time.Time `json:"checkpoint_at"`
	// GapThresholdMS is the silence, or RTP timestamp jump, beyond which a track gap is
	// recorded; GapSequenceThreshold the RTP sequence jump (packets lost at once).
	GapThresholdMS       int64 `json:"gap_threshold_ms"`
	GapSequenceThreshold int   `json:"gap_sequence_threshold"`

	Participants []ManifestParticipant `json:"participants"`
	Files        []ManifestFile        `json:"files"`
	Unrecorded   []UnrecordedTrack     `json:"unrecorded,omitempty"`
	// Gaps lists every gap, in the order found: a track's media stopping and resuming, a
	// participant leaving and coming back, the recorder's own connection dropping.
	Gaps []Gap `json:"gaps"`
	// GapsOmitted counts gaps beyond the manifest's limit (a pathological stream); they were
	// found but not listed one by one.
	GapsOmitted int `json:"gaps_omitted,omitempty"`
}

// ManifestParticipant is someone whose presence the recorder saw.
type ManifestParticipant struct {
	Identity string `json:"identity"`
	Name     string `json:"name"`
	// Sessions are the stretches during which the participant was in the room, in order. A
	// participant present when the recording started has a first session starting then.
	Sessions []Session `json:"sessions"`
}

// Session is one stretch of a participant's presence.
type Session struct {
	From time.Time `json:"from"`
	// Until and LeftReason are set when the participant left during the recording (the
	// reasons of PROTOCOL.md's bye: left, removed, replaced, connection_lost, ...).
	Until      time.Time `json:"until,omitzero"`
	LeftReason string    `json:"left_reason,omitempty"`
}

// ManifestFile is one recorded track: Opus in Ogg or VP8 in IVF, exactly as received.
type ManifestFile struct {
	// Name is the file's name in the recording; Key its object key in the archive.
	Name            string              `json:"name"`
	Key             string              `json:"key"`
	Participant     string              `json:"participant"`
	ParticipantName string              `json:"participant_name"`
	Kind            signaling.TrackKind `json:"kind"`
	TrackID         string              `json:"track_id"`
	Codec           string              `json:"codec"`
	ClockRate       uint32              `json:"clock_rate"`
	// Width and Height are the video size of the first key frame.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// StartedAt is the first packet's arrival, LastPacketAt the last one's, EndedAt when the
	// track ended (unpublished, or the recording ended).
	StartedAt    time.Time `json:"started_at,omitzero"`
	LastPacketAt time.Time `json:"last_packet_at,omitzero"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	// Packets counts RTP packets received, Lost those that never arrived (sequence numbers
	// skipped), Late those that came too late to be put back in order, or twice.
	Packets uint64 `json:"packets"`
	Lost    uint64 `json:"lost_packets"`
	Late    uint64 `json:"late_packets"`
	// Frames counts what was written: VP8 frames, or Opus packets. DroppedFrames counts video
	// frames left out because packets of theirs were lost.
	Frames        uint64 `json:"frames"`
	DroppedFrames uint64 `json:"dropped_frames,omitempty"`
	// Size and SHA256 (lowercase hex) describe the file's bytes; set in the final manifest.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// WriteError is set when writing the file failed (a full disk): the file ends where the
	// failure happened, while the counters go on to the track's end.
	WriteError string `json:"write_error,omitempty"`
}

// UnrecordedTrack is a track the recorder received but could not write (a codec other than
// Opus and VP8, which only the LiveKit backend lets through), or whose file could not be
// opened. It is listed so that the recording says what it lacks.
type UnrecordedTrack struct {
	Participant string              `json:"participant"`
	Kind        signaling.TrackKind `json:"kind"`
	TrackID     string              `json:"track_id"`
	Codec       string              `json:"codec"`
	At          time.Time           `json:"at"`
	Reason      string              `json:"reason"`
}

// Gap is a stretch of missing media. Participant and File are empty for a gap of the whole
// recording (the recorder's own connection); File is empty for a participant's absence.
type Gap struct {
	Participant string    `json:"participant,omitempty"`
	File        string    `json:"file,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Reason      string    `json:"reason"`
	// Detail qualifies the reason (for participant_absent: why the participant left).
	Detail string `json:"detail,omitempty"`
	// LostPackets is the RTP sequence numbers skipped across the gap; RTPGapMS the jump of
	// the RTP timestamp, in milliseconds (negative if it went backwards).
	LostPackets uint64 `json:"lost_packets,omitempty"`
	RTPGapMS    int64  `json:"rtp_gap_ms,omitempty"`
}

// The gap reasons.
const (
	// GapMediaInterrupted: no packets for longer than the threshold, the publisher's own
	// clock moving on meanwhile (its network dropped, or it stopped sending).
	GapMediaInterrupted = "media_interrupted"
	// GapMuted: the host muted the track (the server stopped forwarding it).
	GapMuted = "muted"
	// GapRecorderReconnecting: the recorder's own connection was down.
	GapRecorderReconnecting = "recorder_reconnecting"
	// GapTimestampJump: the RTP timestamp jumped (forwards or back) beyond the threshold
	// while packets kept coming.
	GapTimestampJump = "rtp_timestamp_jump"
	// GapSequenceJump: more packets than the threshold lost at once.
	GapSequenceJump = "rtp_sequence_jump"
	// GapParticipantAbsent: the participant left the room and joined again later.
	GapParticipantAbsent = "participant_absent"
)

// maxGaps bounds the gaps a manifest lists, so that memory stays flat whatever a publisher
// sends; beyond it they are counted (GapsOmitted).
const maxGaps = 10000

// ReadManifest reads the manifest of the recording spooled in dir.
func ReadManifest(dir string) (Manifest, []byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return Manifest{}, nil, errManifest("%v", err)
	}
	m, err := ParseManifest(raw)
	return m, raw, err
}

// ParseManifest decodes a manifest.
func ParseManifest(raw []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Manifest{}, errManifest("%v", err)
	}
	if m.Version != ManifestVersion || m.Recording == "" || signaling.ValidRoomName(m.Room) != nil {
		return Manifest{}, errManifest("版本、录像编号或房间名称无效")
	}
	for _, f := range m.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == ManifestName {
			return Manifest{}, errManifest("文件名 %q 无效", f.Name)
		}
	}
	return m, nil
}

// writeManifest replaces dir's manifest atomically (a crash leaves the old one or the new
// one, never half of either) and returns the bytes written.
func writeManifest(dir string, m Manifest) ([]byte, error) {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	raw = append(raw, '\n')
	tmp := filepath.Join(dir, ManifestName+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return raw, os.Rename(tmp, filepath.Join(dir, ManifestName))
}

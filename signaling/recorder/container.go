package recorder

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// spoolBuffer is the write buffer of one spooled file: a few hundred milliseconds of video,
// so that a track costs a write call every few frames, not two per frame.
const spoolBuffer = 32 << 10

// spoolFile is a buffered file that pion's writers see as an io.WriteSeeker (the IVF writer
// seeks back to fill in its frame count when it closes).
type spoolFile struct {
	f *os.File
	w *bufio.Writer
	n int64 // bytes written
}

func createSpoolFile(path string) (*spoolFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &spoolFile{f: f, w: bufio.NewWriterSize(f, spoolBuffer)}, nil
}

func (s *spoolFile) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *spoolFile) Seek(offset int64, whence int) (int64, error) {
	if err := s.w.Flush(); err != nil {
		return 0, err
	}
	return s.f.Seek(offset, whence)
}

// flush hands what is buffered to the operating system: at each checkpoint, so a crash
// loses at most a checkpoint interval of media.
func (s *spoolFile) flush() error { return s.w.Flush() }

// Close flushes, syncs and closes the file.
func (s *spoolFile) Close() error {
	err := s.w.Flush()
	if serr := s.f.Sync(); err == nil {
		err = serr
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// container writes one track's packets, in sequence order, into its file.
type container interface {
	// write adds an in-order packet (read only during the call).
	write(p *rtp.Packet) error
	// flush pushes buffered bytes to the file.
	flush() error
	// close finishes the file.
	close() error
	// counts reports frames written and dropped, and the video size seen.
	counts() (frames, dropped uint64, width, height int)
}

// fileExtension is the extension of the file a codec is recorded in; "" if the codec is
// not recorded.
func fileExtension(mime string) string {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeOpus):
		return "ogg"
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return "ivf"
	}
	return ""
}

// contentType is the archived object's content type for a file name.
func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".ogg"):
		return "audio/ogg"
	case strings.HasSuffix(name, ".ivf"):
		return "video/x-ivf"
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}

// newContainer opens the container for info's codec at path. keyframe asks the publisher
// for a key frame (video only).
func newContainer(path string, info TrackInfo, keyframe func()) (container, error) {
	f, err := createSpoolFile(path)
	if err != nil {
		return nil, err
	}
	switch fileExtension(info.MimeType) {
	case "ogg":
		channels := info.Channels
		if channels == 0 {
			channels = 2
		}
		w, err := oggwriter.NewWith(f, info.ClockRate, channels)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &oggTrack{f: f, w: w}, nil
	case "ivf":
		return &vp8Track{f: f, frame: []byte{vp8Start}, keyframe: keyframe}, nil
	}
	f.Close()
	return nil, fmt.Errorf("recorder: codec %s is not recorded", info.MimeType)
}

// oggTrack is Opus in Ogg, one RTP packet per page. The granule position follows the RTP
// timestamp, so silence the publisher did not send stays silence on playback.
type oggTrack struct {
	f      *spoolFile
	w      *oggwriter.OggWriter
	frames uint64
}

func (o *oggTrack) write(p *rtp.Packet) error {
	if len(p.Payload) == 0 {
		return nil
	}
	o.frames++
	return o.w.WriteRTP(p)
}

func (o *oggTrack) flush() error { return o.f.flush() }

// close closes the file through the writer (which owns it once it is an io.Closer).
func (o *oggTrack) close() error { return o.w.Close() }

func (o *oggTrack) counts() (uint64, uint64, int, int) { return o.frames, 0, 0, 0 }

// vp8Start is a one-byte VP8 payload descriptor with only S set: a whole frame handed to
// the IVF writer as one packet starts with it.
const vp8Start = 0x10

// vp8Track is VP8 in IVF. It assembles each frame from its packets itself and hands the IVF
// writer only complete frames: pion's writer would glue the remains of a frame that lost a
// packet onto the next one. A frame missing packets is dropped and a key frame requested;
// the file starts at the first key frame, whose size goes into the IVF header.
type vp8Track struct {
	f        *spoolFile
	w        *ivfwriter.IVFWriter // nil until the first key frame
	keyframe func()

	frame   []byte // vp8Start, then the frame so far
	ts      uint32
	lastSeq uint16
	inFrame bool

	frames, dropped uint64
	width, height   int
}

func (v *vp8Track) write(p *rtp.Packet) error {
	var d codecs.VP8Packet
	payload, err := d.Unmarshal(p.Payload)
	if err != nil {
		return nil // not VP8 (or padding): nothing to record
	}
	if v.inFrame && (p.Timestamp != v.ts || p.SequenceNumber != v.lastSeq+1) {
		v.drop() // the rest of the previous frame never came
	}
	if !v.inFrame {
		if d.S != 1 || d.PID != 0 {
			return nil // the middle of a frame whose start was lost
		}
		v.frame, v.ts, v.inFrame = v.frame[:1], p.Timestamp, true
	}
	v.frame = append(v.frame, payload...)
	v.lastSeq = p.SequenceNumber
	if !p.Marker {
		return nil
	}
	v.inFrame = false
	return v.writeFrame()
}

func (v *vp8Track) drop() {
	v.inFrame = false
	v.dropped++
	v.keyframe()
}

func (v *vp8Track) writeFrame() error {
	body := v.frame[1:]
	if len(body) == 0 {
		return nil
	}
	if v.w == nil {
		w, h, ok := vp8KeyframeSize(body)
		if !ok {
			v.dropped++ // nothing decodes before a key frame
			v.keyframe()
			return nil
		}
		if err := v.open(w, h); err != nil {
			return err
		}
	}
	v.frames++
	return v.w.WriteRTP(&rtp.Packet{Header: rtp.Header{Timestamp: v.ts, Marker: true}, Payload: v.frame})
}

// open writes the IVF header: the 90 kHz RTP clock is the time base, so frame times are
// exactly the publisher's timestamps (from the first frame) and silences keep their length.
func (v *vp8Track) open(width, height int) error {
	w, err := ivfwriter.NewWith(v.f, ivfwriter.WithCodec(webrtc.MimeTypeVP8),
		ivfwriter.WithWidthAndHeight(uint16(width), uint16(height)),
		ivfwriter.WithFrameRate(1, 90000), ivfwriter.WithDirectPTS())
	if err != nil {
		return err
	}
	v.w, v.width, v.height = w, width, height
	return nil
}

func (v *vp8Track) flush() error { return v.f.flush() }

// close finishes the file; a track that never sent a key frame still gets a valid IVF
// header (with no frames), so every file in a recording parses.
func (v *vp8Track) close() error {
	if v.inFrame {
		v.inFrame = false
		v.dropped++
	}
	if v.w == nil {
		if err := v.open(0, 0); err != nil {
			v.f.Close()
			return err
		}
	}
	return v.w.Close()
}

func (v *vp8Track) counts() (uint64, uint64, int, int) {
	return v.frames, v.dropped, v.width, v.height
}

// vp8KeyframeSize reads the size from a VP8 key frame's header (RFC 6386 §9.1); ok is false
// for an inter frame or a malformed one.
func vp8KeyframeSize(frame []byte) (width, height int, ok bool) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint16(frame[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(frame[8:]) & 0x3fff), true
}

var _ io.WriteSeeker = (*spoolFile)(nil)

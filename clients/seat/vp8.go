package seat

import "encoding/binary"

// Synthetic VP8. There is no video encoder on these machines, so the seat agent writes its
// own VP8 bitstream (RFC 6386): every frame is a key frame in which every macroblock uses DC
// prediction and carries no residual, which decodes to a uniform mid-grey picture. The frames
// are valid VP8 that any decoder (libvpx, browsers) accepts, each one independently
// decodable; they are padded with bytes after the last partition, which decoders ignore, to
// reach the requested bitrate, so that the load on the network and the SFU is realistic.

// vp8Frame returns one key frame of width×height pixels, at least size bytes long.
func vp8Frame(width, height, size int) []byte {
	mbw, mbh := (width+15)/16, (height+15)/16
	e := newBoolEncoder()
	e.literal(0, 1)  // color space: YUV
	e.literal(0, 1)  // clamping required
	e.literal(0, 1)  // no segmentation
	e.literal(0, 1)  // normal loop filter
	e.literal(0, 6)  // loop filter level 0: no filtering
	e.literal(0, 3)  // sharpness
	e.literal(0, 1)  // no loop filter deltas
	e.literal(0, 2)  // one DCT token partition
	e.literal(40, 7) // base quantizer index
	for i := 0; i < 5; i++ {
		e.literal(0, 1) // no quantizer deltas
	}
	e.literal(0, 1) // refresh_entropy_probs: 0, probabilities of this frame are not kept
	for i := range coeffUpdateProbs {
		for j := range coeffUpdateProbs[i] {
			for k := range coeffUpdateProbs[i][j] {
				for _, p := range coeffUpdateProbs[i][j][k] {
					e.put(p, false) // keep the default token probabilities
				}
			}
		}
	}
	e.literal(1, 1) // mb_no_coeff_skip: macroblocks say whether they carry coefficients
	const probSkipFalse = 1
	e.literal(probSkipFalse, 8)
	for n := 0; n < mbw*mbh; n++ {
		e.put(probSkipFalse, true) // no coefficients
		e.put(145, true)           // 16x16 luma prediction ...
		e.put(156, false)
		e.put(163, false) // ... DC_PRED
		e.put(142, false) // chroma DC_PRED
	}
	first := e.flush()

	out := make([]byte, 0, max(size, 10+len(first)+2))
	tag := uint32(0) | 0<<1 | 1<<4 | uint32(len(first))<<5 // key frame, version 0, shown
	out = append(out, byte(tag), byte(tag>>8), byte(tag>>16))
	out = append(out, 0x9d, 0x01, 0x2a)
	out = binary.LittleEndian.AppendUint16(out, uint16(width))
	out = binary.LittleEndian.AppendUint16(out, uint16(height))
	out = append(out, first...)
	out = append(out, 0, 0) // the token partition: nothing to read
	for len(out) < size {
		out = append(out, 0)
	}
	return out
}

// isVP8Keyframe reports whether a VP8 frame (not an RTP payload) is a key frame.
func isVP8Keyframe(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 }

// opusSilence is one 20 ms Opus packet (CELT, fullband, mono) that decodes to silence.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

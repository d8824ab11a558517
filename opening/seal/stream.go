package seal

import (
	"bufio"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The payload is a STREAM (Hoang, Reyhanitabar, Rogaway, Vizár 2015) of AEAD chunks, as in
// age: every chunk but the last holds exactly ChunkSize plaintext bytes; each is sealed with
// a nonce made of its index and a last-chunk flag, so chunks cannot be reordered, dropped
// from the end, or moved to another envelope (whose payload key differs).
const (
	// ChunkSize is the plaintext length of every chunk but the last.
	ChunkSize = 64 << 10
	// TagSize is the GCM tag appended to every chunk.
	TagSize = 16
	// encChunkSize is a full chunk as stored.
	encChunkSize = ChunkSize + TagSize
)

// readBufferSize is the buffer between the caller's reader and the chunk buffers. It only
// has to hold the one byte readPiece peeks at (and a header line or two): io.ReadFull into a
// chunk buffer copies what the buffer holds and reads the rest straight into the chunk, so
// a small buffer saves copying every chunk twice.
const readBufferSize = 4096

// chunkNonce is the 12-byte GCM nonce of chunk index: an 11-byte big-endian counter, then
// 0x01 for the last chunk and 0x00 for any other.
func chunkNonce(index uint64, last bool) [12]byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[3:11], index)
	if last {
		n[11] = 1
	}
	return n
}

// sealChunk encrypts chunk index in place: in must have room for the tag.
func sealChunk(aead cipher.AEAD, index uint64, last bool, in []byte) []byte {
	nonce := chunkNonce(index, last)
	return aead.Seal(in[:0], nonce[:], in, nil)
}

// openChunk decrypts chunk index from in into out (which must not overlap in: a failed GCM
// open wipes its output, and a failure is retried with the other flag to say what went
// wrong). final says whether in is the last piece of the payload. offset is where in
// starts in the envelope, for error messages.
func openChunk(aead cipher.AEAD, index uint64, final bool, in, out []byte, offset int64) ([]byte, error) {
	open := func(last bool) ([]byte, error) {
		nonce := chunkNonce(index, last)
		return aead.Open(out[:0], nonce[:], in, nil)
	}
	if !final {
		// A full chunk with more data after it must be a middle chunk.
		if pt, err := open(false); err == nil {
			return pt, nil
		}
		if _, err := open(true); err == nil {
			return nil, errTrailingData(index, offset)
		}
		return nil, errChunkAuth(index, offset)
	}
	if len(in) < TagSize {
		// Nothing, or less than a tag: the payload stops inside chunk index.
		return nil, errTruncated(index, offset)
	}
	pt, err := open(true)
	if err == nil {
		if len(pt) == 0 && index > 0 {
			// Only an empty plaintext is sealed as one empty chunk: a longer one never
			// ends with an empty chunk, so each plaintext has one encoding.
			return nil, errEmptyFinalChunk(index, offset)
		}
		return pt, nil
	}
	if len(in) == encChunkSize {
		if _, err := open(false); err == nil {
			// An authentic middle chunk at the end: the chunks after it are missing.
			return nil, errTruncated(index+1, offset+encChunkSize)
		}
	}
	return nil, errChunkAuth(index, offset)
}

// readPiece fills buf from src and tells whether it is the last piece: either buf is not
// full, or src has nothing after it. Looking ahead one byte is how the sealer knows which
// chunk to flag as last, and how the opener knows which chunk must carry the flag.
func readPiece(src *bufio.Reader, buf []byte) (n int, final bool, err error) {
	n, err = io.ReadFull(src, buf)
	switch {
	case err == nil:
		if _, perr := src.Peek(1); perr != nil {
			if errors.Is(perr, io.EOF) {
				return n, true, nil
			}
			return n, false, perr
		}
		return n, false, nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return n, true, nil
	}
	return n, false, err
}

// readErr wraps an error from the caller's reader.
func readErr(op string, err error) error {
	return fmt.Errorf("%s: read: %w", op, err)
}

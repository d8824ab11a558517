package seal

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// fiveChunks is an envelope of four full chunks and a short fifth, with its file key and
// header size.
func fiveChunks(t *testing.T, suite Suite) (env, key []byte, off int) {
	t.Helper()
	fx := mustFixtures(t)
	env = mustSeal(t, pattern(4*ChunkSize+1000), testBinding(), []*party{fx["p256"]}, WithSuite(suite))
	h, _, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	return env, mustFileKey(t, env, fx["p256"]), int(h.Size())
}

// chunkAt returns the bounds of stored chunk i of an envelope whose payload starts at off.
func chunkAt(env []byte, off, i int) (start, end int) {
	start = off + i*encChunkSize
	return start, min(start+encChunkSize, len(env))
}

func TestPayloadTampering(t *testing.T) {
	for _, suite := range []Suite{AES256GCM, SM4GCM} {
		t.Run(string(suite), func(t *testing.T) {
			env, key, off := fiveChunks(t, suite)
			other, _, _ := fiveChunks(t, suite) // same plaintext, another file key and nonce
			clone := func() []byte { return bytes.Clone(env) }
			chunk := func(e []byte, i int) []byte {
				s, end := chunkAt(e, off, i)
				return e[s:end]
			}
			tests := []struct {
				name   string
				mangle func() []byte
				code   string
				index  uint64
			}{
				{"flipped bit in chunk 2", func() []byte {
					e := clone()
					chunk(e, 2)[100] ^= 0x01
					return e
				}, CodeChunkAuth, 2},
				{"flipped bit in last tag", func() []byte {
					e := clone()
					e[len(e)-1] ^= 0x80
					return e
				}, CodeChunkAuth, 4},
				{"chunks 1 and 2 swapped", func() []byte {
					e := clone()
					c1, c2 := bytes.Clone(chunk(e, 1)), bytes.Clone(chunk(e, 2))
					copy(chunk(e, 1), c2)
					copy(chunk(e, 2), c1)
					return e
				}, CodeChunkAuth, 1},
				{"chunk 1 repeated over chunk 2", func() []byte {
					e := clone()
					copy(chunk(e, 2), chunk(e, 1))
					return e
				}, CodeChunkAuth, 2},
				{"chunk 3 from another envelope", func() []byte {
					e := clone()
					copy(chunk(e, 3), chunk(other, 3))
					return e
				}, CodeChunkAuth, 3},
				{"payload of another envelope", func() []byte {
					return append(clone()[:off], other[off:]...)
				}, CodeChunkAuth, 0},
				{"truncated after chunk 2", func() []byte {
					_, end := chunkAt(env, off, 2)
					return clone()[:end]
				}, CodeTruncated, 3},
				{"truncated after chunk 0", func() []byte {
					_, end := chunkAt(env, off, 0)
					return clone()[:end]
				}, CodeTruncated, 1},
				{"truncated inside chunk 3", func() []byte {
					s, _ := chunkAt(env, off, 3)
					return clone()[:s+500]
				}, CodeChunkAuth, 3},
				{"truncated to less than a tag of chunk 3", func() []byte {
					s, _ := chunkAt(env, off, 3)
					return clone()[:s+TagSize-1]
				}, CodeTruncated, 3},
				{"header only", func() []byte { return clone()[:off] }, CodeTruncated, 0},
				{"last chunk dropped, chunk 3 kept", func() []byte {
					s, _ := chunkAt(env, off, 4)
					return clone()[:s]
				}, CodeTruncated, 4},
				{"bytes appended after a short final chunk", func() []byte {
					return append(clone(), "more"...)
				}, CodeChunkAuth, 4},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := openBothWays(t, tt.mangle(), key)
					wantChunk(t, err, tt.code, tt.index)
				})
			}
		})
	}
}

// TestTrailingData: after a full final chunk, anything more is trailing data, named at the
// final chunk.
func TestTrailingData(t *testing.T) {
	fx := mustFixtures(t)
	env := mustSeal(t, pattern(2*ChunkSize), testBinding(), []*party{fx["rsa"]})
	key := mustFileKey(t, env, fx["rsa"])
	for _, extra := range [][]byte{{0}, bytes.Repeat([]byte("x"), encChunkSize+5)} {
		_, err := openBothWays(t, append(bytes.Clone(env), extra...), key)
		wantChunk(t, err, CodeTrailingData, 1)
	}
}

// TestEmptyFinalChunk: a plaintext that fills whole chunks ends with a full chunk, never an
// extra empty one; a payload that does is refused although every chunk is authentic.
func TestEmptyFinalChunk(t *testing.T) {
	fx := mustFixtures(t)
	plain := pattern(ChunkSize)
	env := mustSeal(t, plain, testBinding(), []*party{fx["p256"]})
	key := mustFileKey(t, env, fx["p256"])
	h, off, _ := ParseHeader(bytes.NewReader(env))
	keys, _ := deriveKeys(h.Suite, key, h.Nonce)
	aead, _ := h.Suite.newAEAD(keys.payload)
	c0 := sealChunk(aead, 0, false, append(bytes.Clone(plain), make([]byte, TagSize)...)[:ChunkSize])
	c1 := sealChunk(aead, 1, true, make([]byte, 0, TagSize))
	crafted := append(append(bytes.Clone(env[:off]), c0...), c1...)
	_, err := openBothWays(t, crafted, key)
	wantChunk(t, err, CodePayloadMalformed, 1)
}

// TestWrongKeyAndAlteredHeader: a wrong file key is told apart from a right key on an
// altered header.
func TestWrongKeyAndAlteredHeader(t *testing.T) {
	fx := mustFixtures(t)
	env := mustSeal(t, pattern(100), testBinding(), []*party{fx["p256"], fx["rescue"]})
	key := mustFileKey(t, env, fx["p256"])
	h, _, _ := ParseHeader(bytes.NewReader(env))
	replace := func(old, new string) []byte {
		if !bytes.Contains(env, []byte(old)) {
			t.Fatalf("no %q in the header", old)
		}
		return bytes.Replace(bytes.Clone(env), []byte(old), []byte(new), 1)
	}
	randomKey := make([]byte, FileKeySize)
	rand.Read(randomKey)
	nonce := b64.EncodeToString(h.Nonce[:])
	otherNonce := []byte(nonce)
	otherNonce[0] = 'A'
	if nonce[0] == 'A' {
		otherNonce[0] = 'B'
	}
	tests := []struct {
		name string
		env  []byte
		key  []byte
		code string
	}{
		{"random key", env, randomKey, CodeWrongKey},
		{"short key", env, key[:16], CodeWrongKey},
		{"kind relabelled", replace("kind technical", "kind commercial"), key, CodeHeaderMAC},
		{"bidder relabelled", replace("bidder bidder-42", "bidder bidder-43"), key, CodeHeaderMAC},
		{"nonce changed", replace("nonce "+nonce, "nonce "+string(otherNonce)), key, CodeHeaderMAC},
		{"stanza dropped", dropStanza(t, env, TypeRescueP256), key, CodeHeaderMAC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(bytes.NewReader(tt.env), tt.key)
			wantCode(t, err, tt.code)
			_, err = Verify(bytes.NewReader(tt.env), tt.key)
			wantCode(t, err, tt.code)
		})
	}
}

// dropStanza removes the stanza of type typ from an envelope's header.
func dropStanza(t *testing.T, env []byte, typ string) []byte {
	t.Helper()
	start := bytes.Index(env, []byte("\n-> "+typ+" "))
	if start < 0 {
		t.Fatalf("no %s stanza", typ)
	}
	start++
	end := start + bytes.Index(env[start:], []byte("\n-> "))
	if end < start {
		end = start + bytes.Index(env[start:], []byte("\n---"))
	}
	return append(bytes.Clone(env[:start]), env[end+1:]...)
}

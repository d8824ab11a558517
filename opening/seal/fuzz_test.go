package seal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

// The fuzz targets run as ordinary tests over their seed corpora in testdata/fuzz/<name>/
// (written by go test -update); go test -fuzz=FuzzParseHeader explores further.

// FuzzParseHeader: the parser never panics, refuses with a seal.* code, and anything it
// accepts re-encodes to exactly the bytes it read (one encoding per header, which is what
// makes the MAC meaningful).
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		h, off, err := ParseHeader(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(kaiping.CodeOf(err), "seal.") {
				t.Fatalf("error without a seal code: %v", err)
			}
			return
		}
		if off > int64(len(data)) || !bytes.Equal(h.Bytes(), data[:off]) {
			t.Fatalf("accepted header does not re-encode to its %d bytes", off)
		}
		again, off2, err := ParseHeader(bytes.NewReader(h.Bytes()))
		if err != nil || off2 != off || !bytes.Equal(again.Bytes(), h.Bytes()) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzChunkReader: the payload reader, given the header and file key of a test vector and
// any payload bytes, never panics, refuses with a seal.* code, and its sequential (Read)
// and parallel (WriteTo) paths agree on the plaintext or the error and chunk.
func FuzzChunkReader(f *testing.F) {
	hdr, key := fuzzVector(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		env := append(bytes.Clone(hdr), payload...)
		_, err := openBothWays(t, env, key)
		if err != nil && !strings.HasPrefix(kaiping.CodeOf(err), "seal.") {
			t.Fatalf("error without a seal code: %v", err)
		}
	})
}

// fuzzVector is the header and file key FuzzChunkReader opens payloads with.
func fuzzVector(tb testing.TB) (hdr, key []byte) {
	tb.Helper()
	base := filepath.Join(vectorDir, "aes256gcm-p256-rescue")
	var rec vectorRecord
	if err := json.Unmarshal(mustRead(tb, base+".json"), &rec); err != nil {
		tb.Fatal(err)
	}
	env := mustRead(tb, base+".seal")
	return env[:rec.HeaderSize], mustHex(tb, rec.FileKey)
}

// TestFuzzSeeds writes the seed corpora under -update, and otherwise checks they are there.
func TestFuzzSeeds(t *testing.T) {
	seeds := map[string]map[string][]byte{"FuzzParseHeader": {}, "FuzzChunkReader": {}}
	for _, spec := range vectorSpecs {
		env := mustRead(t, filepath.Join(vectorDir, spec.name+".seal"))
		_, off, err := ParseHeader(bytes.NewReader(env))
		if err != nil {
			t.Fatal(err)
		}
		seeds["FuzzParseHeader"]["header-"+spec.name] = env[:off]
	}
	hdr, _ := fuzzVector(t)
	seeds["FuzzParseHeader"]["not-an-envelope"] = []byte("%PDF-1.7\n")
	seeds["FuzzParseHeader"]["cut-header"] = hdr[:len(hdr)/2]

	env := mustRead(t, filepath.Join(vectorDir, "aes256gcm-p256-rescue.seal"))
	payload := env[len(hdr):]
	flipped := bytes.Clone(payload)
	flipped[3] ^= 1
	seeds["FuzzChunkReader"]["valid"] = payload
	seeds["FuzzChunkReader"]["empty"] = []byte{}
	seeds["FuzzChunkReader"]["flipped"] = flipped
	seeds["FuzzChunkReader"]["short"] = payload[:TagSize-1]
	seeds["FuzzChunkReader"]["trailing"] = append(bytes.Clone(payload), 0)

	for target, files := range seeds {
		for name, data := range files {
			path := filepath.Join("testdata", "fuzz", target, name)
			text := []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data))
			if *update {
				mustWrite(t, path, text)
			}
			if got := mustRead(t, path); !bytes.Equal(got, text) {
				t.Errorf("%s is stale; run go test -update", path)
			}
		}
	}
}

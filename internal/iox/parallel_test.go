package iox

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
)

// TestParallelWriter: both writers see exactly the stream, in order.
func TestParallelWriter(t *testing.T) {
	data := bytes.Repeat([]byte("开评 kaiping "), 100_000)
	var a bytes.Buffer
	h := sha256.New()
	n, err := io.CopyBuffer(ParallelWriter(&a, h), bytes.NewReader(data), make([]byte, 4096))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("copied %d, %v", n, err)
	}
	if !bytes.Equal(a.Bytes(), data) {
		t.Error("first writer saw other bytes")
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("second writer saw other bytes")
	}
}

package bidder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/opening/seal"
)

// bidderKeys is a bidder's certificate and key, as sealing and Check use them.
type bidderKeys struct {
	issued *devpki.Issued
	id     seal.Identity
}

func mustBidderKeys(tb testing.TB, alg devpki.Algorithm) bidderKeys {
	tb.Helper()
	ca, err := devpki.NewCA(alg, "测试 CA", time.Now().Add(-time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	issued, err := ca.Issue(alg, "甲公司", "甲公司", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	id, err := seal.NewCertIdentity(issued.Cert, issued.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return bidderKeys{issued, id}
}

func (k bidderKeys) seal(tb testing.TB, plain []byte, suite seal.Suite) []byte {
	tb.Helper()
	r, err := seal.NewCertRecipient(k.issued.Cert)
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	b := seal.Binding{Tender: "t1", Section: "s1", Bidder: "b1", Kind: seal.Technical}
	if _, err := seal.Seal(&out, bytes.NewReader(plain), b, []seal.Recipient{r}, seal.WithSuite(suite)); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// TestCheck: a genuine envelope passes with its size and digests (SM3 in national mode
// only); a plain file, one sealed to someone else, a genuine header over plaintext, and a
// cut or extended file are each refused with a Chinese message that says nothing was
// uploaded and quotes nothing of the file.
func TestCheck(t *testing.T) {
	me, other := mustBidderKeys(t, devpki.SM2), mustBidderKeys(t, devpki.ECDSA)
	secret := "投标报价壹仟贰佰叁拾肆万元整，KAIPING-SECRET"
	plain := bytes.Repeat([]byte(secret), 10_000) // several chunks
	for _, suite := range []seal.Suite{seal.AES256GCM, seal.SM4GCM} {
		file := me.seal(t, plain, suite)
		d, err := Check(bytes.NewReader(file), me.id)
		if err != nil {
			t.Fatalf("%s: %v", suite, err)
		}
		sha, sm := sha256.Sum256(file), sm3.Sum(file)
		wantSM3 := ""
		if suite == seal.SM4GCM {
			wantSM3 = hex.EncodeToString(sm[:])
		}
		if d.Size != int64(len(file)) || d.SHA256 != hex.EncodeToString(sha[:]) || d.SM3 != wantSM3 || !d.checked {
			t.Errorf("%s: digest %+v", suite, d)
		}
	}

	file := me.seal(t, plain, seal.AES256GCM)
	_, size, _ := seal.ParseHeader(bytes.NewReader(file))
	overPlain := append(bytes.Clone(file[:size]), bytes.Repeat([]byte(secret), len(file))[:len(file)-int(size)]...)
	for _, tt := range []struct {
		name, code string
		file       []byte
	}{
		{"a plain file", "bid.not_sealed", plain},
		{"an empty file", "bid.not_sealed", nil},
		{"sealed to someone else", "bid.not_openable", other.seal(t, plain, seal.AES256GCM)},
		{"a genuine header over plaintext", "bid.not_ciphertext", overPlain},
		{"cut short", "bid.not_ciphertext", file[:len(file)-100]},
		{"with bytes after the end", "bid.not_ciphertext", append(bytes.Clone(file), 0)},
	} {
		_, err := Check(bytes.NewReader(tt.file), me.id)
		if kaiping.CodeOf(err) != tt.code || !strings.Contains(err.Error(), "未上传任何内容") || strings.Contains(err.Error(), "KAIPING-SECRET") {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
}

// TestSubmitUnchecked: a digest Check did not make is refused before any request: the
// client's server address is a closed port, so a request would fail otherwise.
func TestSubmitUnchecked(t *testing.T) {
	s := NewSubmitter(apiclient.New("http://127.0.0.1:1"))
	file := []byte("plain")
	sum := sha256.Sum256(file)
	d := FileDigest{Size: int64(len(file)), SHA256: hex.EncodeToString(sum[:])}
	if _, err := s.Submit(context.Background(), "t", "BD1", "summary", bytes.NewReader(file), d); kaiping.CodeOf(err) != "bid.unchecked" {
		t.Errorf("Submit: %v, want bid.unchecked", err)
	}
	if _, err := s.Resume(context.Background(), "u", bytes.NewReader(file), d); kaiping.CodeOf(err) != "bid.unchecked" {
		t.Errorf("Resume: %v, want bid.unchecked", err)
	}
}

// BenchmarkCheck is what `kaiping bid submit` now spends before sending a 100 MiB sealed
// file, next to what it spent before (the file's digests alone, SHA-256 and SM3 on two
// cores in national mode), in the same run.
func BenchmarkCheck(b *testing.B) {
	me := mustBidderKeys(b, devpki.ECDSA)
	plain := make([]byte, 100<<20)
	for i := range plain {
		plain[i] = byte(i + i/251)
	}
	for _, suite := range []seal.Suite{seal.AES256GCM, seal.SM4GCM} {
		file := me.seal(b, plain, suite)
		b.Run(string(suite)+"/check", func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				if _, err := Check(bytes.NewReader(file), me.id); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(suite)+"/digest only (anchor)", func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				var sums io.Writer = sha256.New()
				if suite == seal.SM4GCM {
					sums = iox.ParallelWriter(sums, sm3.New())
				}
				io.CopyBuffer(sums, bytes.NewReader(file), make([]byte, 1<<20))
			}
		})
	}
}

// TestSectionRefusesChangedFile: a part's reader hands out exactly the file's bytes,
// across blocks and after seeking back for a retry, and once the file changes after Check
// it stops before the changed block: none of its bytes is handed out.
func TestSectionRefusesChangedFile(t *testing.T) {
	me := mustBidderKeys(t, devpki.ECDSA)
	plain := make([]byte, 3<<20)
	for i := range plain {
		plain[i] = byte(i + i/251)
	}
	file := me.seal(t, plain, seal.AES256GCM)
	orig := bytes.Clone(file)
	d, err := Check(bytes.NewReader(file), me.id)
	if err != nil {
		t.Fatal(err)
	}
	off, length := int64(checkBlock/2), int64(2*checkBlock) // from inside block 0 into block 2
	sec := d.section(bytes.NewReader(file), off, length)
	for range 2 {
		got, err := io.ReadAll(sec)
		if err != nil || !bytes.Equal(got, file[off:off+length]) {
			t.Fatalf("section: %d bytes, %v", len(got), err)
		}
		if _, err := sec.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
	}

	file[2*checkBlock+10] ^= 1 // block 2 changes after the check
	got, err := io.ReadAll(d.section(bytes.NewReader(file), 0, int64(len(file))))
	if kaiping.CodeOf(err) != "bid.file_changed" || !bytes.Equal(got, orig[:2*checkBlock]) {
		t.Errorf("after a change: %d bytes handed out, %v; want blocks 0 and 1 and bid.file_changed", len(got), err)
	}
	if _, err := io.ReadAll(d.section(bytes.NewReader(orig[:len(orig)-1]), 0, int64(len(orig)))); kaiping.CodeOf(err) != "bid.file_changed" {
		t.Errorf("a file cut after the check: %v", err)
	}
	if _, err := io.ReadAll(d.section(bytes.NewReader(orig), int64(len(orig))-10, 20)); err != io.ErrUnexpectedEOF {
		t.Errorf("a section past the end: %v", err)
	}
}

package bidder

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"

	"github.com/emmansun/gmsm/sm3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// FileDigest is what the tool declares about a sealed file before uploading it: the server
// checks the stored object against it. Only Check makes one that Submit, Resume and Finish
// accept: no byte of a file leaves this machine before Check has opened all of it.
type FileDigest struct {
	Size   int64
	SHA256 string // hex
	SM3    string // hex; national-crypto mode (suite sm4gcm) only, where the server requires it
	// checked is set by Check alone, once every chunk opened with the bidder's own key.
	checked bool
	// blocks are the CRC-32C of each checkBlock bytes of the file as Check read it: the
	// upload sends a block only once it reads the same again, so a file changed after the
	// check (overwritten, re-sealed, replaced) sends none of its changed bytes.
	blocks []uint32
}

// Check reads a sealed file once, on this machine, before any byte of it is sent, and
// refuses it unless it is an envelope the bidder can open at the opening: its header must
// parse, the file key must unwrap with the bidder's own key (id: the certificate's key in a
// key file or on a token) and every chunk must open with that file key. A plain file is
// bid.not_sealed, one sealed to another key bid.not_openable, and one whose payload does
// not open in full (a sealed header over plaintext, a damaged or cut file) is
// bid.not_ciphertext, each with a message saying nothing was uploaded and none quoting the
// file. It returns the file's size and SHA-256 and, for a file sealed with SM4-GCM
// (national mode), its SM3, hashed in the same read.
//
// Opening every chunk costs what the opening itself will cost the server (AES-GCM or
// SM4-GCM on every core), alongside the hashes the tool computes anyway.
func Check(r io.Reader, id seal.Identity) (FileDigest, error) {
	src := &digestReader{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	h, _, err := seal.ParseHeader(br)
	if err != nil {
		if isIO(err) {
			return FileDigest{}, err
		}
		return FileDigest{}, kaiping.E(kaiping.KindInvalid, "bid.not_sealed",
			"文件不是按要求加密的投标文件（"+kaiping.CodeOf(err)+"），未上传任何内容：请先用 kaiping bid seal 加密")
	}
	key, err := h.UnwrapFileKey(id)
	if err != nil {
		return FileDigest{}, kaiping.E(kaiping.KindInvalid, "bid.not_openable",
			"无法用本人证书的私钥解开该文件（"+kaiping.CodeOf(err)+"），开标时将无法解密，未上传任何内容")
	}
	defer clear(key)
	sha, sm := sha256.New(), sm3.New()
	if h.Suite == seal.SM4GCM {
		src.start(iox.ParallelWriter(sha, sm))
	} else {
		src.start(sha)
	}
	rd, err := seal.OpenPayload(h, br, key)
	if err == nil {
		_, err = rd.WriteTo(io.Discard)
	}
	if err != nil {
		if isIO(err) {
			return FileDigest{}, err
		}
		return FileDigest{}, kaiping.E(kaiping.KindInvalid, "bid.not_ciphertext",
			"文件不是完整的密文："+sealMessage(err)+"。未上传任何内容，请重新加密后递交")
	}
	d := FileDigest{Size: src.n, SHA256: hex.EncodeToString(sha.Sum(nil)), checked: true, blocks: src.blocks.sums()}
	if h.Suite == seal.SM4GCM {
		d.SM3 = hex.EncodeToString(sm.Sum(nil))
	}
	return d, nil
}

// isIO tells a failure to read the file from a verdict about its content.
func isIO(err error) bool {
	var ke *kaiping.Error
	return !errors.As(err, &ke)
}

// sealMessage is the Chinese message of a seal error (it names a chunk, never its content).
func sealMessage(err error) string {
	var ke *kaiping.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return kaiping.CodeOf(err)
}

// digestReader counts what is read through it, sums its blocks and feeds it to a hash,
// holding back what is read before the hash is chosen (the header, and what the buffer read
// past it).
type digestReader struct {
	r       io.Reader
	w       io.Writer
	pending []byte
	n       int64
	blocks  blockSums
}

func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n += int64(n)
	d.blocks.Write(p[:n])
	if d.w == nil {
		d.pending = append(d.pending, p[:n]...)
	} else {
		d.w.Write(p[:n])
	}
	return n, err
}

// start hashes what was held back and everything read from now on into w.
func (d *digestReader) start(w io.Writer) {
	d.w = w
	w.Write(d.pending)
	clear(d.pending)
	d.pending = nil
}

// checkedFor refuses to send a file Check has not passed, or another file than the upload
// declared.
func checkedFor(d FileDigest, u opening.Upload) error {
	if !d.checked {
		return kaiping.E(kaiping.KindInvalid, "bid.unchecked", "文件未经本机检查（bidder.Check），不能上传")
	}
	if d.Size != u.DeclaredSize || d.SHA256 != u.DeclaredSHA256 {
		return kaiping.E(kaiping.KindInvalid, "bid.other_file", "该上传任务登记的是另一个文件，未上传任何内容")
	}
	return nil
}

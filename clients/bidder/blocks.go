package bidder

import (
	"hash/crc32"
	"io"

	"github.com/kaiping/kaiping"
)

// checkBlock is the unit in which the upload re-reads and compares what Check read.
const checkBlock = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockSums sums a stream in blocks of checkBlock bytes. CRC-32C is for accidents (a file
// rewritten while it uploads), not for an adversary: the bidder owns the machine, and the
// server checks the SHA-256 of what arrives.
type blockSums struct {
	done   []uint32
	cur    uint32
	filled int
}

func (b *blockSums) Write(p []byte) {
	for len(p) > 0 {
		n := min(len(p), checkBlock-b.filled)
		b.cur = crc32.Update(b.cur, castagnoli, p[:n])
		b.filled += n
		p = p[n:]
		if b.filled == checkBlock {
			b.done = append(b.done, b.cur)
			b.cur, b.filled = 0, 0
		}
	}
}

func (b *blockSums) sums() []uint32 {
	if b.filled > 0 {
		return append(b.done, b.cur)
	}
	return b.done
}

// section returns a reader of length bytes of file from off that hands out each block's
// bytes only after reading the whole block and finding the sum Check found: a block changed
// since is bid.file_changed before any of it is sent. It seeks back to its start (for a
// retried part) and holds one block in memory.
func (d FileDigest) section(file io.ReaderAt, off, length int64) io.ReadSeeker {
	return &checkedSection{file: file, d: d, start: off, end: off + length, pos: off}
}

type checkedSection struct {
	file       io.ReaderAt
	d          FileDigest
	start, end int64
	pos        int64  // the next byte to hand out
	buf        []byte // the block holding pos, verified
	bufAt      int64  // where buf starts in the file
}

func (c *checkedSection) Read(p []byte) (int, error) {
	if c.pos >= c.end {
		return 0, io.EOF
	}
	if c.buf == nil || c.pos < c.bufAt || c.pos >= c.bufAt+int64(len(c.buf)) {
		if err := c.load(c.pos / checkBlock); err != nil {
			return 0, err
		}
	}
	from := c.pos - c.bufAt
	if from >= int64(len(c.buf)) {
		return 0, io.ErrUnexpectedEOF // a section past the end of the file Check read
	}
	n := copy(p, c.buf[from:min(int64(len(c.buf)), c.end-c.bufAt)])
	c.pos += int64(n)
	return n, nil
}

// load reads block i whole and checks its sum.
func (c *checkedSection) load(i int64) error {
	at := i * checkBlock
	size := min(checkBlock, c.d.Size-at)
	if i >= int64(len(c.d.blocks)) || size <= 0 {
		return changed()
	}
	if cap(c.buf) < checkBlock {
		c.buf = make([]byte, checkBlock)
	}
	c.buf = c.buf[:size]
	if _, err := c.file.ReadAt(c.buf, at); err != nil {
		c.buf = nil
		if err == io.EOF {
			return changed()
		}
		return err
	}
	if crc32.Checksum(c.buf, castagnoli) != c.d.blocks[i] {
		clear(c.buf)
		c.buf = nil
		return changed()
	}
	c.bufAt = at
	return nil
}

func changed() error {
	return kaiping.E(kaiping.KindConflict, "bid.file_changed",
		"文件在本机检查之后被改动，改动的内容未上传；请重新运行 kaiping bid submit")
}

// Seek supports the one seek a retried part needs: back to the start.
func (c *checkedSection) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekStart {
		return 0, kaiping.E(kaiping.KindInternal, "bid.seek", "分片只能从头重传")
	}
	c.pos = c.start
	return 0, nil
}

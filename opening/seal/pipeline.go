package seal

import (
	"bufio"
	"crypto/cipher"
	"fmt"
	"io"
	"sync"
)

// pipeline encrypts or decrypts a payload on several cores while keeping memory flat: one
// goroutine reads pieces in order, workers transform them in parallel, and the caller's
// goroutine writes the results in order. A fixed set of buffer slots bounds everything in
// flight, whatever the payload's size.
type pipeline struct {
	aeads   []cipher.AEAD // one per worker: a GCM instance is not documented as safe to share
	inSize  int           // bytes per piece read from the source
	inPlace bool          // the output reuses the input buffer (sealing); else its own (opening)
	process func(aead cipher.AEAD, j *job)
}

// slot is a pair of buffers, allocated on first use so a small payload costs little.
type slot struct{ in, out []byte }

// job is one chunk on its way through the pipeline.
type job struct {
	index uint64
	final bool
	slot  *slot
	in    []byte
	out   []byte
	err   error
	done  chan struct{} // closed when out or err is set
}

// runStat is what a run got through.
type runStat struct {
	next     uint64 // the index after the last chunk written
	finished bool   // the final chunk was written
	in, out  int64  // bytes read from the source and written to dst
}

// run reads pieces from src, numbering them from first, transforms them and writes them to
// dst in order. It stops at the final piece or at the first error, in chunk order, and
// returns only once every goroutine it started has finished with src and the buffers.
func (p *pipeline) run(src *bufio.Reader, dst io.Writer, first uint64) (runStat, error) {
	workers := len(p.aeads)
	slots := 2*workers + 2 // enough to keep every worker busy while the writer catches up
	free := make(chan *slot, slots)
	for range slots {
		free <- &slot{}
	}
	jobs := make(chan *job, slots)
	ordered := make(chan *job, slots)
	stop := make(chan struct{})
	var wg sync.WaitGroup

	for _, aead := range p.aeads {
		wg.Go(func() {
			for j := range jobs {
				p.process(aead, j)
				close(j.done)
			}
		})
	}
	wg.Go(func() {
		defer close(ordered)
		defer close(jobs)
		for index := first; ; index++ {
			var s *slot
			select {
			case s = <-free:
			case <-stop:
				return
			}
			if s.in == nil {
				s.in = make([]byte, encChunkSize)
				if !p.inPlace {
					s.out = make([]byte, encChunkSize)
				}
			}
			n, final, err := readPiece(src, s.in[:p.inSize])
			j := &job{index: index, final: final, slot: s, in: s.in[:n], done: make(chan struct{})}
			if err != nil {
				j.err = fmt.Errorf("read: %w", err)
				close(j.done)
			}
			select {
			case ordered <- j:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
			// Never blocks: jobs has room for every slot.
			jobs <- j
			if final {
				return
			}
		}
	})

	var st runStat
	var err error
	for j := range ordered {
		<-j.done
		if j.err != nil {
			err = j.err
			break
		}
		st.in += int64(len(j.in))
		if len(j.out) > 0 {
			n, werr := dst.Write(j.out)
			st.out += int64(n)
			if werr != nil {
				err = werr
				break
			}
		}
		st.next = j.index + 1
		st.finished = j.final
		free <- j.slot
	}
	close(stop)
	wg.Wait()
	return st, err
}

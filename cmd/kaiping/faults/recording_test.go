package faults

import (
	"testing"
	"time"

	"github.com/kaiping/kaiping/opening"
)

// TestRecordingStorageCut: the opening's broadcast is recorded from check-in (the embedded
// media plane's recorder, no LiveKit needed) and stored in the archive when the hall
// closes. Object storage is cut for 10 seconds from just before the close: the recording
// is not lost — it is stored and ledgered once storage is back — and the opening's outcome
// stands.
func TestRecordingStorageCut(t *testing.T) {
	w := newWorld(t, worldOptions{bidders: 3})
	w.sealedOpening()
	w.openCheckIn()
	for _, x := range w.bidders {
		w.checkIn(x)
	}
	w.openWindow()
	for _, x := range w.bidders {
		w.unlock(x)
	}
	w.waitDecrypted(w.bidders...)
	w.move(opening.HallPublished)
	w.eventually("the record is archived before the outage", settle, w.recordArchived)
	w.move(opening.HallConfirming)
	for _, b := range w.bidders {
		w.confirm(b)
	}

	w.s3Proxy.Cut()
	w.move(opening.HallClosed)
	outage(t, w, 10*time.Second)
	w.s3Proxy.Restore()
	w.checkOpened()
}

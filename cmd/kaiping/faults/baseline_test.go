package faults

import "testing"

// TestBaseline: without a fault, three bidders submit and the set holds their receipts.
func TestBaseline(t *testing.T) {
	w := newWorld(t, worldOptions{bidders: 3})
	for _, b := range w.bidders {
		w.submit(b)
	}
	w.checkBidSet(w.sealSet())
	w.verifyLedger()
}

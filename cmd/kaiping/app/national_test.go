package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestNationalMode: a tender in national-crypto mode (SM4-GCM) takes only SM4 envelopes,
// requires the SM3 digest of the file as well as SHA-256, and checks both.
func TestNationalMode(t *testing.T) {
	w := mustSubmissionWorldWith(t, func(_ *submissionWorld, tender *opening.Tender) { tender.Suite = string(seal.SM4GCM) })
	ctx := context.Background()
	var out bytes.Buffer
	if _, err := seal.Seal(&out, bytes.NewReader([]byte("报价")), w.binding(seal.Summary),
		[]seal.Recipient{certRecipient(t, w.bidderCert)}, seal.WithSuite(seal.SM4GCM)); err != nil {
		t.Fatal(err)
	}
	file := out.Bytes()
	d := mustChecked(t, file, w.bidderCert)
	submit := func(d bidder.FileDigest, f []byte) (opening.Receipt, error) {
		return bidder.NewSubmitter(w.bidder).Submit(ctx, string(w.tender.ID), "BD1", "summary", bytes.NewReader(f), d)
	}
	noSM3 := d
	noSM3.SM3 = ""
	wrongSM3 := d
	wrongSM3.SM3 = "00" + d.SM3[2:]
	badSM3 := d
	badSM3.SM3 = "xyz"
	aes := mustSeal(t, w.binding(seal.Summary), []byte("1"), w.bidderCert)
	aesDigest := mustChecked(t, aes, w.bidderCert)
	aesSM3 := sm3.Sum(aes)
	aesDigest.SM3 = hex.EncodeToString(aesSM3[:]) // the tool declares SM3 as the tender asks
	for _, tt := range []struct {
		name string
		d    bidder.FileDigest
		f    []byte
		code string
	}{
		{"no SM3 declared", noSM3, file, "bid.sm3_required"},
		{"SM3 not hex", badSM3, file, "bid.sm3"},
		{"SM3 does not match", wrongSM3, file, "bid.sm3_mismatch"},
		{"sealed with AES in national mode", aesDigest, aes, "bid.suite"},
	} {
		if _, err := submit(tt.d, tt.f); apiCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	rc, err := submit(d, file)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Envelopes[0].SM3 != d.SM3 || rc.Envelopes[0].SHA256 != d.SHA256 {
		t.Errorf("receipt digests %+v, want %+v", rc.Envelopes[0], d)
	}
	var st opening.BidStatus
	if err := w.bidder.Do(ctx, http.MethodGet, w.path("/bids/mine"), nil, &st); err != nil || len(st.Envelopes) != 1 || st.Envelopes[0].SM3 != d.SM3 {
		t.Errorf("status %+v, %v", st, err)
	}
}

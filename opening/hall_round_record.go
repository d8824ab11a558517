package opening

import (
	"encoding/json"

	"github.com/kaiping/kaiping"
)

// RoundRecord is an opening record of either round, as published: a first-round record is
// exactly an OpeningRecord (Round and FirstRecordDigest absent); the second round's of a
// two-envelope tender adds its round and the digest of the first round's record it follows.
// Its canonical form and digest are made as OpeningRecord's.
type RoundRecord struct {
	OpeningRecord
	Round             int    `json:"round,omitempty"`
	FirstRecordDigest string `json:"first_record_digest,omitempty"`
}

// Canonical returns the record's canonical bytes and their digest. (It must be declared
// here: OpeningRecord's, promoted, would encode only the embedded record.)
func (r RoundRecord) Canonical() ([]byte, string, error) {
	if r.Round < 2 {
		return r.OpeningRecord.Canonical()
	}
	return canonical(r, "opening.RoundRecord")
}

// DecodeRoundRecord reads a published record's canonical bytes, of either round.
func DecodeRoundRecord(canonical []byte) (RoundRecord, error) {
	var r RoundRecord
	if err := json.Unmarshal(canonical, &r); err != nil {
		return r, kaiping.Internal("opening.DecodeRoundRecord", err)
	}
	if r.Round == 0 {
		r.Round = 1
	}
	return r, nil
}

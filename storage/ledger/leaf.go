package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
)

// Entry is one record of the audit ledger (审计日志): who changed what, when and from where.
type Entry struct {
	// Seq is the entry's position in the log, counting from 0 without gaps.
	Seq int64 `json:"seq"`
	// At is when the change happened (the actor's time), UTC, truncated to microseconds
	// because that is what PostgreSQL's timestamptz keeps.
	At time.Time `json:"at"`
	// Operator is the principal ID, or "system" (kaiping.Actor.Operator).
	Operator string `json:"operator"`
	// Address is the operator's network address, empty for the system itself.
	Address string `json:"address"`
	// Action names the state change, e.g. "bid.submitted".
	Action string `json:"action"`
	// Subject is what changed, usually an ID; it may be empty.
	Subject string `json:"subject"`
	// Detail is the JSON encoding of the detail passed to Append, byte for byte as hashed;
	// empty when the detail was nil.
	Detail []byte `json:"detail"`
}

// leafTag starts every leaf: it names the format and its version, so a future encoding
// can never hash to the same leaf as this one.
const leafTag = "kaiping-ledger-entry/v1\n"

// Limits on what an entry may hold. The ledger records facts (IDs, digests, states), not
// documents; the limits keep one row from bloating every later verification.
const (
	maxFieldLen  = 4096    // operator, address, action, subject, in bytes
	maxDetailLen = 1 << 20 // detail, in bytes
)

// LeafData is the entry's record in the Merkle tree: the bytes whose RFC 6962 leaf hash,
// SHA-256(0x00 || LeafData), the tree commits to (tlog.RecordHash). The encoding is fixed
// so anyone holding a receipt can recompute it; all integers are big-endian:
//
//	"kaiping-ledger-entry/v1\n"   24 bytes: format and version
//	seq                           8 bytes, unsigned
//	at                            8 bytes, signed: microseconds since 1970-01-01T00:00:00Z
//	operator                      4-byte length, then the UTF-8 bytes
//	address                       4-byte length, then the UTF-8 bytes
//	action                        4-byte length, then the UTF-8 bytes
//	subject                       4-byte length, then the UTF-8 bytes
//	detail                        4-byte length, then the bytes exactly as stored
//
// Every variable-length field carries its length, so no two different entries share an
// encoding. Sub-microsecond parts of At are dropped, as PostgreSQL drops them.
func (e Entry) LeafData() []byte {
	n := len(leafTag) + 8 + 8 + 5*4 + len(e.Operator) + len(e.Address) + len(e.Action) + len(e.Subject) + len(e.Detail)
	b := make([]byte, 0, n)
	b = append(b, leafTag...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	for _, s := range []string{e.Operator, e.Address, e.Action, e.Subject} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Detail)))
	b = append(b, e.Detail...)
	return b
}

// LeafHash is the RFC 6962 leaf hash of LeafData.
func (e Entry) LeafHash() tlog.Hash { return tlog.RecordHash(e.LeafData()) }

// ParseLeaf decodes LeafData, so a verifier holding only a receipt can show what the entry
// says. It rejects anything that LeafData would not have produced.
func ParseLeaf(data []byte) (Entry, error) {
	e, err := parseLeaf(data)
	if err != nil {
		return Entry{}, &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.bad_leaf",
			Message: "审计日志记录数据格式错误", Op: "ledger.ParseLeaf", Err: err}
	}
	return e, nil
}

func parseLeaf(data []byte) (Entry, error) {
	var e Entry
	if !bytes.HasPrefix(data, []byte(leafTag)) {
		return e, errors.New("missing format tag " + fmt.Sprintf("%q", leafTag))
	}
	b := data[len(leafTag):]
	if len(b) < 16 {
		return e, errors.New("truncated")
	}
	seq := binary.BigEndian.Uint64(b)
	if seq > math.MaxInt64 {
		return e, errors.New("seq out of range")
	}
	e.Seq = int64(seq)
	e.At = time.UnixMicro(int64(binary.BigEndian.Uint64(b[8:]))).UTC()
	b = b[16:]
	var fields [5][]byte
	for i := range fields {
		if len(b) < 4 {
			return e, errors.New("truncated")
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return e, errors.New("truncated")
		}
		fields[i], b = b[:n:n], b[n:]
	}
	if len(b) != 0 {
		return e, errors.New("trailing bytes")
	}
	e.Operator, e.Address, e.Action, e.Subject = string(fields[0]), string(fields[1]), string(fields[2]), string(fields[3])
	e.Detail = bytes.Clone(fields[4])
	if err := e.check(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// check enforces what PostgreSQL would enforce on insert (valid UTF-8 without NUL in text
// columns, the timestamptz range) plus our size limits, so Append fails with a clear
// message before the transaction does, and ParseLeaf accepts only storable entries.
func (e Entry) check() error {
	if e.Seq < 0 {
		return fmt.Errorf("seq %d is negative", e.Seq)
	}
	if y := e.At.UTC().Year(); e.At.IsZero() || y < 1 || y > 9999 {
		return fmt.Errorf("time %v is zero or out of range", e.At)
	}
	if e.Action == "" {
		return errors.New("action is empty")
	}
	for _, f := range []struct{ name, s string }{
		{"operator", e.Operator}, {"address", e.Address}, {"action", e.Action}, {"subject", e.Subject},
	} {
		switch {
		case len(f.s) > maxFieldLen:
			return fmt.Errorf("%s is %d bytes, more than %d", f.name, len(f.s), maxFieldLen)
		case !utf8.ValidString(f.s) || strings.ContainsRune(f.s, 0):
			return fmt.Errorf("%s is not valid UTF-8 text", f.name)
		}
	}
	if len(e.Detail) > maxDetailLen {
		return fmt.Errorf("detail is %d bytes, more than %d", len(e.Detail), maxDetailLen)
	}
	return nil
}

package ledger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
)

// Checkpoint is a tree head: the log's identity, its size and its root hash, and the time of
// the newest entry it covers. Its text form follows C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint), with the time as the one extension line:
//
//	<origin>\n
//	<size, decimal>\n
//	<root hash, standard base64>\n
//	time <RFC 3339, UTC, exactly 6 fractional digits>\n
//
// for example
//
//	ggzy.example.gov.cn/kaiping/ledger
//	42
//	PH6byTDck/AfppmF7yQtn56GHzxTVaokzl70tLinDMs=
//	time 2026-03-09T01:30:00.123456Z
//
// The time is the At of entry Size-1, not the moment of signing, so a verifier can rebuild
// the exact signed text from the entry rows alone. Entries are ordered by when they were
// appended, not by At, so checkpoint times need not increase with size.
type Checkpoint struct {
	Origin string    `json:"origin"`
	Size   int64     `json:"size"`
	Root   tlog.Hash `json:"root"`
	Time   time.Time `json:"time"`
}

// timeLayout is RFC 3339 with a fixed number of fractional digits, so one instant has one
// text form (time.RFC3339Nano drops trailing zeros).
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Text is the checkpoint's canonical text, the bytes the platform key signs. For Ed25519
// keys the signature is exactly a C2SP signed-note signature over this text.
func (c Checkpoint) Text() []byte {
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root[:]))
	b.WriteString("\ntime ")
	b.WriteString(c.Time.UTC().Format(timeLayout))
	b.WriteByte('\n')
	return b.Bytes()
}

// ParseCheckpoint parses the text form. It accepts only canonical text, byte for byte what
// Text produces, because the signature covers the bytes, not the values.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	c, err := parseCheckpoint(text)
	if err != nil {
		return Checkpoint{}, badCheckpoint("ledger.ParseCheckpoint", err)
	}
	return c, nil
}

func parseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.SplitAfter(string(text), "\n")
	if len(lines) != 5 || lines[4] != "" {
		return c, errors.New("want exactly four newline-terminated lines")
	}
	for i := range 4 {
		lines[i] = strings.TrimSuffix(lines[i], "\n")
	}
	c.Origin = lines[0]
	if err := checkOrigin(c.Origin); err != nil {
		return c, err
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return c, fmt.Errorf("bad size line %q", lines[1])
	}
	c.Size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return c, fmt.Errorf("bad root hash line %q", lines[2])
	}
	copy(c.Root[:], root)
	ts, ok := strings.CutPrefix(lines[3], "time ")
	if !ok {
		return c, fmt.Errorf("bad time line %q", lines[3])
	}
	if c.Time, err = time.Parse(timeLayout, ts); err != nil {
		return c, fmt.Errorf("bad time line %q: %w", lines[3], err)
	}
	c.Time = c.Time.UTC()
	if !bytes.Equal(c.Text(), text) {
		return c, errors.New("not in canonical form")
	}
	return c, nil
}

// SignedCheckpoint is a checkpoint with the platform's signature over its Text.
type SignedCheckpoint struct {
	Checkpoint
	Algorithm string `json:"algorithm"`
	Signature []byte `json:"signature"`
}

// Verify checks the signature with v. A bad signature is KindInvalid.
func (s SignedCheckpoint) Verify(v Verifier) error {
	const op = "ledger.SignedCheckpoint.Verify"
	if s.Algorithm != "" && s.Algorithm != v.Algorithm() {
		return badCheckpoint(op, fmt.Errorf("signed with %s, verifier is %s", s.Algorithm, v.Algorithm()))
	}
	if !v.Verify(s.Text(), s.Signature) {
		return badCheckpoint(op, errors.New("signature does not verify"))
	}
	return nil
}

// checkOrigin applies C2SP's rule for origin lines (and sumdb/note's for key names): not
// empty, valid UTF-8, no Unicode spaces and no plus sign.
func checkOrigin(origin string) error {
	switch {
	case origin == "":
		return errors.New("origin is empty")
	case !utf8.ValidString(origin), strings.IndexFunc(origin, unicode.IsSpace) >= 0, strings.ContainsRune(origin, '+'),
		strings.IndexFunc(origin, unicode.IsControl) >= 0:
		return fmt.Errorf("origin %q must be UTF-8 without spaces, controls or '+'", origin)
	}
	return nil
}

func badCheckpoint(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.bad_checkpoint",
		Message: "审计日志检查点无效", Op: op, Err: err}
}

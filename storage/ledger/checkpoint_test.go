package ledger_test

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

func TestCheckpointText(t *testing.T) {
	cp := ledger.Checkpoint{
		Origin: testOrigin,
		Size:   42,
		Root:   tlog.RecordHash([]byte("x")),
		Time:   time.Date(2026, 11, 21, 17, 30, 0, 120000000, time.FixedZone("CST", 8*3600)),
	}
	want := testOrigin + "\n42\n" + cp.Root.String() + "\ntime 2026-11-21T09:30:00.120000Z\n"
	if got := string(cp.Text()); got != want {
		t.Fatalf("Text =\n%s\nwant\n%s", got, want)
	}
	back, err := ledger.ParseCheckpoint([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if back.Origin != cp.Origin || back.Size != cp.Size || back.Root != cp.Root || !back.Time.Equal(cp.Time) {
		t.Fatalf("ParseCheckpoint = %+v, want %+v", back, cp)
	}

	// The signature covers bytes: only the one canonical spelling of each value is accepted.
	root := cp.Root.String()
	for name, text := range map[string]string{
		"no time line":        testOrigin + "\n42\n" + root + "\n",
		"extra line":          want + "other extension\n",
		"no final newline":    strings.TrimSuffix(want, "\n"),
		"leading zero":        testOrigin + "\n042\n" + root + "\ntime 2026-11-21T09:30:00.120000Z\n",
		"plus sign":           testOrigin + "\n+42\n" + root + "\ntime 2026-11-21T09:30:00.120000Z\n",
		"negative size":       testOrigin + "\n-1\n" + root + "\ntime 2026-11-21T09:30:00.120000Z\n",
		"short root":          testOrigin + "\n42\nAAAA\ntime 2026-11-21T09:30:00.120000Z\n",
		"unpadded root":       testOrigin + "\n42\n" + strings.TrimRight(root, "=") + "\ntime 2026-11-21T09:30:00.120000Z\n",
		"local time":          testOrigin + "\n42\n" + root + "\ntime 2026-11-21T17:30:00.120000+08:00\n",
		"fewer digits":        testOrigin + "\n42\n" + root + "\ntime 2026-11-21T09:30:00.12Z\n",
		"origin with a space": "ggzy example\n42\n" + root + "\ntime 2026-11-21T09:30:00.120000Z\n",
		"empty origin":        "\n42\n" + root + "\ntime 2026-11-21T09:30:00.120000Z\n",
		"CRLF":                strings.ReplaceAll(want, "\n", "\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ledger.ParseCheckpoint([]byte(text))
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_checkpoint")
		})
	}
}

func TestSignedCheckpointVerify(t *testing.T) {
	s := mustSigner(t, ledger.AlgEd25519)
	v := mustVerifier(t, s)
	cp := ledger.Checkpoint{Origin: testOrigin, Size: 3, Root: tlog.RecordHash([]byte("y")), Time: t0.Truncate(time.Microsecond)}
	sig, err := s.Sign(cp.Text())
	if err != nil {
		t.Fatal(err)
	}
	sc := ledger.SignedCheckpoint{Checkpoint: cp, Algorithm: ledger.AlgEd25519, Signature: sig}
	if err := sc.Verify(v); err != nil {
		t.Fatal(err)
	}
	for name, alter := range map[string]func(*ledger.SignedCheckpoint){
		"size":      func(c *ledger.SignedCheckpoint) { c.Size++ },
		"root":      func(c *ledger.SignedCheckpoint) { c.Root[3] ^= 0x10 },
		"time":      func(c *ledger.SignedCheckpoint) { c.Time = c.Time.Add(time.Microsecond) },
		"origin":    func(c *ledger.SignedCheckpoint) { c.Origin += "2" },
		"algorithm": func(c *ledger.SignedCheckpoint) { c.Algorithm = ledger.AlgSM2 },
		"signature": func(c *ledger.SignedCheckpoint) { c.Signature = append([]byte{1}, c.Signature[1:]...) },
	} {
		t.Run(name, func(t *testing.T) {
			c := sc
			alter(&c)
			wantKind(t, c.Verify(v), kaiping.KindInvalid, "ledger.bad_checkpoint")
		})
	}
	// Sub-microsecond differences are not in the text, as they are not in the database.
	same := sc
	same.Time = same.Time.Add(500 * time.Nanosecond)
	if err := same.Verify(v); err != nil {
		t.Errorf("a time differing below a microsecond: %v", err)
	}
}

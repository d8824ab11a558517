package ledger_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

// The leaf encoding is a public format (receipts carry it): this pins it to the bytes its
// doc comment describes, written out by hand.
func TestLeafDataEncoding(t *testing.T) {
	e := ledger.Entry{
		Seq:      258,
		At:       time.Date(1970, 1, 1, 0, 0, 1, 2000, time.UTC), // 1,000,002 µs
		Operator: "system",
		Address:  "",
		Action:   "开标",
		Subject:  "t1",
		Detail:   []byte(`{}`),
	}
	want := hex.EncodeToString([]byte("kaiping-ledger-entry/v1\n")) +
		"0000000000000102" + // seq 258
		"00000000000f4242" + // 1,000,002 µs
		"00000006" + hex.EncodeToString([]byte("system")) +
		"00000000" +
		"00000006" + hex.EncodeToString([]byte("开标")) +
		"00000002" + hex.EncodeToString([]byte("t1")) +
		"00000002" + hex.EncodeToString([]byte("{}"))
	if got := hex.EncodeToString(e.LeafData()); got != want {
		t.Fatalf("LeafData =\n%s\nwant\n%s", got, want)
	}

	// Times before 1970 are negative microseconds, two's complement.
	e.At = time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)
	if got := hex.EncodeToString(e.LeafData()[24+8 : 24+16]); got != "ffffffffffffffff" {
		t.Errorf("time -1 µs encodes as %s", got)
	}

	// The zone and the nanoseconds below a microsecond do not change the leaf.
	a := e
	a.At = time.Date(1970, 1, 1, 8, 0, 0, 999, time.FixedZone("CST", 8*3600)).Add(-time.Microsecond)
	if !bytes.Equal(a.LeafData(), e.LeafData()) || a.LeafHash() != e.LeafHash() {
		t.Error("the same microsecond in another zone gives another leaf")
	}
}

// Moving bytes between fields must change the leaf: the lengths make it unambiguous.
func TestLeafDataIsUnambiguous(t *testing.T) {
	base := ledger.Entry{Seq: 1, At: time.Unix(1, 0), Operator: "ab", Address: "c", Action: "d", Subject: "e", Detail: []byte("f")}
	variants := []ledger.Entry{base, base, base, base, base}
	variants[1].Operator, variants[1].Address = "a", "bc"
	variants[2].Action, variants[2].Subject = "de", ""
	variants[3].Subject, variants[3].Detail = "", []byte("ef")
	variants[4].Detail = nil
	seen := map[string]int{}
	for i, v := range variants {
		k := string(v.LeafData())
		if j, ok := seen[k]; ok {
			t.Errorf("variants %d and %d share a leaf", j, i)
		}
		seen[k] = i
	}
}

func TestParseLeaf(t *testing.T) {
	e := ledger.Entry{Seq: 7, At: time.Date(2026, 11, 21, 9, 30, 0, 123456000, time.UTC), Operator: "system",
		Address: "127.0.0.1", Action: "bid.submitted", Subject: "tender-9", Detail: []byte(`{"n":1}`)}
	leaf := e.LeafData()
	got, err := ledger.ParseLeaf(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if !sameEntry(got, e) || !bytes.Equal(got.LeafData(), leaf) {
		t.Fatalf("ParseLeaf = %+v, want %+v", got, e)
	}
	bad := map[string][]byte{
		"empty":          nil,
		"another format": append([]byte("kaiping-ledger-entry/v2\n"), leaf[24:]...),
		"truncated":      leaf[:len(leaf)-1],
		"trailing byte":  append(append([]byte(nil), leaf...), 0),
		"length too big": func() []byte {
			b := append([]byte(nil), leaf...)
			b[24+16] = 0xff // operator length
			return b
		}(),
		"invalid UTF-8": ledger.Entry{Seq: 1, At: e.At, Action: "a", Subject: "\xff"}.LeafData(),
		"no action":     ledger.Entry{Seq: 1, At: e.At}.LeafData(),
		"negative seq":  ledger.Entry{Seq: -1, At: e.At, Action: "a"}.LeafData(),
		"huge field":    ledger.Entry{Seq: 1, At: e.At, Action: strings.Repeat("a", 5000)}.LeafData(),
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ledger.ParseLeaf(b)
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_leaf")
		})
	}
}

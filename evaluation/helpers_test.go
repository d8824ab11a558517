package evaluation_test

import (
	"testing"

	"github.com/kaiping/kaiping"
)

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// wantCode fails unless err carries code (and kind).
func wantCode(tb testing.TB, err error, kind kaiping.Kind, code string) {
	tb.Helper()
	if err == nil || kaiping.CodeOf(err) != code || kaiping.KindOf(err) != kind {
		tb.Fatalf("err = %v (kind %v, code %s), want %v %s", err, kaiping.KindOf(err), kaiping.CodeOf(err), kind, code)
	}
}

package evaluation_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

func TestLogNotifier(t *testing.T) {
	var b bytes.Buffer
	l := evaluation.LogNotifier{Log: slog.New(slog.NewTextHandler(&b, nil))}
	id := kaiping.NewID()
	must(t, l.Notify(context.Background(), evaluation.Notice{Kind: evaluation.NoticeAssigned, Draw: id, Text: "请到 A01 工位"}))
	if !strings.Contains(b.String(), string(id)) || !strings.Contains(b.String(), "A01") {
		t.Fatalf("log %q", b.String())
	}
}

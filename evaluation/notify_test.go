package evaluation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// gateway is an SMS gateway's webhook receiver on loopback that checks signatures as a real
// one must.
type gateway struct {
	secret []byte
	status int
	got    chan evaluation.Notice
	bad    chan string
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Kaiping-Timestamp")
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("X-Kaiping-Signature") != evaluation.SignWebhook(g.secret, ts, body) {
		g.bad <- r.Header.Get("X-Kaiping-Signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n evaluation.Notice
	if err := json.Unmarshal(body, &n); err != nil {
		g.bad <- err.Error()
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	g.got <- n
	w.WriteHeader(g.status)
}

func TestWebhookNotifier(t *testing.T) {
	secret := bytes.Repeat([]byte("k"), 32)
	g := &gateway{secret: secret, status: http.StatusAccepted, got: make(chan evaluation.Notice, 1), bad: make(chan string, 1)}
	srv := httptest.NewServer(g) // listens on 127.0.0.1
	defer srv.Close()
	clock := kaiping.NewManualClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	wh, err := evaluation.NewWebhookNotifier(srv.URL, secret, srv.Client(), clock)
	must(t, err)
	n := evaluation.Notice{Kind: evaluation.NoticeDrawn, Draw: kaiping.NewID(), Expert: kaiping.NewID(), ExpertName: "王工",
		Phone: "13912345678", Text: "王工专家：您被随机抽取参加评标"}
	must(t, wh.Notify(context.Background(), n))
	select {
	case got := <-g.got:
		if got.Expert != n.Expert || got.Text != n.Text {
			t.Fatalf("gateway got %+v", got)
		}
	case sig := <-g.bad:
		t.Fatalf("gateway refused the signature %q", sig)
	}

	// A forged signature (another secret) is what the gateway refuses; the notifier reports
	// the refusal as unavailable.
	forger, err := evaluation.NewWebhookNotifier(srv.URL, bytes.Repeat([]byte("x"), 32), srv.Client(), clock)
	must(t, err)
	err = forger.Notify(context.Background(), n)
	wantCode(t, err, kaiping.KindUnavailable, "notify.unavailable")
	<-g.bad

	g.status = http.StatusInternalServerError
	err = wh.Notify(context.Background(), n)
	wantCode(t, err, kaiping.KindUnavailable, "notify.unavailable")
	<-g.got

	srv.Close()
	err = wh.Notify(context.Background(), n)
	wantCode(t, err, kaiping.KindUnavailable, "notify.unavailable")

	_, err = evaluation.NewWebhookNotifier(srv.URL, []byte("short"), nil, clock)
	wantCode(t, err, kaiping.KindInvalid, "config.notify_secret")
}

func TestLogNotifier(t *testing.T) {
	var b bytes.Buffer
	l := evaluation.LogNotifier{Log: slog.New(slog.NewTextHandler(&b, nil))}
	id := kaiping.NewID()
	must(t, l.Notify(context.Background(), evaluation.Notice{Kind: evaluation.NoticeAssigned, Draw: id, Text: "请到 A01 工位"}))
	if !strings.Contains(b.String(), string(id)) || !strings.Contains(b.String(), "A01") {
		t.Fatalf("log %q", b.String())
	}
}

package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/notice"
	"github.com/kaiping/kaiping/storage/postgres"
)

// mailbox is a real SMTP server (go-smtp) on loopback that keeps what it receives, with
// AUTH PLAIN for one user when user is set.
type mailbox struct {
	user, pass string
	got        chan mailReceived
}

type mailReceived struct {
	from string
	to   []string
	data []byte
	auth string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

type mailSession struct {
	box *mailbox
	r   mailReceived
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.user || pass != s.box.pass {
			return errors.New("bad credentials")
		}
		s.r.auth = user
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.box.user != "" && s.r.auth == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.r.from = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.to = append(s.r.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.data = b
	s.box.got <- s.r
	return err
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

// serveMail runs a mailbox on ln until the test ends.
func serveMail(tb testing.TB, ln net.Listener, box *mailbox) {
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
}

// gateway is an SMS gateway's webhook receiver on loopback that checks signatures as a real
// one must.
type gateway struct {
	secret []byte
	got    chan notice.WebhookMessage
	bad    chan string
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Kaiping-Timestamp")
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("X-Kaiping-Signature") != notice.SignWebhook(g.secret, ts, body) {
		g.bad <- r.Header.Get("X-Kaiping-Signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m notice.WebhookMessage
	if err := json.Unmarshal(body, &m); err != nil {
		g.bad <- err.Error()
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	g.got <- m
	w.WriteHeader(http.StatusAccepted)
}

func mustListen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// TestNoticeDelivery: a notice goes out by e-mail to a real SMTP server (logging in with
// AUTH PLAIN) with its recipient, its Chinese subject encoded by RFC 2047 and its Chinese
// body in base64, and to the gateway signed so that the gateway's check passes; a sender
// with another secret is refused by the gateway and retried, not lost.
func TestNoticeDelivery(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	ln := mustListen(t)
	box := &mailbox{user: "kaiping", pass: "口令-123", got: make(chan mailReceived, 1)}
	serveMail(t, ln, box)
	secret := bytes.Repeat([]byte("k"), 32)
	g := &gateway{secret: secret, got: make(chan notice.WebhookMessage, 1), bad: make(chan string, 2)}
	hs := httptest.NewServer(g)
	defer hs.Close()

	mailer, err := notice.NewSMTPSender(notice.SMTPConfig{Host: "127.0.0.1", Port: port(ln), From: "通知中心 <noreply@ggzy.example.cn>",
		Username: "kaiping", Password: "口令-123"}, ta.clock)
	mustNil(t, err)
	hook, err := notice.NewWebhookSender(hs.URL, secret, hs.Client(), ta.clock)
	mustNil(t, err)
	store := postgres.NewNoticeStore(ta.DB)
	svc := notice.NewService(store, ta.clock, slog.New(slog.NewTextHandler(io.Discard, nil)), notice.ChannelEmail, notice.ChannelWebhook)
	worker := notice.NewWorker(store, map[string]notice.Sender{notice.ChannelEmail: mailer, notice.ChannelWebhook: hook},
		ta.clock, slog.New(slog.NewTextHandler(io.Discard, nil)), notice.WorkerConfig{})
	body := "王工专家：您被随机抽取参加 2026-06-01 09:00 至 2026-06-01 17:00 的评标，请于 2026-05-31 18:00 前登录开评系统确认是否参加。"
	n, err := svc.Send(ctx, notice.Notice{Kind: "draw.drawn", Title: "评标抽取通知", Body: body},
		notice.Address{Email: "wang@example.cn", Phone: "13912345678"})
	mustNil(t, err)
	sent, err := worker.Deliver(ctx)
	mustNil(t, err)
	if sent != 2 {
		t.Fatalf("%d deliveries went out, want 2", sent)
	}

	m := <-box.got
	if m.auth != "kaiping" || m.from != "noreply@ggzy.example.cn" || len(m.to) != 1 || m.to[0] != "wang@example.cn" {
		t.Errorf("envelope %+v", m)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.data))
	mustNil(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	mustNil(t, err)
	if subject != "评标抽取通知" || !strings.HasPrefix(msg.Header.Get("Subject"), "=?UTF-8?b?") {
		t.Errorf("subject %q (%q)", subject, msg.Header.Get("Subject"))
	}
	if ct := msg.Header.Get("Content-Type"); !strings.Contains(ct, "UTF-8") || msg.Header.Get("Content-Transfer-Encoding") != "base64" {
		t.Errorf("content type %q, encoding %q", ct, msg.Header.Get("Content-Transfer-Encoding"))
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "wang@example.cn" {
		t.Errorf("To %v (%v)", to, err)
	}
	raw, err := io.ReadAll(msg.Body)
	mustNil(t, err)
	if bytes.ContainsAny(raw, "王评") {
		t.Error("the body went out unencoded")
	}
	text := decodeBase64Lines(t, raw)
	if strings.TrimSpace(text) != body {
		t.Errorf("body %q, want %q", text, body)
	}

	select {
	case w := <-g.got:
		if w.ID != n.ID || w.Phone != "13912345678" || w.Text != body || w.Kind != "draw.drawn" {
			t.Errorf("gateway got %+v", w)
		}
	case bad := <-g.bad:
		t.Fatalf("gateway refused: %s", bad)
	}
	if again, err := worker.Deliver(ctx); err != nil || again != 0 {
		t.Errorf("a second pass sent %d (%v): what was sent went again", again, err)
	}

	// A forger's signature is refused by the gateway; the delivery is kept and retried.
	forger, err := notice.NewWebhookSender(hs.URL, bytes.Repeat([]byte("x"), 32), hs.Client(), ta.clock)
	mustNil(t, err)
	forged := notice.NewWorker(store, map[string]notice.Sender{notice.ChannelWebhook: forger}, ta.clock,
		slog.New(slog.NewTextHandler(io.Discard, nil)), notice.WorkerConfig{Backoff: time.Minute})
	_, err = svc.Send(ctx, notice.Notice{Kind: "draw.drawn", Title: "评标抽取通知", Body: "第二条"}, notice.Address{Phone: "13912345678"})
	mustNil(t, err)
	if sent, err := forged.Deliver(ctx); err != nil || sent != 0 {
		t.Fatalf("forged delivery: %d, %v", sent, err)
	}
	<-g.bad
	var attempts int
	var lastError string
	mustNil(t, ta.DB.Pool.QueryRow(ctx, `SELECT attempts, last_error FROM notice_outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&attempts, &lastError))
	if attempts != 1 || !strings.Contains(lastError, "401") {
		t.Errorf("after a refused delivery: attempts %d, last error %q", attempts, lastError)
	}
	_, err = notice.NewWebhookSender(hs.URL, []byte("short"), nil, ta.clock)
	if kaiping.CodeOf(err) != "config.notify_secret" {
		t.Errorf("a short secret: %v", err)
	}
}

func decodeBase64Lines(tb testing.TB, raw []byte) string {
	tb.Helper()
	var out []byte
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		line = strings.TrimRight(line, "\r")
		if len(line) > 76 {
			tb.Errorf("a body line of %d characters", len(line))
		}
		out = append(out, line...)
	}
	b, err := base64.StdEncoding.DecodeString(string(out))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestNoticeOutboxSurvivesRestart: with the mail server down, the action that sent a notice
// is not failed or held; delivery fails, waits its backoff (not retried before it), and a
// new worker on the same database, as after a restart, sends it once the server is up.
func TestNoticeOutboxSurvivesRestart(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	ln := mustListen(t)
	addr := port(ln)
	ln.Close() // the mail server is down: its port refuses connections
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mailer, err := notice.NewSMTPSender(notice.SMTPConfig{Host: "127.0.0.1", Port: addr, From: "noreply@ggzy.example.cn"}, ta.clock)
	mustNil(t, err)
	store := postgres.NewNoticeStore(ta.DB)
	svc := notice.NewService(store, ta.clock, quiet, notice.ChannelEmail)
	cfg := notice.WorkerConfig{Backoff: time.Minute, MaxBackoff: 10 * time.Minute}
	first := notice.NewWorker(store, map[string]notice.Sender{notice.ChannelEmail: mailer}, ta.clock, quiet, cfg)
	_, err = svc.Send(ctx, notice.Notice{Kind: "draw.assigned", Title: "评标工位与签到通知", Body: "请到 A01 工位签到"},
		notice.Address{Email: "li@example.cn"})
	mustNil(t, err)
	for i := range 2 {
		if sent, err := first.Deliver(ctx); err != nil || sent != 0 {
			t.Fatalf("pass %d with the server down: %d sent, %v", i, sent, err)
		}
	}
	var attempts int
	mustNil(t, ta.DB.Pool.QueryRow(ctx, `SELECT attempts FROM notice_outbox`).Scan(&attempts))
	if attempts != 1 {
		t.Errorf("%d attempts inside the backoff, want 1", attempts)
	}

	// Restart: a new worker and store; the mail server comes back on its port.
	ln2, err := net.Listen("tcp", ln.Addr().String())
	mustNil(t, err)
	box := &mailbox{got: make(chan mailReceived, 1)}
	serveMail(t, ln2, box)
	second := notice.NewWorker(postgres.NewNoticeStore(ta.DB), map[string]notice.Sender{notice.ChannelEmail: mailer}, ta.clock, quiet, cfg)
	ta.clock.Advance(59 * time.Second)
	if sent, _ := second.Deliver(ctx); sent != 0 {
		t.Fatal("retried before its backoff ran out")
	}
	ta.clock.Advance(time.Second)
	if sent, err := second.Deliver(ctx); err != nil || sent != 1 {
		t.Fatalf("after the restart: %d sent, %v", sent, err)
	}
	if m := <-box.got; len(m.to) != 1 || m.to[0] != "li@example.cn" {
		t.Errorf("delivered to %v", m.to)
	}
}

func mustNil(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

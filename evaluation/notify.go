package evaluation

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/kaiping/kaiping"
)

// Notice kinds.
const (
	NoticeDrawn    = "draw.drawn"    // you were drawn; accept or decline before RespondBy
	NoticeAssigned = "draw.assigned" // your seat for the session
)

// Notice is a message to a drawn expert (抽取通知). It names neither the tender nor the
// tenderer: a notice is read on a phone, maybe by others, and the committee stays secret
// until the result is public. The expert sees the project after logging in.
type Notice struct {
	Kind       string     `json:"kind"`
	Draw       kaiping.ID `json:"draw_id"`
	Expert     kaiping.ID `json:"expert_id"`
	ExpertName string     `json:"expert_name"`
	Phone      string     `json:"phone,omitempty"`
	Start      time.Time  `json:"session_start"`
	End        time.Time  `json:"session_end"`
	RespondBy  time.Time  `json:"respond_by,omitempty"`
	Venue      string     `json:"venue,omitempty"`
	Address    string     `json:"address,omitempty"`
	Seat       string     `json:"seat,omitempty"`
	// Text is the message as an SMS or voice gateway would send it.
	Text string `json:"text"`
}

// Notifier tells drawn experts. SMS and voice gateways plug in behind it.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// LogNotifier writes notices to the log: for development and for centres that phone their
// experts by hand from the host console.
type LogNotifier struct {
	Log *slog.Logger
}

// Notify logs n.
func (l LogNotifier) Notify(_ context.Context, n Notice) error {
	l.Log.Info("expert notice", "kind", n.Kind, "draw_id", n.Draw, "expert_id", n.Expert, "text", n.Text)
	return nil
}

// WebhookNotifier POSTs each notice as JSON to a gateway (an SMS platform's adapter, the
// centre's messaging hub). Each request carries
//
//	X-Kaiping-Timestamp: <unix seconds>
//	X-Kaiping-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// so the gateway can refuse forged or replayed notices (Stripe's scheme).
type WebhookNotifier struct {
	url    string
	secret []byte
	client *http.Client
	clock  kaiping.Clock
}

// NewWebhookNotifier returns a notifier posting to url, signing with secret (at least 32
// bytes). client may be nil for a client with a 10-second timeout.
func NewWebhookNotifier(url string, secret []byte, client *http.Client, clock kaiping.Clock) (*WebhookNotifier, error) {
	if len(secret) < 32 {
		return nil, invalid("config.notify_secret", "通知网关签名密钥至少 32 字节")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &WebhookNotifier{url: url, secret: secret, client: client, clock: clock}, nil
}

// SignWebhook returns the X-Kaiping-Signature value for body sent at timestamp.
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify posts n; anything but a 2xx answer is an error (KindUnavailable).
func (w *WebhookNotifier) Notify(ctx context.Context, n Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return kaiping.Internal("evaluation.WebhookNotifier", err)
	}
	ts := strconv.FormatInt(w.clock.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return kaiping.Internal("evaluation.WebhookNotifier", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Kaiping-Timestamp", ts)
	req.Header.Set("X-Kaiping-Signature", SignWebhook(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return unavailableNotice(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return unavailableNotice(fmt.Errorf("gateway answered %s", resp.Status))
	}
	return nil
}

func unavailableNotice(err error) error {
	return &kaiping.Error{Kind: kaiping.KindUnavailable, Code: "notify.unavailable",
		Message: "通知网关暂时无法送达", Op: "evaluation.WebhookNotifier", Err: err}
}

// drawnText and assignedText are the notices' words.
func drawnText(name string, s, e, by time.Time) string {
	return fmt.Sprintf("%s专家：您被随机抽取参加 %s 至 %s 的评标，请于 %s 前登录开评系统确认是否参加。",
		name, minute(s), minute(e), minute(by))
}

func assignedText(name, venue, address, seat string, s time.Time) string {
	return fmt.Sprintf("%s专家：请于 %s 前到 %s（%s）%s 号工位签到评标，携带本人身份证。",
		name, minute(s), venue, address, seat)
}

func minute(t time.Time) string { return t.In(kaiping.BeijingTime).Format("2006-01-02 15:04") }

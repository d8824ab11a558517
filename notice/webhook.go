package notice

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/kaiping/kaiping"
)

// WebhookMessage is what a gateway receives: enough to send an SMS or place a voice call.
type WebhookMessage struct {
	ID    kaiping.ID `json:"id"`
	Kind  string     `json:"kind"`
	Phone string     `json:"phone"`
	Title string     `json:"title"`
	// Text is the message as the SMS or the voice call says it.
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// WebhookSender POSTs each notice as JSON to a gateway (an SMS platform's adapter, the
// centre's messaging hub). Each request carries
//
//	X-Kaiping-Timestamp: <unix seconds>
//	X-Kaiping-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// so the gateway can refuse forged or replayed notices (Stripe's scheme). The message ID
// stays the same across retries, so a gateway can drop a repeat.
type WebhookSender struct {
	url    string
	secret []byte
	client *http.Client
	clock  kaiping.Clock
}

// NewWebhookSender returns a sender posting to url, signing with secret (at least 32 bytes).
// client may be nil for a client with a 10-second timeout.
func NewWebhookSender(url string, secret []byte, client *http.Client, clock kaiping.Clock) (*WebhookSender, error) {
	if len(secret) < 32 {
		return nil, kaiping.E(kaiping.KindInvalid, "config.notify_secret", "通知网关签名密钥至少 32 字节")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &WebhookSender{url: url, secret: secret, client: client, clock: clock}, nil
}

// SignWebhook returns the X-Kaiping-Signature value for body sent at timestamp.
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send implements Sender; anything but a 2xx answer is an error (KindUnavailable).
func (w *WebhookSender) Send(ctx context.Context, d Delivery) error {
	body, err := json.Marshal(WebhookMessage{ID: d.Notice.ID, Kind: d.Notice.Kind, Phone: d.Address,
		Title: d.Notice.Title, Text: d.Notice.Body, CreatedAt: d.Notice.CreatedAt})
	if err != nil {
		return kaiping.Internal("notice.WebhookSender", err)
	}
	ts := strconv.FormatInt(w.clock.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return kaiping.Internal("notice.WebhookSender", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Kaiping-Timestamp", ts)
	req.Header.Set("X-Kaiping-Signature", SignWebhook(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return unavailable("notice.WebhookSender", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return unavailable("notice.WebhookSender", fmt.Errorf("gateway answered %s", resp.Status))
	}
	return nil
}

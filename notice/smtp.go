package notice

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"time"

	"github.com/kaiping/kaiping"
)

// SMTPConfig is the mail server notices are sent through.
type SMTPConfig struct {
	Host string
	Port int
	// From is the sender's address (通知邮箱), e.g. "noreply@ggzy.example.cn".
	From string
	// Username and Password, when set, log in with AUTH PLAIN (over TLS only, or on loopback:
	// net/smtp refuses to send a password in the clear anywhere else).
	Username, Password string
	// StartTLS requires STARTTLS before anything is sent; off only for a relay on loopback.
	StartTLS bool
	// Timeout bounds one delivery, connection to QUIT; zero is 30 seconds.
	Timeout time.Duration
}

// SMTPSender sends notices as e-mail: a plain-text UTF-8 message, base64-encoded, with the
// subject encoded by RFC 2047, so Chinese survives every relay.
type SMTPSender struct {
	cfg   SMTPConfig
	clock kaiping.Clock
}

// NewSMTPSender returns a sender through cfg's server.
func NewSMTPSender(cfg SMTPConfig, clock kaiping.Clock) (*SMTPSender, error) {
	if cfg.Host == "" || cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("notify.smtp: host and port are required")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("notify.smtp.from: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTPSender{cfg: cfg, clock: clock}, nil
}

// Send implements Sender.
func (s *SMTPSender) Send(ctx context.Context, d Delivery) error {
	to, err := mail.ParseAddress(d.Address)
	if err != nil {
		return kaiping.E(kaiping.KindInvalid, "notify.email_address", "电子邮箱地址无效")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return unavailable("notice.SMTPSender", err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return unavailable("notice.SMTPSender", err)
	}
	defer c.Close()
	if err := s.session(c, to.Address, s.message(d, to)); err != nil {
		return unavailable("notice.SMTPSender", err)
	}
	return nil
}

func (s *SMTPSender) session(c *smtp.Client, to string, msg []byte) error {
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if s.cfg.StartTLS {
		if err := c.StartTLS(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return err
		}
	}
	from, _ := mail.ParseAddress(s.cfg.From)
	if err := c.Mail(from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message is the RFC 5322 message of d: the body base64 in lines of 76, CRLF throughout.
func (s *SMTPSender) message(d Delivery, to *mail.Address) []byte {
	var b bytes.Buffer
	from, _ := mail.ParseAddress(s.cfg.From)
	host := "kaiping"
	if _, h, ok := cut(from.Address); ok {
		host = h
	}
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from.String())
	hdr("To", to.String())
	hdr("Subject", mime.BEncoding.Encode("UTF-8", d.Notice.Title))
	hdr("Date", s.clock.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+string(d.ID)+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `text/plain; charset="UTF-8"`)
	hdr("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(d.Notice.Body + "\r\n"))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

func cut(addr string) (string, string, bool) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[:i], addr[i+1:], true
		}
	}
	return addr, "", false
}

func unavailable(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindUnavailable, Code: "notify.unavailable",
		Message: "通知暂时无法送达", Op: op, Err: err}
}

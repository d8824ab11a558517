package embedded

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config configures the embedded SFU. Zero durations and limits take the defaults below.
type Config struct {
	// Secret signs grants and derives TURN passwords; at least 32 bytes. Several kaiping
	// processes sharing one secret accept each other's grants.
	Secret []byte
	// URL is the public WebSocket URL of the signaling route, put into every grant
	// (e.g. "wss://kaiping.example.cn/media/ws").
	URL string
	// UDPAddr is the one UDP address every peer's media uses (the UDP mux), e.g. ":7882".
	UDPAddr string
	// TCPAddr is the ICE-TCP fallback address; "" disables ICE-TCP.
	TCPAddr string
	// PublicIPs, if set, are announced as host candidates instead of the local addresses
	// (a server behind 1:1 NAT).
	PublicIPs []string
	// Loopback announces loopback candidates: needed when peers run on the same machine
	// with only lo (tests, the demo).
	Loopback bool

	// GrantTTL is how long a grant may be used to join. Default 5 minutes.
	GrantTTL time.Duration
	// JoinWait is how long a new WebSocket may take to send its join. Default 10 s.
	JoinWait time.Duration
	// ICETimeout drops a participant whose media connection is not up this long after its
	// first offer/answer exchange. Default 15 s.
	ICETimeout time.Duration
	// ResumeWindow is how long a participant whose WebSocket or media connection dropped is
	// kept for it to resume without a new grant. Default 60 s.
	ResumeWindow time.Duration
	// PingInterval is how often the server pings the WebSocket; a socket silent for two
	// intervals is considered dropped. Default 15 s.
	PingInterval time.Duration
	// ICEDisconnectedTimeout and ICEFailedTimeout are pion's ICE timers (defaults 5 s, 25 s).
	ICEDisconnectedTimeout time.Duration
	ICEFailedTimeout       time.Duration
	// JoinsPerSecond and JoinBurst limit joins (resumes included) over the whole server.
	// Defaults 20 and 40.
	JoinsPerSecond float64
	JoinBurst      int
	// MaxParticipants is the default bound of a room. Default 500.
	MaxParticipants int
	// QueuePackets bounds each subscriber track's queue; a subscriber that falls further
	// behind loses packets rather than delaying the others. Default 512.
	QueuePackets int

	// TURN, if set, runs an embedded TURN server.
	TURN *TURNConfig
}

// TURNConfig configures the embedded TURN server (TCP and TLS, for office networks that
// block UDP). Credentials are short-lived and derived from the media secret.
type TURNConfig struct {
	// TCPAddr and TLSAddr are the listen addresses; at least one is required.
	TCPAddr string
	TLSAddr string
	// TLSCertificate serves TLSAddr.
	TLSCertificate *tls.Certificate
	// Host is the name or address clients use to reach the TURN server.
	Host string
	// RelayIP is the address relayed traffic leaves from (and is announced to peers).
	RelayIP string
	// Realm defaults to "kaiping".
	Realm string
	// CredentialTTL is how long the TURN credentials handed out at join stay valid.
	// Default 12 h: a TURN allocation re-authenticates on every refresh, so the credential
	// must outlive the session.
	CredentialTTL time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.GrantTTL, 5*time.Minute)
	def(&c.JoinWait, 10*time.Second)
	def(&c.ICETimeout, 15*time.Second)
	def(&c.ResumeWindow, 60*time.Second)
	def(&c.PingInterval, 15*time.Second)
	def(&c.ICEDisconnectedTimeout, 5*time.Second)
	def(&c.ICEFailedTimeout, 25*time.Second)
	if c.JoinsPerSecond == 0 {
		c.JoinsPerSecond = 20
	}
	if c.JoinBurst == 0 {
		c.JoinBurst = 40
	}
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 500
	}
	if c.QueuePackets == 0 {
		c.QueuePackets = 512
	}
	if c.TURN != nil {
		t := *c.TURN
		if t.Realm == "" {
			t.Realm = "kaiping"
		}
		def(&t.CredentialTTL, 12*time.Hour)
		c.TURN = &t
	}
	return c
}

// Validate reports the first configuration error.
func (c Config) Validate() error {
	if len(c.Secret) < 32 {
		return errors.New("media secret must be at least 32 bytes")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("media URL %q must be a ws:// or wss:// URL", c.URL)
	}
	if c.UDPAddr == "" {
		return errors.New("media UDP address is required")
	}
	if t := c.TURN; t != nil {
		if t.TCPAddr == "" && t.TLSAddr == "" {
			return errors.New("TURN needs a TCP or TLS listen address")
		}
		if t.TLSAddr != "" && t.TLSCertificate == nil {
			return errors.New("TURN over TLS needs a certificate")
		}
		if t.Host == "" || t.RelayIP == "" {
			return errors.New("TURN needs a host and a relay IP")
		}
	}
	return nil
}

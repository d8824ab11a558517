package embedded

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/turn/v4"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling/pionlog"
	"github.com/kaiping/kaiping/signaling/wire"
)

// turnServer is the embedded TURN server: TCP and TLS listeners for clients behind
// firewalls that block UDP, relaying only to this machine's own addresses (the SFU), with
// TURN REST-style credentials derived from the media secret.
type turnServer struct {
	cfg    TURNConfig
	keys   keys
	clock  kaiping.Clock
	server *turn.Server
	tcp    net.Listener
	tls    net.Listener
}

func newTURNServer(cfg TURNConfig, k keys, clock kaiping.Clock, log *slog.Logger) (*turnServer, error) {
	t := &turnServer{cfg: cfg, keys: k, clock: clock}
	relay := net.ParseIP(cfg.RelayIP)
	if relay == nil {
		return nil, fmt.Errorf("TURN relay IP %q is not an IP address", cfg.RelayIP)
	}
	gen := &turn.RelayAddressGeneratorStatic{RelayAddress: relay, Address: cfg.RelayIP}
	var listeners []turn.ListenerConfig
	var err error
	if cfg.TCPAddr != "" {
		if t.tcp, err = net.Listen("tcp", cfg.TCPAddr); err != nil {
			return nil, fmt.Errorf("TURN TCP %s: %w", cfg.TCPAddr, err)
		}
		listeners = append(listeners, turn.ListenerConfig{Listener: t.tcp, RelayAddressGenerator: gen, PermissionHandler: ownAddresses})
	}
	if cfg.TLSAddr != "" {
		if t.tls, err = tls.Listen("tcp", cfg.TLSAddr, &tls.Config{
			Certificates: []tls.Certificate{*cfg.TLSCertificate}, MinVersion: tls.VersionTLS12,
		}); err != nil {
			t.close()
			return nil, fmt.Errorf("TURN TLS %s: %w", cfg.TLSAddr, err)
		}
		listeners = append(listeners, turn.ListenerConfig{Listener: t.tls, RelayAddressGenerator: gen, PermissionHandler: ownAddresses})
	}
	if t.server, err = turn.NewServer(turn.ServerConfig{
		Realm: cfg.Realm, AuthHandler: t.authenticate, ListenerConfigs: listeners,
		LoggerFactory: pionlog.Factory(log),
	}); err != nil {
		t.close()
		return nil, fmt.Errorf("TURN server: %w", err)
	}
	log.Info("TURN server listening", "tcp", t.tcpAddr(), "tls", t.tlsAddr())
	return t, nil
}

// authenticate accepts "expiry:identity" usernames that have not expired, with the password
// derived from the username.
func (t *turnServer) authenticate(username, realm string, _ net.Addr) ([]byte, bool) {
	exp, _, ok := strings.Cut(username, ":")
	if !ok {
		return nil, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !t.clock.Now().Before(time.Unix(sec, 0)) {
		return nil, false
	}
	return turn.GenerateAuthKey(username, realm, t.keys.turnPassword(username)), true
}

// ownAddresses lets clients relay only to this machine: the TURN server is a way into the
// SFU, not an open relay.
func ownAddresses(_ net.Addr, peer net.IP) bool {
	if peer.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(peer) {
			return true
		}
	}
	return false
}

// iceServers returns the TURN URLs with fresh credentials for identity.
func (t *turnServer) iceServers(identity string) []wire.ICEServer {
	user, pass := t.keys.turnCredentials(identity, t.clock.Now().Add(t.cfg.CredentialTTL))
	var urls []string
	if t.tcp != nil {
		urls = append(urls, fmt.Sprintf("turn:%s?transport=tcp", net.JoinHostPort(t.cfg.Host, port(t.tcp.Addr()))))
	}
	if t.tls != nil {
		urls = append(urls, fmt.Sprintf("turns:%s?transport=tcp", net.JoinHostPort(t.cfg.Host, port(t.tls.Addr()))))
	}
	return []wire.ICEServer{{URLs: urls, Username: user, Credential: pass}}
}

func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func (t *turnServer) tcpAddr() net.Addr {
	if t.tcp == nil {
		return nil
	}
	return t.tcp.Addr()
}

func (t *turnServer) tlsAddr() net.Addr {
	if t.tls == nil {
		return nil
	}
	return t.tls.Addr()
}

func (t *turnServer) close() {
	if t.server != nil {
		_ = t.server.Close() // closes the listeners it was given
		return
	}
	if t.tcp != nil {
		_ = t.tcp.Close()
	}
	if t.tls != nil {
		_ = t.tls.Close()
	}
}

package embedded

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"

	"github.com/kaiping/kaiping/signaling/pionlog"
)

// The codecs the SFU forwards: Opus and VP8, which every browser sends and the recorder
// writes raw (Ogg, IVF). One codec per kind keeps forwarding a plain copy.
var (
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}
	vp8Codec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}},
		},
		PayloadType: 96,
	}
)

// nackBufferPackets is how many sent packets each outgoing stream keeps for retransmission
// (a power of two). 256 packets is several seconds of 500 kbps video, and keeps memory
// bounded when one track has hundreds of subscribers.
const nackBufferPackets = 256

// transport is the network side shared by every peer connection: one UDP socket (the UDP
// mux) and optionally one ICE-TCP listener.
type transport struct {
	api     *webrtc.API
	udpConn net.PacketConn
	udpMux  ice.UDPMux
	tcpLn   net.Listener
	tcpMux  ice.TCPMux
}

func newTransport(cfg Config, log *slog.Logger) (*transport, error) {
	t := &transport{}
	ok := false
	defer func() {
		if !ok {
			t.close()
		}
	}()
	var err error
	if t.udpConn, err = net.ListenPacket("udp", cfg.UDPAddr); err != nil {
		return nil, fmt.Errorf("media UDP %s: %w", cfg.UDPAddr, err)
	}
	t.udpMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: t.udpConn, Logger: pionlog.Factory(log).NewLogger("udpmux")})
	se := webrtc.SettingEngine{LoggerFactory: pionlog.Factory(log)}
	se.SetICEUDPMux(t.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.TCPAddr != "" {
		if t.tcpLn, err = net.Listen("tcp", cfg.TCPAddr); err != nil {
			return nil, fmt.Errorf("media ICE-TCP %s: %w", cfg.TCPAddr, err)
		}
		t.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: t.tcpLn, ReadBufferSize: 64,
			Logger: pionlog.Factory(log).NewLogger("tcpmux")})
		se.SetICETCPMux(t.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, 0)
	if len(cfg.PublicIPs) > 0 {
		// The host candidates are announced with the public addresses instead of the local ones.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			return nil, fmt.Errorf("media public addresses: %w", err)
		}
	}

	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(opusCodec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(vp8Codec, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNackWithOptions(m, ir, nil, nack.ResponderSize(nackBufferPackets)); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, err
	}
	t.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	ok = true
	return t, nil
}

// udpAddr is the bound UDP address (useful when configured with port 0).
func (t *transport) udpAddr() net.Addr { return t.udpConn.LocalAddr() }

func (t *transport) close() {
	if t.udpMux != nil {
		_ = t.udpMux.Close()
	}
	if t.udpConn != nil {
		_ = t.udpConn.Close()
	}
	if t.tcpMux != nil {
		_ = t.tcpMux.Close()
	}
	if t.tcpLn != nil {
		_ = t.tcpLn.Close()
	}
}

package embedded

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestPublicIPsAnnounced: with public addresses configured (the SFU behind a 1:1 NAT), the
// host candidates the server gathers carry the public address, not the local one.
func TestPublicIPsAnnounced(t *testing.T) {
	for _, tc := range []struct {
		name      string
		public    []string
		want, not string
	}{
		{"public address configured", []string{"203.0.113.7"}, "203.0.113.7", "127.0.0.1"},
		{"none configured", nil, "127.0.0.1", "203.0.113.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := newTransport(Config{UDPAddr: "127.0.0.1:0", PublicIPs: tc.public, Loopback: true,
				ICEDisconnectedTimeout: time.Second, ICEFailedTimeout: 2 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer tr.close()
			pc, err := tr.api.NewPeerConnection(webrtc.Configuration{})
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
				t.Fatal(err)
			}
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			gathered := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(offer); err != nil {
				t.Fatal(err)
			}
			<-gathered
			sdp := pc.LocalDescription().SDP
			var candidates []string
			for _, line := range strings.Split(sdp, "\r\n") {
				if strings.HasPrefix(line, "a=candidate:") && strings.Contains(line, "typ host") {
					candidates = append(candidates, line)
				}
			}
			joined := strings.Join(candidates, "\n")
			if !strings.Contains(joined, " "+tc.want+" ") || strings.Contains(joined, " "+tc.not+" ") {
				t.Errorf("host candidates:\n%s\nwant %s and not %s", joined, tc.want, tc.not)
			}
		})
	}
}

package httpapi

import (
	"net/netip"
	"testing"

	"github.com/kaiping/kaiping"
)

func TestResolveClientAddress(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1", "::ffff:198.51.100.1"})
	if err != nil {
		t.Fatal(err)
	}
	lb := netip.MustParseAddr("10.1.2.3")
	tests := []struct {
		name string
		peer netip.Addr
		xff  []string
		want string // "" = refused
	}{
		{"direct client, no header", netip.MustParseAddr("203.0.113.5"), nil, "203.0.113.5"},
		{"direct client forging the header", netip.MustParseAddr("203.0.113.5"), []string{"1.1.1.1"}, "203.0.113.5"},
		{"direct client, v4-mapped peer", netip.MustParseAddr("::ffff:203.0.113.5"), nil, "203.0.113.5"},
		{"through the proxy", lb, []string{"203.0.113.9"}, "203.0.113.9"},
		{"forged entry left of the real one", lb, []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted hops", lb, []string{"6.6.6.6, 203.0.113.9, 10.9.9.9, 192.0.2.1"}, "203.0.113.9"},
		{"header split over two lines", lb, []string{"6.6.6.6", "203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"garbage left of the real one is the client's own", lb, []string{"not-an-ip, 203.0.113.9"}, "203.0.113.9"},
		{"with a port", lb, []string{"203.0.113.9:51000"}, "203.0.113.9"},
		{"ipv6", lb, []string{"2001:db8::7"}, "2001:db8::7"},
		{"v4-mapped trusted proxy in the list", lb, []string{"203.0.113.9, 198.51.100.1"}, "203.0.113.9"},
		{"blank header from the proxy", lb, []string{""}, ""},
		{"no header from the proxy", lb, nil, ""},
		{"garbage as the last entry", lb, []string{"203.0.113.9, garbage"}, ""},
		{"only trusted hops", lb, []string{"10.0.0.1, 192.0.2.1"}, ""},
		{"no peer", netip.Addr{}, []string{"203.0.113.9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines [][]byte
			for _, l := range tt.xff {
				lines = append(lines, []byte(l))
			}
			got, err := proxies.Resolve(tt.peer, lines)
			if tt.want == "" {
				if kaiping.CodeOf(err) != "request.address_unknown" {
					t.Fatalf("Resolve = %v, %v; want request.address_unknown", got, err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("Resolve = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"lb.example"}); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
}

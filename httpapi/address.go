package httpapi

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// TrustedProxies are the load balancers whose X-Forwarded-For is believed. The ledger records
// every operation's network address (电子招标投标办法: time, address, operator), so the
// address must be one nobody can choose: a client can write anything into X-Forwarded-For,
// and only what the proxies we run appended is true.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads addresses ("10.0.0.7") and networks ("10.0.0.0/8").
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	var t TrustedProxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return TrustedProxies{}, fmt.Errorf("%q is neither an IP address nor a network like 10.0.0.0/8", s)
		}
		a = a.Unmap().WithZone("")
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

func (t TrustedProxies) trusts(a netip.Addr) bool {
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address of a request that arrived from peer with the given
// X-Forwarded-For header lines (in the order received). A peer that is not a trusted proxy
// is the client, whatever the header says. From a trusted proxy, the header is walked from
// the right, skipping trusted proxies: the first other address is the one the outermost
// trusted proxy saw connect, and everything to its left is the client's own say. A header
// that is missing, malformed before that address is reached, or holds only trusted proxies
// leaves the address unknown: an error, never a blank.
func (t TrustedProxies) Resolve(peer netip.Addr, forwardedFor [][]byte) (netip.Addr, error) {
	if !peer.IsValid() {
		return netip.Addr{}, addressUnknown()
	}
	peer = peer.Unmap().WithZone("")
	if !t.trusts(peer) {
		return peer, nil
	}
	var hops []string
	for _, line := range forwardedFor {
		for _, h := range bytes.Split(line, []byte{','}) {
			hops = append(hops, string(bytes.TrimSpace(h)))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return netip.Addr{}, addressUnknown()
		}
		if !t.trusts(a) {
			return a, nil
		}
	}
	return netip.Addr{}, addressUnknown()
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a port.
func parseHop(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func addressUnknown() error {
	return kaiping.E(kaiping.KindInvalid, "request.address_unknown",
		"无法确定请求的来源网络地址（代理转发信息缺失或格式错误），请求被拒绝")
}

const addressKey = "kaiping.address"

// ClientAddress resolves every request's client address with t (see Resolve) before any
// handler runs, and refuses the request when it cannot: the ledger must never record a blank
// or client-chosen address. ActorOf and AddrOf read what it resolved.
func ClientAddress(t TrustedProxies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := t.Resolve(peerOf(c), c.Request().Header.PeekAll(fiber.HeaderXForwardedFor))
		if err != nil {
			return err
		}
		c.Locals(addressKey, a)
		return c.Next()
	}
}

// AddrOf is the client address of the request: what ClientAddress resolved, or the TCP peer
// when it did not run (an app without the middleware believes no header).
func AddrOf(c *fiber.Ctx) netip.Addr {
	if a, ok := c.Locals(addressKey).(netip.Addr); ok {
		return a
	}
	return peerOf(c).Unmap().WithZone("")
}

func peerOf(c *fiber.Ctx) netip.Addr {
	a, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	return a
}

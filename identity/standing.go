package identity

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/kaiping/kaiping"
)

// maxCachedStandings bounds the standing cache: past it, expired entries go, and if that is
// not enough, all of them (the cost is one query per principal, not a wrong answer).
const maxCachedStandings = 10000

// refusal is why a session or login of this standing is refused, or nil.
func (st Standing) refusal() error {
	switch {
	case st.Disabled:
		return kaiping.E(kaiping.KindUnauthenticated, "auth.principal_disabled", "该用户已被停用，请联系交易中心")
	case !st.Certificate:
		return kaiping.E(kaiping.KindUnauthenticated, "auth.cert_revoked", "登录所用的证书已被注销，请使用其他已登记的证书重新登录")
	}
	return nil
}

// standing returns the principal's standing for a session on fingerprint, from the cache
// while fresh.
func (s *Service) standing(ctx context.Context, principal kaiping.ID, fingerprint string) (Standing, error) {
	now := s.clock.Now()
	key := standingKey{principal, fingerprint}
	if st, ok := s.standings.get(key, now); ok {
		return st, nil
	}
	st, err := s.store.Standing(ctx, principal, fingerprint)
	if kaiping.IsKind(err, kaiping.KindNotFound) {
		return Standing{}, kaiping.E(kaiping.KindUnauthenticated, "auth.principal_unknown", "登录凭证所属的用户不存在，请重新登录")
	}
	if err != nil {
		return Standing{}, err
	}
	s.standings.put(key, st, now)
	return st, nil
}

type standingKey struct {
	principal   kaiping.ID
	fingerprint string
}

type cachedStanding struct {
	st      Standing
	fetched time.Time
}

// standingCache keeps standings for ttl by the injected clock. It is per replica: a change
// made here forgets the principal at once; another replica learns it within ttl.
type standingCache struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[standingKey]cachedStanding
}

func newStandingCache(ttl time.Duration, max int) *standingCache {
	return &standingCache{ttl: ttl, max: max, m: map[standingKey]cachedStanding{}}
}

func (c *standingCache) get(k standingKey, now time.Time) (Standing, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	// Before fetched too: a clock set back must not make an entry live longer.
	if !ok || now.Sub(e.fetched) >= c.ttl || now.Before(e.fetched) {
		return Standing{}, false
	}
	return e.st, true
}

func (c *standingCache) put(k standingKey, st Standing, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.Sub(e.fetched) >= c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = cachedStanding{st: st, fetched: now}
}

// forget drops every entry of principal, after a change made on this replica.
func (c *standingCache) forget(principal kaiping.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.principal == principal {
			delete(c.m, k)
		}
	}
}

// SetDisabled disables (or enables again) a principal: its sessions are refused from the
// next request on this replica, and within the status cache's time on the others. An admin
// cannot disable itself: the platform must keep someone who can undo it.
func (s *Service) SetDisabled(ctx context.Context, a kaiping.Actor, principal kaiping.ID, disabled bool) error {
	if disabled && principal == a.Principal {
		return kaiping.E(kaiping.KindConflict, "principal.self_lockout", "不能停用自己的账号")
	}
	defer s.standings.forget(principal)
	return s.store.SetDisabled(ctx, a, principal, disabled)
}

// SetRoles replaces a principal's roles; its sessions carry the new roles from the next
// request. An admin cannot take the admin role from itself.
func (s *Service) SetRoles(ctx context.Context, a kaiping.Actor, principal kaiping.ID, roles []kaiping.Role) error {
	if err := checkRoles(roles); err != nil {
		return err
	}
	if principal == a.Principal && !slices.Contains(roles, kaiping.RoleAdmin) {
		return kaiping.E(kaiping.KindConflict, "principal.self_lockout", "不能取消自己的管理员角色")
	}
	defer s.standings.forget(principal)
	return s.store.SetRoles(ctx, a, principal, roles)
}

// RevokeCertificate revokes (注销) one of a principal's certificates: it no longer logs in,
// and the sessions that logged in with it end.
func (s *Service) RevokeCertificate(ctx context.Context, a kaiping.Actor, principal kaiping.ID, fingerprint string) error {
	defer s.standings.forget(principal)
	return s.store.RevokeCertificate(ctx, a, principal, fingerprint)
}

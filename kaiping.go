// Package kaiping is the shared vocabulary of the Kaiping (开评) service: identifiers, roles,
// the authenticated principal, the actor behind every state change, error kinds and the clock.
//
// Domain packages (opening, evaluation) and adapters (storage, signaling) all speak in these
// terms; this package imports nothing but the standard library.
package kaiping

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"
)

// ID identifies a stored thing (a principal, a tender, a bid, ...). It is a random 128-bit
// value in the canonical UUID text form, so PostgreSQL can store it as uuid.
type ID string

// NewID returns a fresh random ID (UUID version 4).
func NewID() ID {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("kaiping: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return ID(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32])
}

// Valid reports whether id has the canonical UUID text form.
func (id ID) Valid() bool {
	s := string(id)
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Role is what a principal may do. A principal may hold several roles.
type Role string

// The roles: who uses Kaiping (README, "What it is and who uses it").
const (
	RoleBidder     Role = "bidder"      // 投标人
	RoleExpert     Role = "expert"      // 评标专家
	RoleHost       Role = "host"        // 主持人 (agent or centre staff)
	RoleVenueStaff Role = "venue_staff" // 主场/副场工作人员
	RoleSupervisor Role = "supervisor"  // 监督人员
	RoleAdmin      Role = "admin"       // 系统管理员
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleBidder, RoleExpert, RoleHost, RoleVenueStaff, RoleSupervisor, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}

// Label is the Simplified Chinese name users know the role by.
func (r Role) Label() string {
	switch r {
	case RoleBidder:
		return "投标人"
	case RoleExpert:
		return "评标专家"
	case RoleHost:
		return "主持人"
	case RoleVenueStaff:
		return "场地工作人员"
	case RoleSupervisor:
		return "监督人员"
	case RoleAdmin:
		return "系统管理员"
	}
	return string(r)
}

// Principal is an authenticated user: a person or organisation holding a registered
// certificate (数字证书), with the roles the centre granted.
type Principal struct {
	ID    ID     `json:"id"`
	Name  string `json:"name"`
	Org   string `json:"org,omitempty"`
	Roles []Role `json:"roles"`
}

// Has reports whether p holds role r.
func (p Principal) Has(r Role) bool {
	for _, held := range p.Roles {
		if held == r {
			return true
		}
	}
	return false
}

// Actor is who caused a state change, from where and when: what every ledger entry records
// (《电子招标投标办法》 requires time, network address and operator for every operation).
type Actor struct {
	// Principal is empty for the system itself (a deadline passing, start-up bootstrap).
	Principal ID
	Address   netip.Addr
	// At is when the operation happened, at RecordPrecision: what the database, the ledger
	// and the receipt all record, so that they agree to the microsecond.
	At time.Time
}

// RecordPrecision is the precision of every recorded time: PostgreSQL's timestamptz keeps
// microseconds, so an actor's time is truncated to them before anything compares or stores
// it. Truncating (never rounding) keeps a completion one nanosecond late on the late side of
// a deadline.
const RecordPrecision = time.Microsecond

// ActorAt returns the actor principal at address at time at, truncated to RecordPrecision.
func ActorAt(principal ID, address netip.Addr, at time.Time) Actor {
	return Actor{Principal: principal, Address: address, At: at.Truncate(RecordPrecision)}
}

// SystemActor is the actor for changes the platform makes on its own at time at.
func SystemActor(at time.Time) Actor { return ActorAt("", netip.Addr{}, at) }

// Operator names the actor in a ledger entry: the principal ID, or "system".
func (a Actor) Operator() string {
	if a.Principal == "" {
		return "system"
	}
	return string(a.Principal)
}

// String is for logs.
func (a Actor) String() string {
	return fmt.Sprintf("%s@%s", a.Operator(), a.Address)
}

package evaluation

import (
	"context"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/certsign"
)

// groupDraw is what a group's draw says now: the members holding a place, with their seats,
// and how the others' places ended.
type groupDraw struct {
	sitting []SessionMember
	gone    map[kaiping.ID]Departure
}

// current reads what the session's draws say now. It is read outside the session's lock;
// sync then makes the session agree with it, so a replacement drawn by the draw's own route
// (or drawn before the process stopped) reaches the session at its next change.
func (s *Service) current(ctx context.Context, id kaiping.ID) (map[string]groupDraw, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	out := map[string]groupDraw{}
	for _, g := range sess.Groups {
		d, err := s.store.Draw(ctx, g.Draw)
		if err != nil {
			return nil, err
		}
		sitting, err := s.drawMembers(ctx, d)
		if err != nil {
			return nil, err
		}
		members, err := s.store.Members(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		gd := groupDraw{sitting: sitting, gone: map[kaiping.ID]Departure{}}
		for _, m := range members {
			if !m.State.current() {
				dep := Departure{Outcome: m.State, Reason: m.Reason}
				if m.RespondedAt != nil {
					dep.At = *m.RespondedAt
				}
				gd.gone[m.Expert] = dep
			}
		}
		out[g.ID] = gd
	}
	return out, nil
}

// sync brings the drawn members of the session in line with its draws: a member the draw
// replaced is marked so (their work void), a replacement joins, seats follow the dispatch.
func (s *Session) sync(cur map[string]groupDraw, now time.Time) []SessionChange {
	var out []SessionChange
	for _, g := range s.Groups {
		gd, ok := cur[g.ID]
		if !ok {
			continue
		}
		for i := range s.Members {
			m := &s.Members[i]
			if m.Group != g.ID || m.Kind != MemberDrawn || m.Replaced != nil {
				continue
			}
			dep, gone := gd.gone[m.ID]
			if !gone {
				continue
			}
			if dep.At.IsZero() {
				dep.At = now
			}
			m.Replaced = &dep
			c := change(ActionSessionReplace, map[string]any{"group": g.ID, "out": m.ID, "outcome": dep.Outcome, "reason": dep.Reason})
			out = append(out, c)
			out = append(out, s.voidWork(m, now)...)
		}
		for _, x := range gd.sitting {
			m, _ := s.member(x.ID)
			if m == nil {
				x.Group = g.ID
				s.Members = append(s.Members, x)
				c := change(ActionSessionReplace, memberPayload(&x))
				c.Payload["in"] = x.ID
				out = append(out, c)
				continue
			}
			if x.Accepted && !m.Accepted {
				out = append(out, change(ActionSessionAccepted, memberPayload(m)))
			}
			// The login may be linked (or replaced) after the member was drawn.
			if x.Principal != m.Principal {
				c := change(ActionSessionLogin, memberPayload(m))
				c.Payload["principal"] = x.Principal
				out = append(out, c)
			}
			m.Accepted, m.Principal = x.Accepted, x.Principal
			if m.Seat != x.Seat && x.Seat != "" {
				// Moved by the host (Override): the identity check was at the old seat, so a
				// member who has not pledged yet is checked again at the new one.
				m.Venue, m.VenueCode, m.City, m.Seat, m.SeatCode, m.HostSite = x.Venue, x.VenueCode, x.City, x.Seat, x.SeatCode, x.HostSite
				if m.Pledge == nil {
					m.Confirmed = nil
				}
				out = append(out, change(ActionSessionSeatMoved, memberPayload(m)))
			}
		}
	}
	return out
}

// syncSessions brings the running sessions the draw's committee sits in in line with the
// draw, so that an answer given on the draw (a replacement accepting) reaches the session's
// pages and events at once, not at its next change. A failure is logged: the session catches
// up at its next change.
func (s *Service) syncSessions(ctx context.Context, a kaiping.Actor, id kaiping.ID) {
	d, err := s.store.Draw(ctx, id)
	if err != nil {
		s.log.Warn("session: read the draw to sync", "draw_id", id, "err", err)
		return
	}
	ss, err := s.store.Sessions(ctx, d.Tender)
	if err != nil {
		s.log.Warn("session: list the sessions to sync", "draw_id", id, "err", err)
		return
	}
	for _, sess := range ss {
		if sess.State == SessionClosed || sess.State == SessionVoid || !slices.ContainsFunc(sess.Groups, func(g Group) bool { return g.Draw == id }) {
			continue
		}
		if _, err := s.change(ctx, a, sess.ID, func(*Session) ([]SessionChange, error) { return nil, nil }); err != nil {
			s.log.Warn("session: sync with the draw", "session_id", sess.ID, "draw_id", id, "err", err)
		}
	}
}

// addRepresentative seats a tenderer's representative in place of one whose place ended.
func (s *Session) addRepresentative(m SessionMember) ([]SessionChange, error) {
	if err := s.require("增补招标人代表", SessionScheduled, SessionCheckingIn, SessionInReview, SessionSigning, SessionSuspended); err != nil {
		return nil, err
	}
	g := s.group(m.Group)
	if g == nil {
		return nil, kaiping.E(kaiping.KindNotFound, "session.group_not_found", "没有这个评标小组")
	}
	if len(s.sitting(g.ID)) >= g.Size {
		return nil, kaiping.Errorf(kaiping.KindConflict, "session.group_full", "%s 成员已满 %d 人", g.Name, g.Size)
	}
	for _, x := range s.Members {
		if x.Principal == m.Principal {
			return nil, kaiping.E(kaiping.KindConflict, "session.already_member", "此人已是（或曾是）本次评标委员会成员，不能再增补")
		}
	}
	s.Members = append(s.Members, m)
	c := change(ActionSessionReplace, memberPayload(&m))
	c.Payload["in"] = m.ID
	return []SessionChange{c}, nil
}

// verifyPledge checks that sig is the certificate's signature of msg.
func verifyPledge(der, msg, sig []byte) error {
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return kaiping.E(kaiping.KindForbidden, "session.certificate", "登记的证书无法解析，不能用于签署承诺书")
	}
	if ok, _ := certsign.Verify(cert.PublicKey, msg, sig); !ok {
		return kaiping.E(kaiping.KindInvalid, "session.bad_signature", "签名验证失败：签名不是用您登录证书的私钥对本承诺书所作")
	}
	return nil
}

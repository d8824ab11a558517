package evaluation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// OpenedBids is where the committee reads the bids the opening decrypted: the opening keeps
// their file keys wrapped, and the content is decrypted as it streams from object storage,
// never written in the clear anywhere (opening implements it).
type OpenedBids interface {
	// Envelopes lists the envelopes of section the opening verified, once its record is out;
	// before, a KindConflict error says the opening has not finished.
	Envelopes(ctx context.Context, section kaiping.ID) ([]OpenedEnvelope, error)
	// Open streams the plaintext of one such envelope to a's principal, and ledgers that it
	// did before a byte goes out. A stream whose object fails authentication ends with an
	// error, never with a short plaintext presented as whole.
	Open(ctx context.Context, a kaiping.Actor, envelope kaiping.ID) (OpenedEnvelope, io.ReadCloser, error)
}

// OpenedEnvelope is an opened envelope of a bid, as the committee's list shows it.
type OpenedEnvelope struct {
	ID         kaiping.ID `json:"id"`
	Section    kaiping.ID `json:"section_id"`
	Bidder     kaiping.ID `json:"bidder_id"`
	BidderName string     `json:"bidder_name"`
	Kind       string     `json:"kind"`
	// Size is the plaintext's size in bytes, when known (0 if not).
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	FileName    string `json:"file_name,omitempty"`
}

// ReadBidsFrom has the committee read the opened bids from b. Without it the reader routes
// answer "session.bids_unavailable".
func (s *Service) ReadBidsFrom(b OpenedBids) { s.bids = b }

func (s *Service) opened() (OpenedBids, error) {
	if s.bids == nil {
		return nil, kaiping.E(kaiping.KindUnavailable, "session.bids_unavailable", "本平台未配置投标文件阅读服务")
	}
	return s.bids, nil
}

// readyReader refuses a member who may not read bids now: before pledging and declaring, or
// while the session is not running.
func readyReader(sess *Session, m *SessionMember) error {
	if !m.ready() {
		switch m.Stage() {
		case StageArrived:
			return errNotConfirmed()
		case StageConfirmed:
			return kaiping.E(kaiping.KindForbidden, "session.not_pledged", "请先签署评标承诺书，再查阅投标文件")
		}
		return kaiping.E(kaiping.KindForbidden, "session.not_declared", "请先作出回避声明，再查阅投标文件")
	}
	if !sess.State.running() {
		return errSessionState(sess, "查阅投标文件")
	}
	return nil
}

// sectionsOf are the IDs of the sections group g evaluates.
func (s *Session) sectionsOf(group string) []kaiping.ID {
	g := s.group(group)
	out := make([]kaiping.ID, len(g.Sections))
	for i, sec := range g.Sections {
		out[i] = sec.ID
	}
	return out
}

// Bids lists the opened bids of the sections of the group of the member logged in as
// a.Principal, once they pledged and declared no conflict.
func (s *Service) Bids(ctx context.Context, a kaiping.Actor, id kaiping.ID) ([]OpenedEnvelope, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := s.expertActing(&sess, a)
	if err != nil {
		return nil, err
	}
	if err := readyReader(&sess, m); err != nil {
		return nil, err
	}
	bids, err := s.opened()
	if err != nil {
		return nil, err
	}
	out := []OpenedEnvelope{}
	for _, sec := range sess.sectionsOf(m.Group) {
		es, err := bids.Envelopes(ctx, sec)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// ReadBid opens one bid of the member's group for the member logged in as a.Principal. The
// opening ledgers the read (who, which envelope, when) before a byte goes out, and the session
// records it for the overseers, who see who read what, never the content.
func (s *Service) ReadBid(ctx context.Context, a kaiping.Actor, id, envelope kaiping.ID) (OpenedEnvelope, io.ReadCloser, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return OpenedEnvelope{}, nil, err
	}
	m, err := s.expertActing(&sess, a)
	if err != nil {
		return OpenedEnvelope{}, nil, err
	}
	if err := readyReader(&sess, m); err != nil {
		return OpenedEnvelope{}, nil, err
	}
	return s.open(ctx, a, id, sess.sectionsOf(m.Group), envelope, func(sess *Session, env OpenedEnvelope) ([]SessionChange, error) {
		m, err := s.expertActing(sess, a)
		if err != nil {
			return nil, err
		}
		if err := readyReader(sess, m); err != nil {
			return nil, err
		}
		return []SessionChange{readChange(ActionSessionBidRead, m.ID, env, "")}, nil
	})
}

// open opens envelope if it is one of sections' opened bids, then records the read on the
// session with record; should that fail, the stream is closed unread.
func (s *Service) open(ctx context.Context, a kaiping.Actor, id kaiping.ID, sections []kaiping.ID, envelope kaiping.ID,
	record func(*Session, OpenedEnvelope) ([]SessionChange, error)) (OpenedEnvelope, io.ReadCloser, error) {
	bids, err := s.opened()
	if err != nil {
		return OpenedEnvelope{}, nil, err
	}
	found := false
	for _, sec := range sections {
		es, err := bids.Envelopes(ctx, sec)
		if err != nil {
			return OpenedEnvelope{}, nil, err
		}
		found = found || slices.ContainsFunc(es, func(e OpenedEnvelope) bool { return e.ID == envelope })
	}
	if !found {
		return OpenedEnvelope{}, nil, kaiping.E(kaiping.KindNotFound, "session.bid_not_found", "本评标小组评审的标段中没有该投标文件")
	}
	env, body, err := bids.Open(ctx, a, envelope)
	if err != nil {
		return OpenedEnvelope{}, nil, err
	}
	if _, err := s.store.ChangeSession(ctx, a, id, func(sess *Session) ([]SessionChange, error) { return record(sess, env) }); err != nil {
		body.Close()
		return OpenedEnvelope{}, nil, err
	}
	return env, body, nil
}

func readChange(typ string, reader kaiping.ID, env OpenedEnvelope, reason string) SessionChange {
	c := change(typ, map[string]any{"reader": reader, "envelope": env.ID, "section": env.Section,
		"bidder": env.Bidder, "bidder_name": env.BidderName, "kind": env.Kind})
	if reason != "" {
		c.Payload["reason"] = reason
	}
	return c
}

// SupervisorRead opens a bid of the session for a supervisor assigned to its tender, with the
// reason recorded (监督调阅).
func (s *Service) SupervisorRead(ctx context.Context, a kaiping.Actor, id, envelope kaiping.ID, reason string) (OpenedEnvelope, io.ReadCloser, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || runes(reason) > maxReasonRunes {
		return OpenedEnvelope{}, nil, invalid("session.reason", "调阅投标文件须写明原因（不超过 %d 字）", maxReasonRunes)
	}
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return OpenedEnvelope{}, nil, err
	}
	var all []kaiping.ID
	for _, g := range sess.Groups {
		all = append(all, sess.sectionsOf(g.ID)...)
	}
	return s.open(ctx, a, id, all, envelope, func(_ *Session, env OpenedEnvelope) ([]SessionChange, error) {
		return []SessionChange{readChange(ActionSessionSupervisorRead, a.Principal, env, reason)}, nil
	})
}

// Read is one ledgered read of a bid, as overseers list them.
type Read struct {
	Reader     kaiping.ID `json:"reader"`
	Envelope   kaiping.ID `json:"envelope"`
	Section    kaiping.ID `json:"section"`
	Bidder     kaiping.ID `json:"bidder"`
	BidderName string     `json:"bidder_name"`
	Kind       string     `json:"kind"`
	Reason     string     `json:"reason,omitempty"`
	// Supervisor says a supervisor read it through the ledgered route.
	Supervisor bool      `json:"supervisor"`
	At         time.Time `json:"at"`
	LedgerSeq  int64     `json:"ledger_seq"`
}

// Reads lists who read which bid of the session, and when: never the content.
func (s *Service) Reads(ctx context.Context, id kaiping.ID) ([]Read, error) {
	out := []Read{}
	var after int64
	for {
		evs, err := s.store.SessionEvents(ctx, id, after, SessionReader{Overseer: true}, maxEventsPage)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			after = e.Version
			if e.Type != ActionSessionBidRead && e.Type != ActionSessionSupervisorRead {
				continue
			}
			var r Read
			if err := json.Unmarshal(e.Payload, &r); err != nil {
				return nil, kaiping.Internal("evaluation.Reads", err)
			}
			r.Supervisor, r.At, r.LedgerSeq = e.Type == ActionSessionSupervisorRead, e.At, e.LedgerSeq
			out = append(out, r)
		}
		if len(evs) < maxEventsPage {
			return out, nil
		}
	}
}

var envelopeID = param{"envelope", "session.bid_not_found", "投标文件不存在"}

func (s *Service) handleBids(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	bids, err := s.Bids(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
	return ok(c, fiber.Map{"bids": bids}, err)
}

func (s *Service) handleReadBid(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	env, err := envelopeID.of(c)
	if err != nil {
		return err
	}
	e, body, err := s.ReadBid(c.UserContext(), httpapi.ActorOf(c, s.clock), id, env)
	if err != nil {
		return err
	}
	return streamBid(c, e, body)
}

// SupervisorReadRequest is a supervisor's request to read a bid's content.
type SupervisorReadRequest struct {
	Reason string `json:"reason"`
}

func (s *Service) handleSupervisorRead(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	env, err := envelopeID.of(c)
	if err != nil {
		return err
	}
	var req SupervisorReadRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	e, body, err := s.SupervisorRead(c.UserContext(), httpapi.ActorOf(c, s.clock), id, env, req.Reason)
	if err != nil {
		return err
	}
	return streamBid(c, e, body)
}

// streamBid sends a bid's plaintext as it is decrypted, for the browser to show in place
// (PDF bids open in its viewer), never to be cached by anything in between.
func streamBid(c *fiber.Ctx, e OpenedEnvelope, body io.ReadCloser) error {
	ct := e.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Content-Type-Options", "nosniff")
	name := e.FileName
	if name == "" {
		name = fmt.Sprintf("%s-%s", e.BidderName, e.Kind)
	}
	c.Set(fiber.HeaderContentDisposition, "inline; filename*=UTF-8''"+url.PathEscape(name))
	size := -1
	if e.Size > 0 {
		size = int(e.Size)
	}
	return c.SendStream(body, size)
}

func (s *Service) handleReads(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	rs, err := s.Reads(c.UserContext(), id)
	return ok(c, fiber.Map{"reads": rs}, err)
}

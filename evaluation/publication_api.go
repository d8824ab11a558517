package evaluation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

var (
	// The tender's host staff publish, answer and conclude: its evaluation host or its
	// opening host, assigned to it; its supervisors watch.
	publicationHosts   = []kaiping.Role{kaiping.RoleHost}
	publisherDuties    = []kaiping.Duty{kaiping.DutyEvaluationHost, kaiping.DutyHost}
	publicationRead    = []kaiping.Duty{kaiping.DutyEvaluationHost, kaiping.DutyHost, kaiping.DutySupervisor}
	publicationBidders = []kaiping.Role{kaiping.RoleBidder}

	publicationID          = param{"publication", "publication.not_found", "公示不存在或尚未开始"}
	publicationObjectionID = param{"objection", "publication.objection_not_found", "该异议不存在"}
	publicationPublicID    = param{"id", "publication.not_found", "公示不存在或尚未开始"}
)

// Routes returns the publication's endpoints:
//
//	POST /api/v1/sessions/:id/publications                  host staff†  publish the candidates of the closed session
//	GET  /api/v1/sessions/:id/publications                  host staff†, supervisor†  its publications with every objection
//	POST /api/v1/sessions/:id/publications/:publication/objections/:objection/answer  host staff†  answer an objection in writing
//	POST /api/v1/sessions/:id/publications/:publication/conclude  host staff†  end the publication (公示结束)
//	POST /api/v1/bidder/publications/:id/objections         bidder (of the section)  object in writing, with the reasons
//	GET  /api/v1/bidder/publications/:id/objections         bidder       the publication and one's own objections with answers
//	GET  /api/v1/public/publications                        anyone, no login  the started publications (?limit= &offset=)
//	GET  /api/v1/public/publications/:id                    anyone, no login  one publication's public facts
//
// († assigned to the session's tender as its evaluation host or host, or supervisor.) The
// public routes answer with an ETag and a short public max-age: the page is read by many and
// changes rarely.
func (p *Publications) Routes() []httpapi.Route {
	get, post := fiber.MethodGet, fiber.MethodPost
	host := func(path, action string, h fiber.Handler) httpapi.Route {
		return httpapi.Route{Method: post, Path: path, Roles: publicationHosts, Duties: publisherDuties, Tender: p.sessionTender, Ledgered: action, Handler: h}
	}
	base := "/api/v1/sessions/:id/publications"
	return []httpapi.Route{
		host(base, ActionPublicationPublished, p.handlePublish),
		{Method: get, Path: base, Roles: sessionStaff, Duties: publicationRead, Tender: p.sessionTender, Handler: p.handleSessionPublications},
		host(base+"/:publication/objections/:objection/answer", ActionPublicationObjectionAnswered, p.handleAnswer),
		host(base+"/:publication/conclude", ActionPublicationConcluded, p.handleConclude),
		{Method: post, Path: "/api/v1/bidder/publications/:id/objections", Roles: publicationBidders, Ledgered: ActionPublicationObjectionFiled, Handler: p.handleObject},
		{Method: get, Path: "/api/v1/bidder/publications/:id/objections", Roles: publicationBidders, Handler: p.handleMine},
		{Method: get, Path: "/api/v1/public/publications", Public: true, Handler: p.handlePublicList},
		{Method: get, Path: "/api/v1/public/publications/:id", Public: true, Handler: p.handlePublic},
	}
}

// sessionTender finds the tender of the session the path names, for the duty check.
func (p *Publications) sessionTender(c *fiber.Ctx) (kaiping.ID, error) {
	id, err := sessionID.of(c)
	if err != nil {
		return "", err
	}
	sess, err := p.store.Session(c.UserContext(), id)
	return sess.Tender, err
}

func (p *Publications) handlePublish(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	var req PublishRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	a := httpapi.ActorOf(c, p.clock)
	ps, err := p.Publish(c.UserContext(), a, id, req)
	if err != nil {
		return err
	}
	out := make([]StaffPublication, len(ps))
	for i, x := range ps {
		out[i] = staffPublicationView(x, a.At)
	}
	return created(c, fiber.Map{"publications": out}, nil)
}

func (p *Publications) handleSessionPublications(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	ps, err := p.SessionPublications(c.UserContext(), id)
	return ok(c, fiber.Map{"publications": ps}, err)
}

// publicationStep reads the session and publication the path names for a host staff's step.
func publicationStep(c *fiber.Ctx) (session, pub kaiping.ID, err error) {
	if session, err = sessionID.of(c); err != nil {
		return "", "", err
	}
	pub, err = publicationID.of(c)
	return session, pub, err
}

func (p *Publications) handleAnswer(c *fiber.Ctx) error {
	session, pub, err := publicationStep(c)
	if err != nil {
		return err
	}
	objection, err := publicationObjectionID.of(c)
	if err != nil {
		return err
	}
	var req ObjectionAnswerRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	out, err := p.Answer(c.UserContext(), httpapi.ActorOf(c, p.clock), session, pub, objection, req)
	return ok(c, out, err)
}

func (p *Publications) handleConclude(c *fiber.Ctx) error {
	session, pub, err := publicationStep(c)
	if err != nil {
		return err
	}
	out, err := p.Conclude(c.UserContext(), httpapi.ActorOf(c, p.clock), session, pub)
	return ok(c, out, err)
}

func (p *Publications) handleObject(c *fiber.Ctx) error {
	id, err := publicationPublicID.of(c)
	if err != nil {
		return err
	}
	var req ObjectionRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	o, err := p.FileObjection(c.UserContext(), httpapi.ActorOf(c, p.clock), id, req)
	return created(c, o, err)
}

func (p *Publications) handleMine(c *fiber.Ctx) error {
	id, err := publicationPublicID.of(c)
	if err != nil {
		return err
	}
	out, err := p.MyObjections(c.UserContext(), httpapi.ActorOf(c, p.clock), id)
	return ok(c, out, err)
}

// maxPublicPage bounds one page of the public list.
const maxPublicPage = 100

func (p *Publications) handlePublicList(c *fiber.Ctx) error {
	limit, offset := c.QueryInt("limit", 20), c.QueryInt("offset", 0)
	if limit < 1 || limit > maxPublicPage || offset < 0 {
		return invalid("request.paging", "limit 须在 1 至 %d 之间，offset 不得为负", maxPublicPage)
	}
	now := p.clock.Now()
	ps, total, err := p.store.PublicPublications(c.UserContext(), now, limit, offset)
	if err != nil {
		return err
	}
	out := PublicList{Publications: make([]PublicSummary, len(ps)), Total: total, Limit: limit, Offset: offset}
	next := now.Add(publicMaxAge)
	for i, x := range ps {
		out.Publications[i] = publicSummary(x, now)
		next = phaseChange(x, now, next)
	}
	return publicJSON(c, out, now, next)
}

func (p *Publications) handlePublic(c *fiber.Ctx) error {
	id, err := publicationPublicID.of(c)
	if err != nil {
		return err
	}
	now := p.clock.Now()
	pub, err := p.store.PublicPublication(c.UserContext(), id, now)
	if err != nil {
		return err
	}
	return publicJSON(c, publicPublicationView(pub, now), now, phaseChange(pub, now, now.Add(publicMaxAge)))
}

// publicMaxAge is how long a cache may keep a public answer: an objection filed shows on the
// public page within it.
const publicMaxAge = 30 * time.Second

// phaseChange is the earlier of next and the next instant the clock alone changes pub's
// phase (its start or its end), so that no cache keeps a phase past it.
func phaseChange(pub Publication, now, next time.Time) time.Time {
	for _, t := range []time.Time{pub.Starts, pub.Ends} {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	return next
}

// publicJSON answers v as JSON with a strong ETag of its bytes, public for the time until
// expires, and 304 to a request that already holds those bytes. It replaces the no-store
// every /api answer gets: what it serves is public.
func publicJSON(c *fiber.Ctx, v any, now, expires time.Time) error {
	body, err := json.Marshal(v)
	if err != nil {
		return kaiping.Internal("evaluation.publicJSON", err)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	age := max(int(expires.Sub(now)/time.Second), 0)
	c.Set(fiber.HeaderCacheControl, fmt.Sprintf("public, max-age=%d", age))
	c.Set(fiber.HeaderETag, etag)
	for _, t := range strings.Split(c.Get(fiber.HeaderIfNoneMatch), ",") {
		if t = strings.TrimPrefix(strings.TrimSpace(t), "W/"); t == etag || t == "*" {
			return c.SendStatus(fiber.StatusNotModified)
		}
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(body)
}

package evaluation

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

var sectionID = param{"section", "review.section_not_in_session", "本次评标会议不评审该标段"}

// ReviewRoutes returns the review's endpoints. Members act under
// /api/v1/expert/sessions/:id/sections/:section/review (their place, group and the chair are
// checked by the rules); the tender's evaluation host enters the section's facts and
// overseers (its host and supervisors) watch under /api/v1/sessions/:id/sections/:section.
func (s *Service) ReviewRoutes() []httpapi.Route {
	get, post, put := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut
	p := "/api/v1/expert/sessions/:id/sections/:section/review"
	member := func(method, path, action string, h fiber.Handler) httpapi.Route {
		return httpapi.Route{Method: method, Path: p + path, Roles: experts, Ledgered: action, Handler: h}
	}
	return []httpapi.Route{
		member(get, "", "", s.handleMemberReview),
		member(put, "/marks", "", reviewStep(s, fiber.StatusOK, s.SaveMarks)),
		member(post, "/submissions", ActionReviewSubmit, reviewStep(s, fiber.StatusOK, s.SubmitMarks)),
		member(post, "/sheets/reopen", ActionReviewReopenMark, reviewStep(s, fiber.StatusOK, s.ReopenSheet)),
		member(post, "/conclude-initial", ActionReviewConclude, s.handleConclude),
		member(post, "/decisions", ActionReviewDecision, reviewStep(s, fiber.StatusOK, s.Decide)),
		member(post, "/notes", ActionReviewNote, reviewStep(s, fiber.StatusOK, s.Note)),
		member(post, "/summary", ActionReviewSummary, s.handleSummarize),
		member(post, "/reopen", ActionReviewReopen, reviewStep(s, fiber.StatusOK, s.Reopen)),
		{Method: get, Path: "/api/v1/sessions/:id/sections/:section/review", Roles: sessionStaff, Duties: drawDuties,
			Tender: s.sessionTender, Handler: s.handleOverseerReview},
		{Method: put, Path: "/api/v1/sessions/:id/sections/:section/review/facts", Roles: drawHosts, Duties: evalHostDuty,
			Tender: s.sessionTender, Ledgered: ActionReviewFacts, Handler: reviewStep(s, fiber.StatusOK, s.SetFacts)},
	}
}

// sessionSection reads the session and section the path names.
func sessionSection(c *fiber.Ctx) (kaiping.ID, kaiping.ID, error) {
	id, err := sessionID.of(c)
	if err != nil {
		return "", "", err
	}
	sec, err := sectionID.of(c)
	return id, sec, err
}

// reviewStep handles a step with a JSON body on the section the path names.
func reviewStep[T any](s *Service, status int, step func(context.Context, kaiping.Actor, kaiping.ID, kaiping.ID, T) (Review, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, sec, err := sessionSection(c)
		if err != nil {
			return err
		}
		var in T
		if err := httpapi.DecodeJSON(c, &in); err != nil {
			return err
		}
		rev, err := step(c.UserContext(), httpapi.ActorOf(c, s.clock), id, sec, in)
		if err != nil {
			return err
		}
		return c.Status(status).JSON(rev)
	}
}

func (s *Service) handleConclude(c *fiber.Ctx) error {
	id, sec, err := sessionSection(c)
	if err != nil {
		return err
	}
	rev, err := s.ConcludeInitial(c.UserContext(), httpapi.ActorOf(c, s.clock), id, sec)
	return ok(c, rev, err)
}

func (s *Service) handleSummarize(c *fiber.Ctx) error {
	id, sec, err := sessionSection(c)
	if err != nil {
		return err
	}
	rev, err := s.Summarize(c.UserContext(), httpapi.ActorOf(c, s.clock), id, sec)
	return ok(c, rev, err)
}

func (s *Service) handleMemberReview(c *fiber.Ctx) error {
	return s.handleReview(c, false)
}

func (s *Service) handleOverseerReview(c *fiber.Ctx) error {
	return s.handleReview(c, true)
}

func (s *Service) handleReview(c *fiber.Ctx, overseer bool) error {
	id, sec, err := sessionSection(c)
	if err != nil {
		return err
	}
	v, err := s.ReviewOf(c.UserContext(), httpapi.ActorOf(c, s.clock), id, sec, overseer)
	return ok(c, v, err)
}

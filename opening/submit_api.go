package opening

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Routes returns the submission endpoints, all for bidders and each checked against the
// bidder's own registration and uploads:
//
//	POST /api/v1/tenders/:id/sections/:section/uploads   start an upload → part URLs
//	GET  /api/v1/uploads/:upload                          resume: stored parts + URLs for the rest
//	POST /api/v1/uploads/:upload/complete                 complete → receipt (回执)
func (s *Submission) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodPost, Path: "/api/v1/tenders/:id/sections/:section/uploads", Roles: bidders, Handler: s.handleStart},
		{Method: fiber.MethodGet, Path: "/api/v1/uploads/:upload", Roles: bidders, Handler: s.handleResume},
		{Method: fiber.MethodPost, Path: "/api/v1/uploads/:upload/complete", Roles: bidders, Handler: s.handleComplete},
	}
}

func (s *Submission) handleStart(c *fiber.Ctx) error {
	a := httpapi.ActorOf(c, s.clock)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req StartUploadRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	tk, err := s.StartUpload(c.UserContext(), a, id, c.Params("section"), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(tk)
}

func uploadParam(c *fiber.Ctx) (kaiping.ID, error) {
	return pathID(c, "upload", kaiping.E(kaiping.KindNotFound, "upload.not_found", "上传任务不存在"))
}

func (s *Submission) handleResume(c *fiber.Ctx) error {
	id, err := uploadParam(c)
	if err != nil {
		return err
	}
	tk, err := s.ResumeUpload(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
	if err != nil {
		return err
	}
	return c.JSON(tk)
}

// CompleteRequest lists the parts the tool uploaded, with the ETags storage answered.
type CompleteRequest struct {
	Parts []Part `json:"parts"`
}

func (s *Submission) handleComplete(c *fiber.Ctx) error {
	// The deadline is judged at the moment the completion request arrives.
	a := httpapi.ActorOf(c, s.clock)
	id, err := uploadParam(c)
	if err != nil {
		return err
	}
	var req CompleteRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	rc, err := s.CompleteUpload(c.UserContext(), a, id, req.Parts)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(rc)
}

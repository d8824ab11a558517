package opening

import (
	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// Routes returns the submission endpoints, for bidders and each checked against the
// bidder's own registration and uploads, and the sealed bid set for anyone:
//
//	POST /api/v1/tenders/:id/sections/:section/uploads     start an upload → part URLs
//	GET  /api/v1/uploads/:upload                            resume: stored parts + URLs for the rest
//	POST /api/v1/uploads/:upload/complete                   complete → receipt (回执)
//	DELETE /api/v1/uploads/:upload                          abandon an open upload
//	GET  /api/v1/tenders/:id/sections/:section/bids/mine    own envelopes, open uploads, bid set check
//	POST /api/v1/tenders/:id/sections/:section/withdrawal   withdraw the bid → receipt
//	GET  /api/v1/tenders/:id/sections/:section/bid-set      the sealed bid set (digests only)
func (s *Submission) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: fiber.MethodPost, Path: "/api/v1/tenders/:id/sections/:section/uploads", Roles: bidders, Ledgered: "bid.upload_start", Handler: s.handleStart},
		{Method: fiber.MethodGet, Path: "/api/v1/uploads/:upload", Roles: bidders, Handler: s.handleResume},
		{Method: fiber.MethodPost, Path: "/api/v1/uploads/:upload/complete", Roles: bidders, Ledgered: "bid.upload_complete", Handler: s.handleComplete},
		{Method: fiber.MethodDelete, Path: "/api/v1/uploads/:upload", Roles: bidders, Ledgered: "bid.upload_abandon", Handler: s.handleAbandon},
		{Method: fiber.MethodGet, Path: "/api/v1/tenders/:id/sections/:section/bids/mine", Roles: bidders, Handler: s.handleStatus},
		{Method: fiber.MethodPost, Path: "/api/v1/tenders/:id/sections/:section/withdrawal", Roles: bidders, Ledgered: "bid.withdraw", Handler: s.handleWithdraw},
		{Method: fiber.MethodGet, Path: "/api/v1/tenders/:id/sections/:section/bid-set", Roles: httpapi.AnyRole, Handler: s.handleBidSet},
	}
}

func (s *Submission) handleStatus(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	st, err := s.Status(c.UserContext(), httpapi.ActorOf(c, s.clock), id, c.Params("section"))
	if err != nil {
		return err
	}
	return c.JSON(st)
}

func (s *Submission) handleWithdraw(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	rc, err := s.Withdraw(c.UserContext(), httpapi.ActorOf(c, s.clock), id, c.Params("section"))
	if err != nil {
		return err
	}
	return c.JSON(rc)
}

func (s *Submission) handleBidSet(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	set, err := s.BidSet(c.UserContext(), id, c.Params("section"))
	if err != nil {
		return err
	}
	return c.JSON(set)
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

func (s *Submission) handleAbandon(c *fiber.Ctx) error {
	id, err := uploadParam(c)
	if err != nil {
		return err
	}
	if err := s.AbandonUpload(c.UserContext(), httpapi.ActorOf(c, s.clock), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

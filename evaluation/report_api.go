package evaluation

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// ReportRoutes returns the report's endpoints: members read and sign it under
// /api/v1/expert/sessions/:id/report; the tender's evaluation host builds it and records a
// refusal to sign, and overseers read it, under /api/v1/sessions/:id/report.
func (s *Service) ReportRoutes() []httpapi.Route {
	get, post := fiber.MethodGet, fiber.MethodPost
	p := "/api/v1/expert/sessions/:id/report"
	h := "/api/v1/sessions/:id/report"
	return []httpapi.Route{
		{Method: get, Path: p, Roles: experts, Handler: s.handleMemberReport},
		{Method: get, Path: p + "/pdf", Roles: experts, Handler: s.handleMemberReportPDF},
		{Method: get, Path: p + "/pdf-signing", Roles: experts, Handler: s.handlePDFSigning},
		{Method: get, Path: p + "/canonical", Roles: experts, Handler: s.handleMemberReportCanonical},
		{Method: post, Path: p + "/signatures", Roles: experts, Ledgered: ActionReportSigned, Handler: bodyTo(s, sessionID, fiber.StatusCreated, s.SignReport)},
		{Method: get, Path: h, Roles: sessionStaff, Duties: drawDuties, Tender: s.sessionTender, Handler: s.handleOverseerReport},
		{Method: get, Path: h + "/pdf", Roles: sessionStaff, Duties: drawDuties, Tender: s.sessionTender, Handler: s.handleOverseerReportPDF},
		{Method: post, Path: h, Roles: drawHosts, Duties: evalHostDuty, Tender: s.sessionTender, Ledgered: ActionReportBuilt, Handler: s.hostReport(s.BuildReport)},
		{Method: post, Path: h + "/refusals", Roles: drawHosts, Duties: evalHostDuty, Tender: s.sessionTender, Ledgered: ActionReportRefused,
			Handler: bodyTo(s, sessionID, fiber.StatusCreated, s.RecordRefusal)},
	}
}

// ReportView is the report as members and overseers read it: its digest, its content, the
// PDF revision to sign on, every member's answer so far and who has not answered.
type ReportView struct {
	Digest      string            `json:"digest"`
	Report      json.RawMessage   `json:"report"`
	PDFRevision int               `json:"pdf_revision"`
	HasPDF      bool              `json:"has_pdf"`
	Signatures  []ReportSignature `json:"signatures"`
	Unsigned    []string          `json:"unsigned"`
	Archive     *ReportArchived   `json:"archive,omitempty"`
}

// ReportOf returns the session's report for a member of it (member true: a's principal must
// be one of its sitting members) or an overseer the route checked.
func (s *Service) ReportOf(ctx context.Context, a kaiping.Actor, id kaiping.ID, member bool) (ReportView, StoredReport, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return ReportView{}, StoredReport{}, err
	}
	if member {
		if _, err := sess.acting(a.Principal); err != nil {
			return ReportView{}, StoredReport{}, err
		}
	}
	rep, err := s.store.StoredReport(ctx, id)
	if err != nil {
		return ReportView{}, StoredReport{}, err
	}
	sigs, err := s.store.ReportSignatures(ctx, id)
	if err != nil {
		return ReportView{}, StoredReport{}, err
	}
	return ReportView{Digest: rep.Digest, Report: rep.Body, PDFRevision: rep.PDFRevision, HasPDF: len(rep.PDF) > 0,
		Signatures: sigs, Unsigned: unsigned(&sess, sigs), Archive: rep.Archive}, rep, nil
}

func (s *Service) hostReport(step func(context.Context, kaiping.Actor, kaiping.ID) (StoredReport, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := sessionID.of(c)
		if err != nil {
			return err
		}
		rep, err := step(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(rep)
	}
}

func (s *Service) handleMemberReport(c *fiber.Ctx) error { return s.handleReport(c, true, false) }

// handleMemberReportCanonical serves the report's canonical bytes as stored, byte for byte:
// what an SM2 member's detached CMS signs (a JSON view re-encodes them).
func (s *Service) handleMemberReportCanonical(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	_, rep, err := s.ReportOf(c.UserContext(), httpapi.ActorOf(c, s.clock), id, true)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set("X-Report-Digest", rep.Digest)
	return c.Send(rep.Body)
}
func (s *Service) handleMemberReportPDF(c *fiber.Ctx) error { return s.handleReport(c, true, true) }
func (s *Service) handleOverseerReport(c *fiber.Ctx) error  { return s.handleReport(c, false, false) }
func (s *Service) handleOverseerReportPDF(c *fiber.Ctx) error {
	return s.handleReport(c, false, true)
}

func (s *Service) handleReport(c *fiber.Ctx, member, pdf bool) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	v, rep, err := s.ReportOf(c.UserContext(), httpapi.ActorOf(c, s.clock), id, member)
	if err != nil {
		return err
	}
	if !pdf {
		return c.JSON(v)
	}
	if len(rep.PDF) == 0 {
		return kaiping.E(kaiping.KindNotFound, "report.no_pdf", "本平台未生成评标报告 PDF")
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set("X-Report-Revision", strconv.Itoa(rep.PDFRevision))
	return c.Send(rep.PDF)
}

func (s *Service) handlePDFSigning(c *fiber.Ctx) error {
	id, err := sessionID.of(c)
	if err != nil {
		return err
	}
	v, err := s.PDFSigningFor(c.UserContext(), httpapi.ActorOf(c, s.clock), id)
	return ok(c, v, err)
}

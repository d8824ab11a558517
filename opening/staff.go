package opening

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// AssignRequest is an administrator's assignment of a principal to a tender.
type AssignRequest struct {
	Principal kaiping.ID   `json:"principal_id"`
	Duty      kaiping.Duty `json:"duty"`
}

// Assign assigns a principal a duty on a tender (项目人员指派), on administrator a's say. The
// principal must hold the duty's role; nobody assigns themselves (separation of duties);
// the assignment is ledgered.
func (s *Service) Assign(ctx context.Context, a kaiping.Actor, tender kaiping.ID, req AssignRequest) (kaiping.Assignment, error) {
	if !req.Duty.Valid() {
		return kaiping.Assignment{}, invalid("staff.duty", "未知的岗位 %q（可选：host 开标主持人、supervisor 监督人员、evaluation_host 评标组织人员）", req.Duty)
	}
	if !req.Principal.Valid() {
		return kaiping.Assignment{}, kaiping.E(kaiping.KindNotFound, "staff.principal_not_found", "被指派的人员不存在")
	}
	if req.Principal == a.Principal {
		return kaiping.Assignment{}, kaiping.E(kaiping.KindForbidden, "staff.self", "不得指派自己：项目人员须由他人指派（不相容岗位分离）")
	}
	asg := kaiping.Assignment{ID: kaiping.NewID(), Tender: tender, Principal: req.Principal, Duty: req.Duty, By: a.Principal, At: a.At}
	if err := s.store.Assign(ctx, a, asg); err != nil {
		return kaiping.Assignment{}, err
	}
	return asg, nil
}

// RevokeAssignment ends an assignment; the principal's next request on the tender is
// refused. The assignment stays on record with who revoked it and when.
func (s *Service) RevokeAssignment(ctx context.Context, a kaiping.Actor, tender, id kaiping.ID) (kaiping.Assignment, error) {
	return s.store.RevokeAssignment(ctx, a, tender, id)
}

// StaffRoutes returns the tender's staff endpoints, for administrators:
//
//	POST /api/v1/tenders/:id/staff                       admin   {"principal_id", "duty"}: assign
//	GET  /api/v1/tenders/:id/staff                       admin   every assignment, revoked ones included
//	POST /api/v1/tenders/:id/staff/:assignment/revoke    admin   revoke
func (s *Service) StaffRoutes() []httpapi.Route {
	const p = "/api/v1/tenders/:id/staff"
	return []httpapi.Route{
		{Method: fiber.MethodPost, Path: p, Roles: adminsOnly, Ledgered: "tender.staff_assign", Handler: s.handleAssign},
		{Method: fiber.MethodGet, Path: p, Roles: adminsOnly, Handler: s.handleStaff},
		{Method: fiber.MethodPost, Path: p + "/:assignment/revoke", Roles: adminsOnly, Ledgered: "tender.staff_revoke", Handler: s.handleRevoke},
	}
}

func (s *Service) handleAssign(c *fiber.Ctx) error {
	t, err := s.tenderParam(c)
	if err != nil {
		return err
	}
	var req AssignRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	asg, err := s.Assign(c.UserContext(), httpapi.ActorOf(c, s.clock), t.ID, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(asg)
}

func (s *Service) handleStaff(c *fiber.Ctx) error {
	t, err := s.tenderParam(c)
	if err != nil {
		return err
	}
	staff, err := s.store.Staff(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"staff": staff})
}

func (s *Service) handleRevoke(c *fiber.Ctx) error {
	t, err := s.tenderParam(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "assignment", kaiping.E(kaiping.KindNotFound, "staff.not_found", "该项目没有这项人员指派"))
	if err != nil {
		return err
	}
	asg, err := s.RevokeAssignment(c.UserContext(), httpapi.ActorOf(c, s.clock), t.ID, id)
	if err != nil {
		return err
	}
	return c.JSON(asg)
}

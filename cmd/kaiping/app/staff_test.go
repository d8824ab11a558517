package app

import (
	"context"
	"net/http"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
)

// TestTenderStaff: an administrator assigns staff to a tender and revokes them; every wrong
// assignment is refused with its own code and leaves the ledger as it was, and a revoked host
// is refused on the tender's hall at once.
func TestTenderStaff(t *testing.T) {
	w := mustSubmissionWorld(t)
	ctx := context.Background()
	admin := w.ta.mustLogin(t, w.ta.setup.Admin)
	supervisor := principalID(t, w.ta.mustLogin(t, w.ta.mustRegister(t, admin, devpki.SM2, "指派监督员", kaiping.RoleSupervisor)))
	host := principalID(t, w.host)
	assign := func(tender, p kaiping.ID, d kaiping.Duty) error {
		return admin.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(tender)+"/staff", opening.AssignRequest{Principal: p, Duty: d}, nil)
	}
	revoke := func(id kaiping.ID) error {
		return admin.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/staff/"+string(id)+"/revoke", nil, nil)
	}
	before := w.ta.ledgerSize(t)
	for _, tt := range []struct {
		name string
		err  error
		code string
	}{
		{"an unknown duty", assign(w.tender.ID, supervisor, "chair"), "staff.duty"},
		{"a supervisor as host", assign(w.tender.ID, supervisor, kaiping.DutyHost), "staff.role"},
		{"a host twice", assign(w.tender.ID, host, kaiping.DutyHost), "staff.duplicate"},
		{"the administrator itself", assign(w.tender.ID, principalID(t, admin), kaiping.DutyHost), "staff.self"},
		{"an unknown principal", assign(w.tender.ID, kaiping.NewID(), kaiping.DutyHost), "staff.principal_not_found"},
		{"an unknown tender", assign(kaiping.NewID(), supervisor, kaiping.DutySupervisor), "tender.not_found"},
		{"a host assigns", w.host.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/staff",
			opening.AssignRequest{Principal: supervisor, Duty: kaiping.DutySupervisor}, nil), "auth.role_forbidden"},
		{"revoke an unknown assignment", revoke(kaiping.NewID()), "staff.not_found"},
	} {
		if code := apiCode(tt.err); code != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, tt.err, tt.code)
		}
	}
	if after := w.ta.ledgerSize(t); after != before {
		t.Errorf("refused assignments grew the ledger from %d to %d", before, after)
	}

	var asg kaiping.Assignment
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/staff",
		opening.AssignRequest{Principal: supervisor, Duty: kaiping.DutySupervisor}, &asg); err != nil {
		t.Fatal(err)
	}
	if asg.By != principalID(t, admin) || asg.Duty != kaiping.DutySupervisor || w.ta.ledgerSize(t) != before+1 {
		t.Errorf("assignment %+v, ledger %d → %d", asg, before, w.ta.ledgerSize(t))
	}
	var hostAsg kaiping.Assignment
	for _, x := range w.ta.mustStaff(t, w.tender.ID) {
		if x.Principal == host {
			hostAsg = x
		}
	}
	w.ta.mustRevoke(t, w.tender.ID, hostAsg.ID)
	if err := revoke(hostAsg.ID); apiCode(err) != "staff.revoked" {
		t.Errorf("revoking twice: %v", err)
	}
	if err := w.host.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/hall/board", nil, nil); apiCode(err) != "tender.not_assigned" {
		t.Errorf("a revoked host reads the board: %v", err)
	}
	for _, x := range w.ta.mustStaff(t, w.tender.ID) {
		if x.Principal == host && (x.RevokedAt == nil || x.RevokedBy != principalID(t, admin)) {
			t.Errorf("the revoked assignment is kept as %+v", x)
		}
	}
}

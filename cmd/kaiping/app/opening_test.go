package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/evaluation/scoring"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
)

func demoTender(deadline time.Time) opening.Tender {
	return opening.Tender{
		Code: "KP-2026-001", Title: "某市第一中学教学楼建设工程施工", Tenderer: "某市第一中学",
		Deadline: deadline, Plan: opening.SingleEnvelope, CheckInMinutes: 1,
		SummaryFields: []opening.SummaryField{
			{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true},
			{Key: "duration", Label: "工期（日历天）", Type: opening.FieldDays, Required: true},
			{Key: "quality", Label: "质量标准", Type: opening.FieldText},
		},
		Sections: []opening.Section{{Code: "BD1", Name: "一标段：土建"}, {Code: "BD2", Name: "二标段：安装"}},
	}
}

func TestTendersAndRegistration(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	admin := ta.mustLogin(t, ta.setup.Admin)
	hostCert := ta.mustRegister(t, admin, devpki.SM2, "代理机构主持人", kaiping.RoleHost)
	host := ta.mustLogin(t, hostCert)
	bidderCert := ta.mustRegister(t, admin, devpki.SM2, "甲建设工程有限公司", kaiping.RoleBidder)
	bidder := ta.mustLogin(t, bidderCert)
	badCert := ta.mustRegister(t, admin, devpki.ECDSA, "乙失信企业", kaiping.RoleBidder)
	bad := ta.mustLogin(t, badCert)
	var badMe kaiping.Principal
	if err := bad.Do(ctx, http.MethodGet, "/api/v1/me", nil, &badMe); err != nil {
		t.Fatal(err)
	}

	deadline := ta.clock.Now().Add(20 * time.Minute) // within the 30-minute session
	var tender opening.Tender
	if err := host.Do(ctx, http.MethodPost, "/api/v1/tenders", demoTender(deadline), &tender); err != nil {
		t.Fatal(err)
	}
	if tender.MinBids != 3 || tender.Suite != "aes256gcm" || len(tender.Sections) != 2 || !tender.Sections[0].ID.Valid() {
		t.Fatalf("created tender %+v", tender)
	}
	var got opening.Tender
	if err := bidder.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(tender.ID), nil, &got); err != nil || got.Sections[1].Code != "BD2" || !got.Deadline.Equal(deadline) {
		t.Fatalf("bidder reads tender: %+v, %v", got, err)
	}

	// A tender carries its evaluation method from its creation, published with it, its
	// defaults written out.
	withMethod := demoTender(deadline)
	withMethod.Code = "KP-M"
	withMethod.Method = &scoring.Method{Kind: scoring.KindComprehensive,
		Criteria: []scoring.Group{{Code: "tech", Name: "技术部分", Items: []scoring.Item{{Code: "plan", Name: "施工方案", Max: 6000}}}},
		Price:    &scoring.PriceRule{Rule: scoring.PriceLowBase, Max: 4000}}
	var carried opening.Tender
	if err := host.Do(ctx, http.MethodPost, "/api/v1/tenders", withMethod, &carried); err != nil {
		t.Fatal(err)
	}
	if err := bidder.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(carried.ID), nil, &got); err != nil || got.Method == nil ||
		got.Method.Version != scoring.Version || got.Method.Candidates != 3 || got.Method.Criteria[0].Items[0].Max != 6000 {
		t.Fatalf("bidder reads the tender's method: %+v, %v", got.Method, err)
	}

	// The list carries each tender's sections in their order: the hall list offers one
	// entry per section and was empty when the list answered "sections": null.
	var list struct {
		Tenders []opening.Tender `json:"tenders"`
	}
	if err := bidder.Do(ctx, http.MethodGet, "/api/v1/tenders", nil, &list); err != nil {
		t.Fatal(err)
	}
	listed := map[kaiping.ID][]opening.Section{}
	for _, lt := range list.Tenders {
		listed[lt.ID] = lt.Sections
	}
	for _, want := range []opening.Tender{tender, carried} {
		got := listed[want.ID]
		if len(got) != 2 || got[0] != want.Sections[0] || got[1] != want.Sections[1] {
			t.Fatalf("tender list: %s has sections %+v, want %+v", want.Code, got, want.Sections)
		}
	}

	err := admin.Do(ctx, http.MethodPost, "/api/v1/blacklist", opening.BlacklistEntry{
		Bidder: badMe.ID, Reason: "串通投标，行政处罚决定书 某公管罚〔2026〕12号", Source: "行政处罚",
		From: ta.clock.Now().Add(-24 * time.Hour), Until: ta.clock.Now().AddDate(1, 0, 0),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}

	register := func(c interface {
		Do(context.Context, string, string, any, any) error
	}, section string, cert *devpki.Issued) error {
		return c.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(tender.ID)+"/sections/"+section+"/registrations",
			opening.RegisterRequest{Certificate: identity.Fingerprint(cert.Cert.Raw)}, nil)
	}
	if err := register(bidder, "BD1", bidderCert); err != nil {
		t.Fatalf("register: %v", err)
	}
	before := ta.ledgerSize(t)
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"twice", register(bidder, "BD1", bidderCert), 409, "register.duplicate"},
		{"blacklisted", register(bad, "BD1", badCert), 403, "register.blacklisted"},
		{"someone else's certificate", register(bidder, "BD2", badCert), 400, "register.certificate"},
		{"unknown section", register(bidder, "BD9", bidderCert), 404, "tender.section_not_found"},
		{"host registers", register(host, "BD1", hostCert), 403, "auth.role_forbidden"},
		{"bidder lists registrations", bidder.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(tender.ID)+"/sections/BD1/registrations", nil, nil), 403, "auth.role_forbidden"},
		{"bidder creates a tender", bidder.Do(ctx, http.MethodPost, "/api/v1/tenders", demoTender(deadline), nil), 403, "auth.role_forbidden"},
		{"duplicate code", host.Do(ctx, http.MethodPost, "/api/v1/tenders", demoTender(deadline), nil), 409, "tender.code_taken"},
		{"deadline in the past", host.Do(ctx, http.MethodPost, "/api/v1/tenders", func() opening.Tender {
			x := demoTender(ta.clock.Now().Add(-time.Second))
			x.Code = "KP-2"
			return x
		}(), nil), 400, "tender.deadline"},
		{"an evaluation method of an unknown kind", host.Do(ctx, http.MethodPost, "/api/v1/tenders", func() opening.Tender {
			x := demoTender(deadline)
			x.Code, x.Method = "KP-6", &scoring.Method{Kind: "best_value"}
			return x
		}(), nil), 400, "scoring.kind"},
		{"min bids lowered", host.Do(ctx, http.MethodPost, "/api/v1/tenders", func() opening.Tender {
			x := demoTender(deadline)
			x.Code, x.MinBids = "KP-3", 2
			return x
		}(), nil), 400, "tender.min_bids"},
		{"no price field", host.Do(ctx, http.MethodPost, "/api/v1/tenders", func() opening.Tender {
			x := demoTender(deadline)
			x.Code, x.SummaryFields = "KP-4", x.SummaryFields[1:]
			return x
		}(), nil), 400, "tender.no_price"},
		{"rescue threshold above holders", host.Do(ctx, http.MethodPost, "/api/v1/tenders", func() opening.Tender {
			x := demoTender(deadline)
			x.Code, x.Rescue = "KP-5", opening.RescuePolicy{Enabled: true, Threshold: 3, Holders: []kaiping.ID{kaiping.NewID(), kaiping.NewID()}}
			return x
		}(), nil), 400, "tender.rescue_threshold"},
		{"check-in period too long", host.Do(ctx, http.MethodPost, "/api/v1/tenders", func() opening.Tender {
			x := demoTender(deadline)
			x.Code, x.CheckInMinutes = "KP-6", 121
			return x
		}(), nil), 400, "tender.checkin_minutes"},
		{"unknown tender", bidder.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(kaiping.NewID()), nil, nil), 404, "tender.not_found"},
		{"malformed tender id", bidder.Do(ctx, http.MethodGet, "/api/v1/tenders/xyz", nil, nil), 404, "tender.not_found"},
	}
	for _, tt := range tests {
		if code := apiCode(tt.err); code != tt.code {
			t.Errorf("%s: %v, want %d %s", tt.name, tt.err, tt.status, tt.code)
		}
	}
	if after := ta.ledgerSize(t); after != before {
		t.Errorf("refused requests grew the ledger from %d to %d", before, after)
	}

	// Potential bidders stay secret until the deadline (招标投标法 Art. 22): a host not
	// assigned to the tender never sees them, the assigned one only after the deadline.
	listRegistrations := func(c *apiclient.Client) ([]opening.Registration, error) {
		var regs struct{ Registrations []opening.Registration }
		err := c.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(tender.ID)+"/sections/BD1/registrations", nil, &regs)
		return regs.Registrations, err
	}
	supervisor := ta.mustLogin(t, ta.mustRegister(t, admin, devpki.ECDSA, "监督员", kaiping.RoleSupervisor))
	if _, err := listRegistrations(host); apiCode(err) != "tender.not_assigned" {
		t.Errorf("unassigned host lists registrations: %v", err)
	}
	if _, err := listRegistrations(supervisor); apiCode(err) != "tender.not_assigned" {
		t.Errorf("unassigned supervisor lists registrations: %v", err)
	}
	if _, err := listRegistrations(admin); apiCode(err) != "auth.role_forbidden" {
		t.Errorf("admin lists registrations: %v", err)
	}
	ta.mustAssign(t, tender.ID, principalID(t, host), kaiping.DutyHost)
	if _, err := listRegistrations(host); apiCode(err) != "register.list_too_early" {
		t.Errorf("assigned host lists registrations before the deadline: %v", err)
	}

	// Registration closes at the deadline, to the nanosecond.
	ta.clock.Set(deadline)
	if err := register(bidder, "BD2", bidderCert); apiCode(err) != "register.deadline_passed" {
		t.Errorf("registering at the deadline: %v", err)
	}
	if regs, err := listRegistrations(host); err != nil || len(regs) != 1 || regs[0].BidderName != "甲建设工程有限公司" {
		t.Fatalf("registrations after the deadline: %+v, %v", regs, err)
	}
}

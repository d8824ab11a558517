package demo

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/sim"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/ledger"
)

// demoBidders are the simulated bidders, with the kinds of certificates Chinese CAs issue.
var demoBidders = []struct {
	name  string
	alg   devpki.Algorithm
	price string
	days  int
}{
	{"甲建设集团有限公司", devpki.SM2, "12860000.00", 540},
	{"乙路桥工程有限公司", devpki.SM2, "12495500.00", 560},
	{"丙市政建设有限公司", devpki.ECDSA, "13102000.00", 520},
	{"丁建工集团股份有限公司", devpki.RSA, "12733800.00", 545},
	{"戊水利水电工程有限公司", devpki.SM2, "12990000.00", 530},
}

// demoBids creates a tender with a rescue plan held by two of three supervisors, has five
// bidders register, seal their 开标一览表 locally and submit it with receipts; one replaces
// its bid and one withdraws. It returns the tender.
func demoBids(ctx context.Context, base, dir string, setup *app.DevSetup, admin *apiclient.Client, say func(string, ...any)) (opening.Tender, error) {
	var t opening.Tender
	parties := filepath.Join(dir, "parties")
	if err := os.MkdirAll(parties, 0o700); err != nil {
		return t, err
	}
	host, err := sim.NewParty(ctx, base, parties, setup, admin, devpki.SM2, "交易中心主持人", kaiping.RoleHost)
	if err != nil {
		return t, err
	}
	var holders []kaiping.ID
	for _, name := range []string{"监督员张", "监督员李", "监督员王"} {
		sup, err := sim.NewParty(ctx, base, parties, setup, admin, devpki.SM2, name, kaiping.RoleSupervisor)
		if err != nil {
			return t, err
		}
		holders = append(holders, sup.ID)
	}
	tender := opening.Tender{
		Code: "KP-DEMO-" + time.Now().Format("20060102-150405"), Title: "某市滨江大道（一期）道路及配套工程施工",
		Tenderer: demoEvalTenderer, Deadline: time.Now().Add(15 * time.Minute).Truncate(time.Minute),
		Plan: opening.SingleEnvelope, Suite: string(seal.SM4GCM),
		SummaryFields: []opening.SummaryField{
			{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true},
			{Key: "duration", Label: "工期（日历天）", Type: opening.FieldDays, Required: true},
			{Key: "quality", Label: "质量标准", Type: opening.FieldText},
		},
		Rescue:   opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: holders},
		Sections: []opening.Section{{Code: "BD1", Name: "一标段：道路工程"}},
	}
	if err := host.Client.Do(ctx, http.MethodPost, "/api/v1/tenders", tender, &t); err != nil {
		return t, fmt.Errorf("create the demo tender: %w", err)
	}
	if err := admin.AssignStaff(ctx, t.ID, kaiping.DutyHost, host.ID); err != nil {
		return t, err
	}
	if err := admin.AssignStaff(ctx, t.ID, kaiping.DutySupervisor, holders...); err != nil {
		return t, err
	}
	say("招标项目已创建：%s（%s），国密 SM4-GCM，投标截止 %s；补救密钥 2/3 分持于三名监督员", t.Title, t.Code,
		kaiping.BeijingString(t.Deadline))

	pk, err := setup.LedgerPublicKey()
	if err != nil {
		return t, err
	}
	verifier, err := ledger.ParseVerifier(pk)
	if err != nil {
		return t, err
	}
	for i, b := range demoBidders {
		p, err := sim.NewParty(ctx, base, parties, setup, admin, b.alg, b.name, kaiping.RoleBidder)
		if err != nil {
			return t, err
		}
		if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(t.ID)+"/sections/BD1/registrations",
			opening.RegisterRequest{Certificate: identity.Fingerprint(p.Cert.Cert.Raw)}, nil); err != nil {
			return t, fmt.Errorf("%s registers: %w", b.name, err)
		}
		rc, err := sim.SubmitSummary(ctx, t, p, fmt.Sprintf(`{"price":"%s","duration":%d,"quality":"合格"}`, b.price, b.days))
		if err != nil {
			return t, err
		}
		if err := bidder.VerifyReceipt(rc, verifier); err != nil {
			return t, fmt.Errorf("%s's receipt: %w", b.name, err)
		}
		say("  %s（%s 证书）加密并递交开标一览表，回执已离线校验：日志序号 %d，SHA-256 %.16s…", b.name, b.alg, rc.Ledger.Seq, rc.Envelopes[0].SHA256)
		switch i {
		case 1:
			if _, err := sim.SubmitSummary(ctx, t, p, `{"price":"12380000.00","duration":560,"quality":"合格"}`); err != nil {
				return t, err
			}
			say("  %s 在截止前修改报价并重新递交：第 2 版生效，第 1 版保留但永不开启", b.name)
		case 4:
			if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(t.ID)+"/sections/BD1/withdrawal", nil, nil); err != nil {
				return t, err
			}
			say("  %s 在截止前撤回投标文件，取得撤回回执", b.name)
		}
	}
	return t, nil
}

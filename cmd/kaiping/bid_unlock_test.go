package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
)

// TestBidUnlockCommand drives `kaiping bid unlock` at an opening: refused before the host
// opens check-in, then it checks the bidder in, unwraps the file key on this machine, hands
// it in and follows verification to the end; run again, it has nothing left to do.
func TestBidUnlockCommand(t *testing.T) {
	ctx := context.Background()
	clock := kaiping.NewManualClock(time.Now().Truncate(time.Second))
	a, setup := mustServe(t, app.WithClock(clock))
	base, dir := setup.Config.PublicURL, t.TempDir()
	admin := apiclient.New(base)
	if _, err := admin.Login(ctx, setup.Admin.CertPEM(), setup.Admin.Key); err != nil {
		t.Fatal(err)
	}
	// party registers a principal and writes its certificate and key files.
	party := func(name string, alg devpki.Algorithm, role kaiping.Role) (cert, key string, issued *devpki.Issued) {
		issued, err := setup.CA.Issue(alg, name, "测试单位", clock.Now().Add(-time.Hour), clock.Now().AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: name,
			Roles: []kaiping.Role{role}, Certificate: string(issued.CertPEM())}, nil); err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := issued.KeyPEM()
		cert, key = filepath.Join(dir, name+".cert"), filepath.Join(dir, name+".key")
		os.WriteFile(cert, issued.CertPEM(), 0o644)
		os.WriteFile(key, keyPEM, 0o600)
		return cert, key, issued
	}
	_, _, hostCert := party("主持人", devpki.SM2, kaiping.RoleHost)
	host := apiclient.New(base)
	if _, err := host.Login(ctx, hostCert.CertPEM(), hostCert.Key); err != nil {
		t.Fatal(err)
	}
	deadline := clock.Now().Add(10 * time.Minute)
	var tender opening.Tender
	if err := host.Do(ctx, http.MethodPost, "/api/v1/tenders", opening.Tender{
		Code: "KP-UNLOCK-1", Title: "解密命令测试项目", Tenderer: "某单位", Deadline: deadline, CheckInMinutes: 1,
		Sections:      []opening.Section{{Code: "BD1", Name: "一标段"}},
		SummaryFields: []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
	}, &tender); err != nil {
		t.Fatal(err)
	}
	hostID, err := host.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.AssignStaff(ctx, tender.ID, kaiping.DutyHost, hostID); err != nil {
		t.Fatal(err)
	}
	type bidderFiles struct{ cert, key string }
	var bidders []bidderFiles
	for i, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
		cert, key, _ := party([]string{"甲公司", "乙公司", "丙公司"}[i], alg, kaiping.RoleBidder)
		bidders = append(bidders, bidderFiles{cert, key})
	}
	bid := func(b bidderFiles, sub string, args ...string) (string, error) {
		return run(t, append([]string{"bid", sub, "--server", base, "--cert", b.cert, "--key", b.key,
			"--tender", string(tender.ID), "--section", "BD1"}, args...)...)
	}
	for i, b := range bidders {
		plain, sealed := filepath.Join(dir, "plain.json"), filepath.Join(dir, "sealed.kpseal")
		os.WriteFile(plain, []byte(`{"price":"`+[]string{"100.5", "99", "101"}[i]+`"}`), 0o600)
		for _, step := range [][]string{{"register"}, {"seal", "--in", plain, "--out", sealed}, {"submit", "--file", sealed, "--quiet"}} {
			if out, err := bid(b, step[0], step[1:]...); err != nil {
				t.Fatalf("bid %s: %v\n%s", step[0], err, out)
			}
		}
	}
	clock.Set(deadline.Add(opening.SealSettle))
	if _, err := a.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bid(bidders[0], "unlock"); err == nil || !strings.Contains(err.Error(), "hall.state") {
		t.Errorf("unlock before check-in opened: %v", err)
	}
	for _, to := range []opening.HallState{opening.HallCheckingIn, opening.HallDecrypting} {
		if to == opening.HallDecrypting {
			clock.Advance(time.Minute) // the tender's check-in period
		}
		if err := host.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(tender.ID)+"/sections/BD1/hall/transitions",
			opening.TransitionRequest{To: to}, nil); err != nil {
			t.Fatal(err)
		}
	}
	out, err := bid(bidders[0], "unlock", "--poll", "50ms", "--timeout", "1m")
	if err != nil || !strings.Contains(out, "已签到") || !strings.Contains(out, "密钥已提交") || !strings.Contains(out, "全部投标文件已解密") {
		t.Fatalf("unlock: %v\n%s", err, out)
	}
	out, err = bid(bidders[0], "unlock", "--poll", "50ms", "--timeout", "1m")
	if err != nil || strings.Contains(out, "密钥已提交") || !strings.Contains(out, "已解密") {
		t.Errorf("unlock again: %v\n%s", err, out)
	}
	var state string
	if err := a.DB.Pool.QueryRow(ctx, `SELECT e.state FROM hall_envelopes e JOIN principals p ON p.id = e.bidder_id
		WHERE p.name = '甲公司'`).Scan(&state); err != nil || state != opening.EnvDecrypted {
		t.Errorf("甲公司's envelope: %s, %v", state, err)
	}
}

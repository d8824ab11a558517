package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/sim"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// cliParty is a principal whose certificate and key are also files, as the tools use them.
type cliParty struct {
	*sim.Party
	certFile, keyFile string
}

// hallCLIWorld is a sealed section of a tender with a 2-of-2 rescue plan: three bidders (甲,
// 乙, 丙) each submitted a summary sealed to their certificate and the rescue key; two
// supervisors hold the shares.
type hallCLIWorld struct {
	a           *app.App
	clock       *kaiping.ManualClock
	base        string
	host        *apiclient.Client
	tender      opening.Tender
	bidders     []*cliParty
	supervisors []*cliParty
}

func mustHallCLIWorld(t *testing.T) *hallCLIWorld {
	t.Helper()
	ctx := context.Background()
	w := &hallCLIWorld{clock: kaiping.NewManualClock(time.Now().Truncate(time.Second))}
	var setup *app.DevSetup
	w.a, setup = mustServe(t, app.WithClock(w.clock))
	w.base = setup.Config.PublicURL
	admin := apiclient.New(w.base)
	if _, err := admin.Login(ctx, setup.Admin.CertPEM(), setup.Admin.Key); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	party := func(name string, alg devpki.Algorithm, role kaiping.Role) *cliParty {
		issued, err := setup.CA.Issue(alg, name, "测试单位", w.clock.Now().Add(-time.Hour), w.clock.Now().AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		p := &cliParty{Party: &sim.Party{Name: name, Cert: issued, Client: apiclient.New(w.base)},
			certFile: filepath.Join(dir, name+".cert"), keyFile: filepath.Join(dir, name+".key")}
		var principal kaiping.Principal
		if err := admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: name,
			Roles: []kaiping.Role{role}, Certificate: string(issued.CertPEM())}, &principal); err != nil {
			t.Fatal(err)
		}
		p.ID = principal.ID
		keyPEM, _ := issued.KeyPEM()
		if err := os.WriteFile(p.certFile, issued.CertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p.keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		p.login(t)
		return p
	}
	host := party("主持人", devpki.SM2, kaiping.RoleHost)
	w.host = host.Client
	for i, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA} {
		w.supervisors = append(w.supervisors, party([]string{"监督员张", "监督员李"}[i], alg, kaiping.RoleSupervisor))
	}
	deadline := w.clock.Now().Add(10 * time.Minute)
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/tenders", opening.Tender{
		Code: "KP-RECORD-1", Title: "开标记录命令测试项目", Tenderer: "某单位", Deadline: deadline, CheckInMinutes: 1,
		Sections:      []opening.Section{{Code: "BD1", Name: "一标段"}},
		SummaryFields: []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
		Rescue:        opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: []kaiping.ID{w.supervisors[0].ID, w.supervisors[1].ID}},
	}, &w.tender); err != nil {
		t.Fatal(err)
	}
	if err := admin.AssignStaff(ctx, w.tender.ID, kaiping.DutyHost, host.ID); err != nil {
		t.Fatal(err)
	}
	if err := admin.AssignStaff(ctx, w.tender.ID, kaiping.DutySupervisor, w.tender.Rescue.Holders...); err != nil {
		t.Fatal(err)
	}
	pub, _ := ecdh.P256().NewPublicKey(w.tender.Rescue.PublicKey)
	rescueTo, err := seal.NewRescueRecipient(pub)
	if err != nil {
		t.Fatal(err)
	}
	for i, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
		p := party([]string{"甲公司", "乙公司", "丙公司"}[i], alg, kaiping.RoleBidder)
		if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/registrations",
			opening.RegisterRequest{Certificate: identity.Fingerprint(p.Cert.Cert.Raw)}, nil); err != nil {
			t.Fatal(err)
		}
		mine, err := seal.NewCertRecipient(p.Cert.Cert)
		if err != nil {
			t.Fatal(err)
		}
		var sealed bytes.Buffer
		b := seal.Binding{Tender: w.tender.ID, Section: w.tender.Sections[0].ID, Bidder: p.ID, Kind: seal.Summary}
		if _, err := seal.Seal(&sealed, strings.NewReader(`{"price":"`+[]string{"1000.5", "990", "1010"}[i]+`"}`), b,
			[]seal.Recipient{mine, rescueTo}); err != nil {
			t.Fatal(err)
		}
		id, err := seal.NewCertIdentity(p.Cert.Cert, p.Cert.Key)
		if err != nil {
			t.Fatal(err)
		}
		d, err := bidder.Check(bytes.NewReader(sealed.Bytes()), id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bidder.NewSubmitter(p.Client).Submit(ctx, string(w.tender.ID), "BD1", "summary", bytes.NewReader(sealed.Bytes()), d); err != nil {
			t.Fatal(err)
		}
		w.bidders = append(w.bidders, p)
	}
	w.clock.Set(deadline.Add(opening.SealSettle))
	if _, err := w.a.Submit.SealDue(ctx); err != nil {
		t.Fatal(err)
	}
	w.host = host.login(t)
	for _, p := range append(w.bidders, w.supervisors...) {
		p.login(t)
	}
	return w
}

func (p *cliParty) login(t *testing.T) *apiclient.Client {
	t.Helper()
	if _, err := p.Client.Login(context.Background(), p.Cert.CertPEM(), p.Cert.Key); err != nil {
		t.Fatalf("login %s: %v", p.Name, err)
	}
	return p.Client
}

func (w *hallCLIWorld) hall(rest string) string {
	return "/api/v1/tenders/" + string(w.tender.ID) + "/sections/BD1/hall" + rest
}

func (w *hallCLIWorld) mustMove(t *testing.T, to opening.HallState) {
	t.Helper()
	if to == opening.HallDecrypting {
		w.clock.Advance(time.Duration(w.tender.CheckInMinutes) * time.Minute) // the check-in period runs out
	}
	if err := w.host.Do(context.Background(), http.MethodPost, w.hall("/transitions"), opening.TransitionRequest{To: to}, nil); err != nil {
		t.Fatalf("move to %s: %v", to, err)
	}
}

// mustUnlock checks the bidders in and has them hand in their file keys, through the API.
func (w *hallCLIWorld) mustUnlock(t *testing.T, ps ...*cliParty) {
	t.Helper()
	for _, p := range ps {
		if err := p.Client.Do(context.Background(), http.MethodPost, w.hall("/checkins"), nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := sim.Unlock(context.Background(), p.Party, w.hall("")); err != nil {
			t.Fatal(err)
		}
	}
}

// waitDecrypted waits until every envelope of the section is decrypted.
func (w *hallCLIWorld) waitDecrypted(t *testing.T) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		var left int
		if err := w.a.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM hall_envelopes WHERE state <> 'decrypted'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%d envelopes not decrypted", left)
		}
	}
}

// as runs the tool as p: `kaiping <command> <sub> --server --cert --key --tender --section BD1 args…`.
func (w *hallCLIWorld) as(t *testing.T, p *cliParty, command, sub string, args ...string) (string, error) {
	t.Helper()
	full := append([]string{command, sub, "--server", w.base, "--cert", p.certFile, "--key", p.keyFile,
		"--tender", string(w.tender.ID), "--section", "BD1"}, args...)
	if command == "rescue" {
		return run(t, full...)
	}
	var out bytes.Buffer
	root := &cli.Command{Name: "kaiping", Commands: []*cli.Command{recordCommand()}, Writer: &out}
	err := root.Run(context.Background(), append([]string{"kaiping"}, full...))
	return out.String(), err
}

// TestRecordCommands: a bidder shows the published record, confirms it with its key file
// (refused before the host asks for confirmations, and when the digest it checked is not
// the record's any more), and objects; each step is what the hall recorded.
func TestRecordCommands(t *testing.T) {
	w := mustHallCLIWorld(t)
	ctx := context.Background()
	a, b := w.bidders[0], w.bidders[1]
	if _, err := w.as(t, a, "record", "show"); err == nil || !strings.Contains(err.Error(), "hall.no_record") {
		t.Errorf("show before publication: %v", err)
	}
	w.mustMove(t, opening.HallCheckingIn)
	w.mustMove(t, opening.HallDecrypting)
	w.mustUnlock(t, w.bidders...)
	w.waitDecrypted(t)
	w.mustMove(t, opening.HallPublished)
	var pr opening.PublishedRecord
	if err := w.host.Do(ctx, http.MethodGet, w.hall("/record"), nil, &pr); err != nil {
		t.Fatal(err)
	}

	out, err := w.as(t, a, "record", "show")
	if err != nil || !strings.Contains(out, pr.Digest) || !strings.Contains(out, "乙公司") || !strings.Contains(out, "1000.50") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if _, err := w.as(t, a, "record", "confirm"); err == nil || !strings.Contains(err.Error(), "hall.state") {
		t.Errorf("confirm before the host asks: %v", err)
	}
	w.mustMove(t, opening.HallConfirming)
	confirmations := func() int {
		var n int
		if err := w.a.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_confirmations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := w.as(t, a, "record", "confirm", "--digest", strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "已变化") || confirmations() != 0 {
		t.Errorf("confirm a digest that is not the record's: %v, %d confirmations", err, confirmations())
	}
	out, err = w.as(t, a, "record", "confirm", "--digest", pr.Digest)
	if err != nil || !strings.Contains(out, "已签名确认") || !strings.Contains(out, "（北京时间）") || !strings.Contains(out, "丙公司") || confirmations() != 1 {
		t.Fatalf("confirm: %v\n%s", err, out)
	}
	if _, err := w.as(t, a, "record", "confirm"); err == nil || !strings.Contains(err.Error(), "hall.already_confirmed") {
		t.Errorf("confirm twice: %v", err)
	}
	if out, err := w.as(t, b, "record", "confirm"); err != nil || confirmations() != 2 {
		t.Errorf("乙 (ECDSA) confirms: %v\n%s", err, out)
	}
	if _, err := w.as(t, b, "record", "object", "--text", "   "); err == nil || !strings.Contains(err.Error(), "hall.objection_text") {
		t.Errorf("an empty objection: %v", err)
	}
	if out, err := w.as(t, b, "record", "object", "--text", "丙公司报价有误，请核实"); err != nil || !strings.Contains(out, "异议已提交") || !strings.Contains(out, "（北京时间）") {
		t.Fatalf("object: %v\n%s", err, out)
	}
	var board opening.BoardView
	if err := w.host.Do(ctx, http.MethodGet, w.hall("/board"), nil, &board); err != nil || len(board.Objections) != 1 || board.Objections[0].Bidder != b.ID {
		t.Errorf("the host's board: %+v, %v", board.Objections, err)
	}
}

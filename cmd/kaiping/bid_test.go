package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/cmd/kaiping/app/apptest"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
)

// mustServe starts a kaiping server with opts on 127.0.0.1, with its own database and
// buckets, and stops it when the test ends. The setup's PublicURL is the server's address.
func mustServe(t *testing.T, opts ...app.Option) (*app.App, *app.DevSetup) {
	t.Helper()
	return mustServeWith(t, nil, opts...)
}

// mustServeWith is mustServe with tune (if not nil) applied to the configuration.
func mustServeWith(t *testing.T, tune func(*app.Config), opts ...app.Option) (*app.App, *app.DevSetup) {
	t.Helper()
	return apptest.Serve(t, tune, opts...)
}

// bidWorld is a running server with a tender, and a bidder whose key was made by the tool
// and certified through a CSR.
type bidWorld struct {
	base, dir string
	tender    opening.Tender
	cert, key string // the bidder's files
	publicKey string // the platform public key, as the centre publishes it
	admin     *apiclient.Client
	host      *apiclient.Client
	setup     *app.DevSetup
	app       *app.App
}

func mustBidWorld(t *testing.T) *bidWorld {
	t.Helper()
	return mustBidWorldWith(t, nil)
}

// mustBidWorldWith is mustBidWorld on a server whose configuration tune changes.
func mustBidWorldWith(t *testing.T, tune func(*app.Config), opts ...app.Option) *bidWorld {
	t.Helper()
	ctx := context.Background()
	a, setup := mustServeWith(t, tune, opts...)
	w := &bidWorld{base: setup.Config.PublicURL, dir: t.TempDir(), setup: setup, app: a}
	w.admin = apiclient.New(w.base)
	if _, err := w.admin.Login(ctx, setup.Admin.CertPEM(), setup.Admin.Key); err != nil {
		t.Fatal(err)
	}

	// The bidder makes its key and a CSR with the tool; the CA certifies it; the centre
	// registers the bidder with that certificate.
	w.key, w.cert = filepath.Join(w.dir, "key.pem"), filepath.Join(w.dir, "cert.pem")
	csr := filepath.Join(w.dir, "req.pem")
	mustRun(t, "bid", "keygen", "--alg", "sm2", "--out", w.key)
	if _, err := run(t, "bid", "keygen", "--alg", "sm2", "--out", w.key); err == nil {
		t.Error("keygen overwrote an existing key")
	}
	mustRun(t, "bid", "csr", "--key", w.key, "--name", "甲建设有限公司", "--org", "甲建设", "--out", csr)
	csrPEM, _ := os.ReadFile(csr)
	cert, err := setup.CA.SignCSR(csrPEM, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.cert, devpki.CertPEM(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustPrincipal(t, devpki.CertPEM(cert), "甲建设有限公司", kaiping.RoleBidder)

	hostCert, err := setup.CA.Issue(devpki.SM2, "主持人", "交易中心", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	w.mustPrincipal(t, hostCert.CertPEM(), "主持人", kaiping.RoleHost)
	w.host = apiclient.New(w.base)
	if _, err := w.host.Login(ctx, hostCert.CertPEM(), hostCert.Key); err != nil {
		t.Fatal(err)
	}
	tender := opening.Tender{
		Code: "KP-CLI-1", Title: "命令行测试项目", Tenderer: "某单位", Deadline: time.Now().Add(time.Hour),
		Plan: opening.SingleEnvelope, Sections: []opening.Section{{Code: "BD1", Name: "一标段"}},
		SummaryFields: []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
	}
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/tenders", tender, &w.tender); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(w.base + "/api/v1/ledger/public-key")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pk, _ := io.ReadAll(resp.Body)
	w.publicKey = filepath.Join(w.dir, "platform.pem")
	if err := os.WriteFile(w.publicKey, pk, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *bidWorld) mustPrincipal(t *testing.T, certPEM []byte, name string, role kaiping.Role) {
	t.Helper()
	err := w.admin.Do(context.Background(), http.MethodPost, "/api/v1/principals",
		identity.NewPrincipal{Name: name, Roles: []kaiping.Role{role}, Certificate: string(certPEM)}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// bid runs a `kaiping bid` subcommand as the bidder.
func (w *bidWorld) bid(t *testing.T, sub string, args ...string) (string, error) {
	t.Helper()
	return run(t, append([]string{"bid", sub, "--server", w.base, "--cert", w.cert, "--key", w.key,
		"--tender", string(w.tender.ID), "--section", "BD1"}, args...)...)
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("kaiping %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestBidTool drives the bidder's tool end to end: register, seal, submit, status, a
// resumed submission, withdraw, and offline receipt checks, including a forged receipt.
func TestBidTool(t *testing.T) {
	w := mustBidWorld(t)
	if out, err := w.bid(t, "register"); err != nil || !strings.Contains(out, "已报名") {
		t.Fatalf("register: %q %v", out, err)
	}
	plain := filepath.Join(w.dir, "开标一览表.json")
	secret := `{"price":"8765432.10"}`
	if err := os.WriteFile(plain, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	sealed := filepath.Join(w.dir, "summary.kpseal")
	if out, err := w.bid(t, "seal", "--in", plain, "--out", sealed); err != nil || !strings.Contains(out, "已加密") {
		t.Fatalf("seal: %q %v", out, err)
	}
	if b, _ := os.ReadFile(sealed); strings.Contains(string(b), "8765432") {
		t.Fatal("the sealed file contains the price")
	}
	out, err := w.bid(t, "submit", "--file", sealed, "--quiet")
	if err != nil || !strings.Contains(out, "bid.submit") {
		t.Fatalf("submit: %q %v", out, err)
	}
	receipt := sealed + ".receipt.json"
	if out, err := run(t, "bid", "receipt", "verify", "--receipt", receipt, "--public-key", w.publicKey); err != nil || !strings.Contains(out, "回执有效") {
		t.Fatalf("receipt verify: %q %v", out, err)
	}
	// A receipt with one digit of the digest changed does not verify.
	var rc opening.Receipt
	b, _ := os.ReadFile(receipt)
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	rc.Envelopes[0].SHA256 = strings.Repeat("0", 64)
	forged := filepath.Join(w.dir, "forged.json")
	forgedJSON, _ := json.Marshal(rc)
	os.WriteFile(forged, forgedJSON, 0o600)
	if _, err := run(t, "bid", "receipt", "verify", "--receipt", forged, "--public-key", w.publicKey); kaiping.CodeOf(err) != "receipt.invalid" {
		t.Errorf("a forged receipt: %v", err)
	}

	// A crash after the upload started: the state file is there, and running submit again
	// resumes that upload rather than starting another.
	second := filepath.Join(w.dir, "summary2.kpseal")
	if _, err := w.bid(t, "seal", "--in", plain, "--out", second); err != nil {
		t.Fatal(err)
	}
	secondFile, _ := os.ReadFile(second)
	secondSum := sha256.Sum256(secondFile)
	d := struct {
		Size   int64
		SHA256 string
	}{int64(len(secondFile)), hex.EncodeToString(secondSum[:])}
	api := apiclient.New(w.base)
	certPEM, _ := os.ReadFile(w.cert)
	keyPEM, _ := os.ReadFile(w.key)
	key, _ := devpki.ParseKeyPEM(keyPEM)
	if _, err := api.Login(context.Background(), certPEM, key); err != nil {
		t.Fatal(err)
	}
	var tk opening.UploadTicket
	if err := api.Do(context.Background(), http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/uploads",
		opening.StartUploadRequest{Kind: "summary", Size: d.Size, SHA256: d.SHA256}, &tk); err != nil {
		t.Fatal(err)
	}
	bidder.SaveJSON(second+".upload.json", bidder.UploadState{Upload: string(tk.Upload.ID), SHA256: d.SHA256})
	if _, err := w.bid(t, "submit", "--file", second, "--quiet"); err != nil {
		t.Fatalf("resumed submit: %v", err)
	}
	if _, err := os.Stat(second + ".upload.json"); !os.IsNotExist(err) {
		t.Error("the resume state file is still there after success")
	}

	out, err = w.bid(t, "status")
	if err != nil {
		t.Fatal(err)
	}
	var st opening.BidStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status output: %v\n%s", err, out)
	}
	if len(st.Envelopes) != 2 || st.Envelopes[0].State != "superseded" || st.Envelopes[1].State != "current" ||
		st.Envelopes[1].SHA256 != d.SHA256 {
		t.Errorf("status after the resumed submission: %+v", st.Envelopes)
	}

	wr := filepath.Join(w.dir, "withdraw.json")
	if _, err := w.bid(t, "withdraw", "--receipt", wr); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "bid", "receipt", "verify", "--receipt", wr, "--public-key", w.publicKey); err != nil {
		t.Errorf("withdrawal receipt: %v", err)
	}
	if _, err := w.bid(t, "withdraw"); err == nil || !strings.Contains(err.Error(), "bid.nothing_to_withdraw") {
		t.Errorf("withdrawing twice: %v", err)
	}
}

// TestRescueVerifyShareCommand: each supervisor named in a tender's rescue plan fetches and
// checks their share with their own key; someone else's key cannot open it.
func TestRescueVerifyShareCommand(t *testing.T) {
	w := mustBidWorld(t)
	ctx := context.Background()
	type holder struct{ cert, key string }
	var holders []holder
	var ids []kaiping.ID
	for i, alg := range []devpki.Algorithm{devpki.SM2, devpki.RSA} {
		c, err := w.setup.CA.Issue(alg, fmt.Sprintf("监督员%d", i), "监督部门", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		var p kaiping.Principal
		if err := w.admin.Do(ctx, http.MethodPost, "/api/v1/principals", identity.NewPrincipal{Name: fmt.Sprintf("监督员%d", i),
			Roles: []kaiping.Role{kaiping.RoleSupervisor}, Certificate: string(c.CertPEM())}, &p); err != nil {
			t.Fatal(err)
		}
		h := holder{cert: filepath.Join(w.dir, fmt.Sprintf("sup%d.cert", i)), key: filepath.Join(w.dir, fmt.Sprintf("sup%d.key", i))}
		keyPEM, _ := c.KeyPEM()
		os.WriteFile(h.cert, c.CertPEM(), 0o644)
		os.WriteFile(h.key, keyPEM, 0o600)
		holders, ids = append(holders, h), append(ids, p.ID)
	}
	tender := w.tender
	tender.Code, tender.ID, tender.Rescue = "KP-CLI-R", "", opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: ids}
	tender.Rescue.KeyID, tender.Rescue.PublicKey = "", nil
	var created opening.Tender
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/tenders", tender, &created); err != nil {
		t.Fatal(err)
	}
	if err := w.admin.AssignStaff(ctx, created.ID, kaiping.DutySupervisor, ids...); err != nil {
		t.Fatal(err)
	}
	verify := func(h holder) (string, error) {
		return run(t, "rescue", "verify-share", "--server", w.base, "--cert", h.cert, "--key", h.key, "--tender", string(created.ID))
	}
	for _, h := range holders {
		if out, err := verify(h); err != nil || !strings.Contains(out, "份额有效") {
			t.Errorf("holder %s: %q %v", h.cert, out, err)
		}
	}
	// The first holder's certificate with the second holder's key: login fails, nothing is shown.
	if _, err := verify(holder{cert: holders[0].cert, key: holders[1].key}); err == nil {
		t.Error("a mismatched key verified a share")
	}
	// A bidder is refused by role.
	if _, err := run(t, "rescue", "verify-share", "--server", w.base, "--cert", w.cert, "--key", w.key, "--tender", string(created.ID)); err == nil ||
		!strings.Contains(err.Error(), "auth.role_forbidden") {
		t.Errorf("a bidder asking for a share: %v", err)
	}
}

// TestBidKeygenAlgorithms: every name the README and --help offer for --alg makes a key of
// that type, the long names devpki uses are accepted too, and any other name is refused
// with the list of names that work, leaving no key file behind.
func TestBidKeygenAlgorithms(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		alg     string
		keyType string // %T of the key, and for ECDSA the curve
		refused string // the message of a refusal
	}{
		{alg: "sm2", keyType: "*sm2.PrivateKey"},
		{alg: "ecdsa", keyType: "*ecdsa.PrivateKey P-256"},
		{alg: "ecdsa-p256", keyType: "*ecdsa.PrivateKey P-256"},
		{alg: "ECDSA", keyType: "*ecdsa.PrivateKey P-256"},
		{alg: "rsa", keyType: "*rsa.PrivateKey 2048"},
		{alg: "rsa-2048", keyType: "*rsa.PrivateKey 2048"},
		{alg: "dsa", refused: "不是支持的密钥算法，可选：sm2、ecdsa（即 ecdsa-p256）、rsa（即 rsa-2048）"},
		{alg: "rsa-4096", refused: "不是支持的密钥算法"},
		{alg: "", refused: "不是支持的密钥算法"},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			out := filepath.Join(dir, "key-"+tt.alg+".pem")
			_, err := run(t, "bid", "keygen", "--alg", tt.alg, "--out", out)
			if tt.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refused) {
					t.Errorf("--alg %q: %v, want %q", tt.alg, err, tt.refused)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("--alg %q refused but wrote %s", tt.alg, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("--alg %q: %v", tt.alg, err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			key, err := devpki.ParseKeyPEM(b)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%T", key)
			switch k := key.(type) {
			case *ecdsa.PrivateKey:
				got += " " + k.Curve.Params().Name
			case *rsa.PrivateKey:
				got += fmt.Sprint(" ", k.N.BitLen())
			}
			if got != tt.keyType {
				t.Errorf("--alg %q made %s, want %s", tt.alg, got, tt.keyType)
			}
		})
	}
}

// TestBidSealRefusesInvalidSummary: a summary whose fields do not parse as the tender's field
// types is refused by `bid seal` with the hall's own code and message, before any file is
// written (so nothing can be submitted); a summary the hall would read is sealed.
func TestBidSealRefusesInvalidSummary(t *testing.T) {
	w := mustBidWorld(t)
	for i, tt := range []struct {
		name, summary string
		code, message string // of a refusal
	}{
		{name: "money not a number", summary: `{"price":"abc"}`,
			code: "hall.summary_field_invalid", message: "开标一览表字段「投标报价（元）」的值不符合类型 money"},
		{name: "money with three decimals", summary: `{"price":"12.345"}`,
			code: "hall.summary_field_invalid", message: "开标一览表字段「投标报价（元）」的值不符合类型 money"},
		{name: "money negative", summary: `{"price":-5}`,
			code: "hall.summary_field_invalid", message: "开标一览表字段「投标报价（元）」的值不符合类型 money"},
		{name: "required field missing", summary: `{"prise":"100.00"}`,
			code: "hall.summary_field_missing", message: "开标一览表缺少必填字段「投标报价（元）」"},
		{name: "not a JSON object", summary: `price=100`,
			code: "hall.summary_malformed", message: "开标一览表不是 JSON 对象"},
		{name: "money as a JSON number", summary: `{"price":12345}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(w.dir, fmt.Sprintf("case%d", i))
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			plain := filepath.Join(w.dir, fmt.Sprintf("summary%d.json", i))
			if err := os.WriteFile(plain, []byte(tt.summary), 0o600); err != nil {
				t.Fatal(err)
			}
			sealed := filepath.Join(dir, "summary.kpseal")
			out, err := w.bid(t, "seal", "--in", plain, "--out", sealed)
			if tt.code == "" {
				if err != nil || !strings.Contains(out, "已加密") {
					t.Fatalf("seal %s: %q %v", tt.summary, out, err)
				}
				return
			}
			var ke *kaiping.Error
			if !errors.As(err, &ke) || ke.Code != tt.code || ke.Message != tt.message {
				t.Fatalf("seal %s: %v, want %s: %s", tt.summary, err, tt.code, tt.message)
			}
			if !strings.Contains(err.Error(), "未加密") {
				t.Errorf("the refusal does not say nothing was sealed: %v", err)
			}
			// Nothing written: no sealed file, no temporary beside it.
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("seal %s refused but left %v", tt.summary, entries)
			}
		})
	}
}

package app

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
)

// sealTo seals plaintext for b to the recipients given.
func sealTo(tb testing.TB, b seal.Binding, plaintext []byte, to ...seal.Recipient) []byte {
	tb.Helper()
	var out bytes.Buffer
	if _, err := seal.Seal(&out, bytes.NewReader(plaintext), b, to); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func certRecipient(tb testing.TB, c *devpki.Issued) seal.Recipient {
	tb.Helper()
	r, err := seal.NewCertRecipient(c.Cert)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestRescueTender: a tender with a rescue plan gets a rescue key split 2-of-3 among named
// supervisors at creation; each holder fetches and verifies their own share, nobody else
// gets one; a bid must be sealed to exactly this tender's rescue key.
func TestRescueTender(t *testing.T) {
	ctx := context.Background()
	holders := map[kaiping.ID]*devpki.Issued{}
	var outsider *devpki.Issued
	w := mustSubmissionWorldWith(t, func(w *submissionWorld, tender *opening.Tender) {
		for i, alg := range []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA} {
			cert := w.ta.mustRegister(t, w.admin, alg, "监督"+string(rune('甲'+i)), kaiping.RoleSupervisor)
			var me kaiping.Principal
			if err := w.ta.mustLogin(t, cert).Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil {
				t.Fatal(err)
			}
			holders[me.ID] = cert
			tender.Rescue.Holders = append(tender.Rescue.Holders, me.ID)
		}
		tender.Rescue.Enabled, tender.Rescue.Threshold = true, 2
		outsider = w.ta.mustRegister(t, w.admin, devpki.ECDSA, "监督丁", kaiping.RoleSupervisor)
	})
	if w.tender.Rescue.KeyID == "" || len(w.tender.Rescue.PublicKey) != 65 {
		t.Fatalf("tender's rescue key not published: %+v", w.tender.Rescue)
	}
	pub, err := ecdh.P256().NewPublicKey(w.tender.Rescue.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	for id, cert := range holders {
		var sh opening.RescueShare
		if err := w.ta.mustLogin(t, cert).Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(w.tender.ID)+"/rescue/share", nil, &sh); err != nil {
			t.Fatal(err)
		}
		if sh.Share.Holder != id || sh.Threshold != 2 || sh.Holders != 3 || sh.KeyID != w.tender.Rescue.KeyID {
			t.Errorf("share of %s: %+v", id, sh)
		}
		identity, err := seal.NewCertIdentity(cert.Cert, cert.Key)
		if err != nil {
			t.Fatal(err)
		}
		share, err := rescue.VerifyShare(sh.Share, identity, sh.Commitments, pub)
		if err != nil {
			t.Errorf("holder %s cannot verify their share: %v", cert.Cert.Subject.CommonName, err)
			continue
		}
		share.Wipe()
	}
	shareOf := func(c interface {
		Do(context.Context, string, string, any, any) error
	}) error {
		return c.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(w.tender.ID)+"/rescue/share", nil, nil)
	}
	if err := shareOf(w.mustAssignSupervisor(t, w.ta.mustLogin(t, outsider))); apiCode(err) != "rescue.not_holder" {
		t.Errorf("a supervisor who holds no share: %v", err)
	}
	if err := shareOf(w.bidder); apiCode(err) != "auth.role_forbidden" {
		t.Errorf("a bidder asking for a share: %v", err)
	}
	// The stored setup holds no private key: only public points and encrypted shares.
	var setup []byte
	if err := w.ta.DB.Pool.QueryRow(ctx, `SELECT rescue_setup::text FROM tenders WHERE id = $1`, w.tender.ID).Scan(&setup); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(setup, []byte("private")) || bytes.Contains(setup, []byte("scalar")) {
		t.Errorf("rescue setup mentions private material: %s", setup)
	}

	rescueTo, err := seal.NewRescueRecipient(pub)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := ecdh.P256().GenerateKey(rand.Reader)
	wrongRescue, _ := seal.NewRescueRecipient(otherKey.PublicKey())
	me := certRecipient(t, w.bidderCert)
	b := w.binding(seal.Summary)
	if _, err := w.submit(w.bidder, sealTo(t, b, []byte("1"), me), ""); apiCode(err) != "bid.no_rescue_recipient" {
		t.Errorf("bid without the rescue recipient: %v", err)
	}
	if _, err := w.submit(w.bidder, sealTo(t, b, []byte("1"), me, wrongRescue), ""); apiCode(err) != "bid.no_rescue_recipient" {
		t.Errorf("bid sealed to another rescue key: %v", err)
	}
	if _, err := w.submit(w.bidder, sealTo(t, b, []byte("1"), me, rescueTo), ""); err != nil {
		t.Errorf("bid sealed to the bidder and the tender's rescue key: %v", err)
	}
}

// TestRescueTenderRefusals: holders must be supervisors with a certificate, and the rescue
// key is the platform's to make.
func TestRescueTenderRefusals(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	admin := ta.mustLogin(t, ta.setup.Admin)
	host := ta.mustLogin(t, ta.mustRegister(t, admin, devpki.SM2, "主持人", kaiping.RoleHost))
	id := func(c *devpki.Issued) kaiping.ID {
		var me kaiping.Principal
		if err := ta.mustLogin(t, c).Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil {
			t.Fatal(err)
		}
		return me.ID
	}
	sup := id(ta.mustRegister(t, admin, devpki.ECDSA, "监督甲", kaiping.RoleSupervisor))
	notSup := id(ta.mustRegister(t, admin, devpki.ECDSA, "投标人甲", kaiping.RoleBidder))
	tender := func(code string, p opening.RescuePolicy) opening.Tender {
		x := demoTender(ta.clock.Now().Add(time.Hour))
		x.Code, x.Rescue = code, p
		return x
	}
	tests := []struct {
		name   string
		policy opening.RescuePolicy
		code   string
	}{
		{"holder not a supervisor", opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: []kaiping.ID{sup, notSup}}, "tender.rescue_holder"},
		{"holder unknown", opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: []kaiping.ID{sup, kaiping.NewID()}}, "tender.rescue_holder"},
		{"key given by the request", opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: []kaiping.ID{sup, notSup}, KeyID: "x"}, "tender.rescue_key"},
	}
	for i, tt := range tests {
		err := host.Do(ctx, http.MethodPost, "/api/v1/tenders", tender("KP-R"+string(rune('0'+i)), tt.policy), nil)
		if apiCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	var n int
	if err := ta.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM tenders`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tenders stored after refusals, %v", n, err)
	}
}

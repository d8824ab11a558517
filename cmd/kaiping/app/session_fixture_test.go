package app

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/identity/devpki"
)

// sessionIDNumber is ZZ-02's ID card number (a valid check digit), which the venue staff see
// masked.
const sessionIDNumber = "410105199003071256"

// sessionWorld is the page test's evaluation world with a session set up through the API:
// the committee of five drawn for the tender, accepted, dispatched to seats in three cities,
// a supervisor, staff at every venue, and a login with its certificate for every member.
type sessionWorld struct {
	*evalWorld
	supervisor *apiclient.Client
	draw       kaiping.ID
	sess       evaluation.Session
	certs      map[string]*devpki.Issued // each member's certificate and key, by expert code
	staffOf    map[kaiping.ID]*devpki.Issued
	byCode     map[string]evaluation.SessionMember
}

// mustSessionWorld draws the committee (A01 ×3, A10 ×2: KF-01, KF-02, ZZ-01, ZZ-02, LY-01),
// has everyone accept, dispatches it and creates the session, which starts in 40 minutes
// (check-in may open an hour before): the scheduled session, check-in not yet open.
func mustSessionWorld(t *testing.T) *sessionWorld {
	t.Helper()
	return mustSessionWorldOn(t, mustEvalWorld(t))
}

// mustSessionWorldOn builds the session world on ew.
func mustSessionWorldOn(t *testing.T, ew *evalWorld) *sessionWorld {
	t.Helper()
	ctx := context.Background()
	w := &sessionWorld{evalWorld: ew, certs: map[string]*devpki.Issued{}, staffOf: map[kaiping.ID]*devpki.Issued{},
		byCode: map[string]evaluation.SessionMember{}}
	sup := w.mustRegister(t, w.admin, devpki.SM2, "评标监督员", kaiping.RoleSupervisor)
	w.mustAssign(t, w.tender.ID, principalID(t, w.mustLogin(t, sup)), kaiping.DutySupervisor)

	// KF-01 keeps its SM2 login (which a browser cannot sign with); the others get ECDSA
	// logins, which it can. ZZ-02 has an ID number on file for the venue staff's check.
	w.certs["KF-01"] = w.lateCert
	for _, code := range []string{"KF-02", "ZZ-01", "ZZ-02", "LY-01"} {
		x := w.experts[code]
		cert := w.mustRegister(t, w.admin, devpki.ECDSA, x.Name, kaiping.RoleExpert)
		w.certs[code] = cert
		if code == "ZZ-02" {
			x.IDNumber = sessionIDNumber
			w.experts[code] = x
		}
		w.mustLink(t, code, w.mustLogin(t, cert))
	}

	now := w.clock.Now()
	req := evaluation.DrawRequest{Tender: w.tender.ID, CommitteeSize: 5,
		Quotas: []draw.Quota{{Specialty: "A01", Count: 3}, {Specialty: "A10", Count: 2}}, OutsideSharePercent: 40,
		HostVenue: w.venues["410200"].ID, Session: draw.Period{Start: now.Add(40 * time.Minute), End: now.Add(8 * time.Hour)}, RespondMinutes: 30}
	var d evaluation.Draw
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/draws", req, &d); err != nil {
		t.Fatalf("draw: %v", err)
	}
	w.draw = d.ID
	for code := range w.certs {
		if err := w.memberClient(t, code).Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(d.ID)+"/accept", nil, nil); err != nil {
			t.Fatalf("%s accepts: %v", code, err)
		}
	}
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/draws/"+string(d.ID)+"/dispatch", nil, nil); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	for city, v := range w.venues {
		if city == "410100" {
			continue // the Zhengzhou staff of mustEvalWorld
		}
		cert := w.mustRegister(t, w.admin, devpki.SM2, v.Name+"工作人员", kaiping.RoleVenueStaff)
		w.staffOf[v.ID] = cert
		if err := w.admin.Do(ctx, http.MethodPost, "/api/v1/venues/"+string(v.ID)+"/staff",
			evaluation.StaffRequest{Principal: principalID(t, w.mustLogin(t, cert))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	create := evaluation.CreateSessionRequest{Tender: w.tender.ID,
		Groups: []evaluation.GroupRequest{{Name: "第一评标小组", Draw: d.ID, Sections: []string{"BD1"}}}}
	if err := w.host.Do(ctx, http.MethodPost, "/api/v1/sessions", create, &w.sess); err != nil {
		t.Fatalf("create the session: %v", err)
	}
	for _, m := range w.sess.Members {
		w.byCode[m.Code] = m
	}
	if len(w.byCode) != 5 {
		t.Fatalf("the session has members %v, want the five drawn", w.byCode)
	}
	w.supervisor = w.mustLogin(t, sup)
	return w
}

// memberClient logs in the member with code afresh (the test clock may have run past an
// older login).
func (w *sessionWorld) memberClient(tb testing.TB, code string) *apiclient.Client {
	tb.Helper()
	return w.mustLogin(tb, w.certs[code])
}

// staffClient logs in the staff of the venue of member code.
func (w *sessionWorld) staffClient(tb testing.TB, code string) *apiclient.Client {
	tb.Helper()
	v := w.byCode[code].Venue
	if cert, ok := w.staffOf[v]; ok {
		return w.mustLogin(tb, cert)
	}
	return w.staff
}

// mustReady takes member code through the identity check, the pledge (signed with their key
// in Go) and a declaration of no conflict, through the API.
func (w *sessionWorld) mustReady(tb testing.TB, code string) {
	tb.Helper()
	ctx := context.Background()
	m := w.byCode[code]
	base := "/api/v1/expert/sessions/" + string(w.sess.ID)
	if err := w.staffClient(tb, code).Do(ctx, http.MethodPost, "/api/v1/venue/sessions/"+string(w.sess.ID)+"/members/"+string(m.ID)+"/confirm",
		evaluation.ConfirmRequest{Seat: m.Seat}, nil); err != nil {
		tb.Fatalf("confirm %s: %v", code, err)
	}
	c := w.memberClient(tb, code)
	if err := c.Do(ctx, http.MethodPost, base+"/pledge", w.signedPledge(tb, code), nil); err != nil {
		tb.Fatalf("pledge of %s: %v", code, err)
	}
	if err := c.Do(ctx, http.MethodPost, base+"/declaration", evaluation.DeclarationRequest{}, nil); err != nil {
		tb.Fatalf("declaration of %s: %v", code, err)
	}
}

func (w *sessionWorld) signedPledge(tb testing.TB, code string) evaluation.PledgeRequest {
	tb.Helper()
	cert := w.certs[code]
	sig, err := certsign.Sign(cert.Key, evaluation.PledgeMessage(w.sess.ID, w.byCode[code].ID, evaluation.PledgeDigest()))
	if err != nil {
		tb.Fatal(err)
	}
	return evaluation.PledgeRequest{Digest: evaluation.PledgeDigest(), Certificate: identity.Fingerprint(cert.Cert.Raw), Signature: sig}
}

// mustSession reads the session as its host.
func (w *sessionWorld) mustSession(tb testing.TB) evaluation.Session {
	tb.Helper()
	var s evaluation.Session
	if err := w.host.Do(context.Background(), http.MethodGet, "/api/v1/sessions/"+string(w.sess.ID), nil, &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// keyFiles writes the key (PKCS#8 PEM) and certificate (PEM) of cert to files, as a person
// keeps them, for the page's file inputs.
func keyFiles(tb testing.TB, cert *devpki.Issued) (key, crt string) {
	tb.Helper()
	dir := tb.TempDir()
	pem, err := cert.KeyPEM()
	if err != nil {
		tb.Fatal(err)
	}
	key, crt = filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(key, pem, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(crt, cert.CertPEM(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return key, crt
}

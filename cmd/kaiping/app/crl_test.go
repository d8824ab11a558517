package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// crlServer is the test CA's CRL distribution point on loopback: it serves the list the
// test publishes last, or nothing (503) while down.
type crlServer struct {
	url  string
	list atomic.Pointer[[]byte]
}

func mustCRLServer(tb testing.TB) *crlServer {
	tb.Helper()
	s := &crlServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		list := s.list.Load()
		if list == nil {
			http.Error(w, "no list", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(*list)
	}))
	tb.Cleanup(srv.Close)
	s.url = srv.URL + "/ca.crl"
	return s
}

// publish has the CA issue a list revoking certs, valid for a day from now.
func (s *crlServer) publish(tb testing.TB, ca *devpki.CA, now time.Time, certs ...*devpki.Issued) {
	tb.Helper()
	var revoked []*smx509.Certificate
	for _, c := range certs {
		revoked = append(revoked, c.Cert)
	}
	der, err := ca.RevocationList(revoked, now.Add(-time.Minute), now.Add(24*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	s.list.Store(&der)
}

// TestCRL: a certificate its CA revoked, once the CA's list is refreshed, cannot log in, be
// registered by an administrator, register for a tender, complete a submission or unlock
// (auth.cert_revoked), whatever sessions it holds; the other bidders go on. A list that
// cannot be had past its nextUpdate and the grace leaves the CA's certificates refused
// (auth.revocation_unknown) until it is had again.
func TestCRL(t *testing.T) {
	setup := mustSetup(t)
	crl := mustCRLServer(t)
	crl.publish(t, setup.CA, time.Now())
	ta := mustAppFrom(t, setup, slog.New(slog.NewTextHandler(io.Discard, nil)), func(c *Config) {
		c.Auth.CRLs = []CRLConfig{{CA: c.Auth.CARoots[0], URL: crl.url}}
		c.Auth.CRLGrace = Duration(time.Hour)
	})
	ctx := context.Background()
	w := mustHallWorldIn(t, ta, 3, nil)
	for i, b := range w.bidders {
		w.mustSubmit(t, b, seal.Summary, summaryJSON("98000"+string(rune('0'+i)), 180))
	}
	// Bidder 丁 has started its upload; 戊 has not registered for the tender yet; 己's
	// certificate is not registered on the platform yet.
	dingC, dingCert, dingID := w.mustBidder(t, devpki.ECDSA, "丁公司")
	dingFile := sealTo(t, seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: dingID, Kind: seal.Summary},
		summaryJSON("97000", 180), certRecipient(t, dingCert))
	dingTicket := w.startUpload(t, dingC, dingFile)
	dingDigest := mustChecked(t, dingFile, dingCert)
	wuCert := w.ta.mustRegister(t, w.admin, devpki.SM2, "戊公司", kaiping.RoleBidder)
	wu := w.ta.mustLogin(t, wuCert)
	now := ta.clock.Now()
	jiCert, err := setup.CA.Issue(devpki.RSA, "己公司", "己", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}

	crl.publish(t, setup.CA, time.Now(), dingCert, wuCert, jiCert)
	if err := ta.Revocations.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		do   func() error
	}{
		{"log in", func() error {
			_, err := apiclient.New(ta.base).Login(ctx, dingCert.CertPEM(), dingCert.Key)
			return err
		}},
		{"be registered", func() error {
			return w.admin.Do(ctx, http.MethodPost, "/api/v1/principals",
				identity.NewPrincipal{Name: "己公司", Roles: []kaiping.Role{kaiping.RoleBidder}, Certificate: string(jiCert.CertPEM())}, nil)
		}},
		{"register for the tender", func() error {
			return wu.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/sections/BD1/registrations",
				opening.RegisterRequest{Certificate: identity.Fingerprint(wuCert.Cert.Raw)}, nil)
		}},
		{"complete a submission", func() error {
			_, err := bidder.NewSubmitter(dingC).Finish(ctx, dingTicket, bytes.NewReader(dingFile), dingDigest)
			return err
		}},
	}
	for _, r := range refusals {
		if err := r.do(); apiCode(err) != "auth.cert_revoked" {
			t.Errorf("a revoked certificate may %s: %v", r.name, err)
		}
	}
	if st := w.status(t, w.bidder); len(st.Envelopes) != 1 {
		t.Errorf("a bidder whose certificate stands: %d envelopes", len(st.Envelopes))
	}

	// Bidder 甲 has checked in and the window is open when its CA revokes its certificate.
	w.sealNow(t)
	w.mustMove(t, opening.HallCheckingIn, 0)
	for _, b := range w.bidders {
		if err := w.checkIn(b); err != nil {
			t.Fatal(err)
		}
	}
	w.mustMove(t, opening.HallDecrypting, 0)
	jia := w.bidders[0]
	headers := w.headers(t, jia)
	crl.publish(t, setup.CA, time.Now(), dingCert, wuCert, jiCert, jia.cert)
	if err := ta.Revocations.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.unlock(jia, headers[0].Envelope, fileKey(t, jia, headers[0])); apiCode(err) != "auth.cert_revoked" {
		t.Errorf("a revoked certificate may unlock: %v", err)
	}
	yi := w.bidders[1]
	w.mustUnlockAll(t, yi)

	// The list cannot be had: believed until its nextUpdate and the grace, then not.
	crl.list.Store(nil)
	if err := ta.Revocations.Refresh(ctx); err == nil {
		t.Fatal("a refresh from a distribution point that is down succeeded")
	}
	if err := yi.c.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil); err != nil {
		t.Errorf("within the list's validity: %v", err)
	}
	ta.clock.Set(time.Now().Add(26 * time.Hour))
	if _, err := apiclient.New(ta.base).Login(ctx, yi.cert.CertPEM(), yi.cert.Key); apiCode(err) != "auth.revocation_unknown" {
		t.Errorf("a login past nextUpdate and the grace: %v", err)
	}
	crl.publish(t, setup.CA, ta.clock.Now(), jia.cert)
	if err := ta.Revocations.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := apiclient.New(ta.base).Login(ctx, yi.cert.CertPEM(), yi.cert.Key); err != nil {
		t.Errorf("a login once a fresh list is had: %v", err)
	}
}

// Package sim holds the simulated participants that the demonstration, the measured
// scenarios and the command tests drive a real server with: a registered principal with its
// certificate, key and logged-in client, doing through the HTTP API and the clients' own
// packages what a bidder's tool would.
package sim

import (
	"bytes"
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
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// Party is a simulated participant: a certificate, its key and a logged-in client.
type Party struct {
	Name   string
	ID     kaiping.ID
	Cert   *devpki.Issued
	Client *apiclient.Client
}

// NewParty has the admin register name with a fresh certificate and logs it in; its
// certificate and key are written to dir so a person can use them with `kaiping bid`.
func NewParty(ctx context.Context, base, dir string, setup *app.DevSetup, admin *apiclient.Client, alg devpki.Algorithm, name string, role kaiping.Role) (*Party, error) {
	now := time.Now()
	cert, err := setup.CA.Issue(alg, name, name, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return nil, err
	}
	p := &Party{Name: name, Cert: cert, Client: apiclient.New(base)}
	var principal kaiping.Principal
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/principals",
		identity.NewPrincipal{Name: name, Roles: []kaiping.Role{role}, Certificate: string(cert.CertPEM())}, &principal); err != nil {
		return nil, fmt.Errorf("register %s: %w", name, err)
	}
	p.ID = principal.ID
	if _, err := p.Client.Login(ctx, cert.CertPEM(), cert.Key); err != nil {
		return nil, fmt.Errorf("login %s: %w", name, err)
	}
	keyPEM, err := cert.KeyPEM()
	if err != nil {
		return nil, err
	}
	stem := filepath.Join(dir, string(p.ID))
	if err := os.WriteFile(stem+".cert.pem", cert.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	return p, os.WriteFile(stem+".key.pem", keyPEM, 0o600)
}

// SubmitSummary seals a summary envelope for p to its own certificate and the tender's rescue
// key, then submits it.
func SubmitSummary(ctx context.Context, t opening.Tender, p *Party, summary string) (opening.Receipt, error) {
	rc, _, err := SubmitEnvelope(ctx, t, p, seal.Summary, []byte(summary), nil)
	return rc, err
}

// SubmitEnvelope seals plain as p's envelope of the given kind on the tender's first
// section and submits it as `kaiping bid submit` does (through hc, or the submitter's own
// client if nil), returning the receipt and the sealed file's size.
func SubmitEnvelope(ctx context.Context, t opening.Tender, p *Party, kind seal.EnvelopeKind, plain []byte, hc *http.Client) (opening.Receipt, int64, error) {
	to, err := bidder.Recipients(t, p.Cert.Cert)
	if err != nil {
		return opening.Receipt{}, 0, err
	}
	var sealed bytes.Buffer
	b := seal.Binding{Tender: t.ID, Section: t.Sections[0].ID, Bidder: p.ID, Kind: kind}
	if _, err := seal.Seal(&sealed, bytes.NewReader(plain), b, to, seal.WithSuite(seal.Suite(t.Suite))); err != nil {
		return opening.Receipt{}, 0, err
	}
	id, err := seal.NewCertIdentity(p.Cert.Cert, p.Cert.Key)
	if err != nil {
		return opening.Receipt{}, 0, err
	}
	d, err := bidder.Check(bytes.NewReader(sealed.Bytes()), id)
	if err != nil {
		return opening.Receipt{}, 0, err
	}
	sub := bidder.NewSubmitter(p.Client)
	if hc != nil {
		sub.HTTP = hc
	}
	rc, err := sub.Submit(ctx, string(t.ID), "BD1", string(kind), bytes.NewReader(sealed.Bytes()), d)
	if err != nil {
		return rc, 0, fmt.Errorf("%s submits its %s envelope: %w", p.Name, kind, err)
	}
	return rc, int64(sealed.Len()), nil
}

// Unlock does what `kaiping bid unlock` does for p: fetch its envelopes' headers, unwrap
// each file key with its certificate key and hand it in.
func Unlock(ctx context.Context, p *Party, hall string) error {
	keys, err := UnwrapFileKeys(ctx, p, hall)
	if err != nil {
		return err
	}
	for _, k := range keys {
		err = p.Client.Do(ctx, http.MethodPost, hall+"/unlocks", opening.UnlockRequest{Envelope: k.Envelope, FileKey: k.Key}, nil)
		clear(k.Key)
		if err != nil {
			return fmt.Errorf("%s hands in its file key: %w", p.Name, err)
		}
	}
	return nil
}

// UnwrappedKey is one of a bidder's envelopes with the file key it unwrapped locally.
type UnwrappedKey struct {
	opening.EnvelopeHeader
	Key []byte
}

// UnwrapFileKeys fetches p's envelopes' headers from the hall and unwraps each file key
// with p's certificate key, as the bidder's tool does on its own machine.
func UnwrapFileKeys(ctx context.Context, p *Party, hall string) ([]UnwrappedKey, error) {
	var envs struct{ Envelopes []opening.EnvelopeHeader }
	if err := p.Client.Do(ctx, http.MethodGet, hall+"/envelopes", nil, &envs); err != nil {
		return nil, fmt.Errorf("%s's envelopes: %w", p.Name, err)
	}
	id, err := seal.NewCertIdentity(p.Cert.Cert, p.Cert.Key)
	if err != nil {
		return nil, err
	}
	out := make([]UnwrappedKey, 0, len(envs.Envelopes))
	for _, e := range envs.Envelopes {
		hdr, _, err := seal.ParseHeader(bytes.NewReader(e.Header))
		if err != nil {
			return nil, err
		}
		key, err := hdr.UnwrapFileKey(id)
		if err != nil {
			return nil, fmt.Errorf("%s unwraps its file key: %w", p.Name, err)
		}
		out = append(out, UnwrappedKey{EnvelopeHeader: e, Key: key})
	}
	return out, nil
}

// WaitReady waits up to 30 seconds for the server at base to answer /readyz with 200 OK.
func WaitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s/readyz did not answer OK within 30s", base)
}

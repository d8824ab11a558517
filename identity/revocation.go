package identity

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
)

// CRLSource is where one accepted CA publishes its certificate revocation list (CRL, 证书
// 吊销列表): a file or an http(s) URL, DER or PEM.
type CRLSource struct {
	// CA is the CA certificate (one of the accepted roots) that must have signed the list.
	CA *smx509.Certificate
	// Location is a file path or an http:// or https:// URL.
	Location string
}

// RevocationLists keeps the CRLs of the accepted CAs, refreshed periodically (Refresh,
// Run), and says whether a certificate is revoked (Check). A CA without a CRL source is not
// checked. A CA whose list could not be had, or is past its nextUpdate by more than grace,
// leaves its certificates' standing unknown, and they are refused (auth.revocation_unknown):
// a certificate the CA may have revoked does not log in, register, submit or unlock.
type RevocationLists struct {
	sources []CRLSource
	grace   time.Duration
	clock   kaiping.Clock
	log     *slog.Logger
	http    *http.Client

	mu    sync.RWMutex
	lists []loadedCRL // by source, in the order of sources
}

// loadedCRL is one source's last good list, and why the last refresh failed.
type loadedCRL struct {
	revoked    map[string]time.Time // serial (hex) → revocation time
	thisUpdate time.Time
	nextUpdate time.Time
	loaded     bool
	err        error
}

// NewRevocationLists returns the lists of sources, none loaded yet. A list past its
// nextUpdate is still believed for grace (a CA publishing late).
func NewRevocationLists(sources []CRLSource, grace time.Duration, clock kaiping.Clock, log *slog.Logger) *RevocationLists {
	return &RevocationLists{sources: sources, grace: grace, clock: clock, log: log,
		http: &http.Client{Timeout: 30 * time.Second}, lists: make([]loadedCRL, len(sources))}
}

// Refresh fetches every list again. A list that cannot be fetched or does not verify keeps
// the one loaded before (Check decides whether it is still fresh enough); the error names
// every source that failed.
func (r *RevocationLists) Refresh(ctx context.Context) error {
	var errs []error
	for i, src := range r.sources {
		crl, err := r.load(ctx, src)
		r.mu.Lock()
		if err != nil {
			r.lists[i].err = err
			errs = append(errs, fmt.Errorf("CRL %s: %w", src.Location, err))
		} else {
			r.lists[i] = crl
		}
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}

// load fetches, parses and verifies one source's list.
func (r *RevocationLists) load(ctx context.Context, src CRLSource) (loadedCRL, error) {
	data, err := r.fetch(ctx, src.Location)
	if err != nil {
		return loadedCRL{}, err
	}
	if block, _ := pem.Decode(data); block != nil {
		data = block.Bytes
	}
	list, err := smx509.ParseRevocationList(data)
	if err != nil {
		return loadedCRL{}, fmt.Errorf("parse: %w", err)
	}
	if err := list.CheckSignatureFrom(src.CA); err != nil {
		return loadedCRL{}, fmt.Errorf("not signed by %q: %w", src.CA.Subject.CommonName, err)
	}
	crl := loadedCRL{revoked: map[string]time.Time{}, thisUpdate: list.ThisUpdate, nextUpdate: list.NextUpdate, loaded: true}
	for _, e := range list.RevokedCertificateEntries {
		crl.revoked[e.SerialNumber.Text(16)] = e.RevocationTime
	}
	return crl, nil
}

func (r *RevocationLists) fetch(ctx context.Context, location string) ([]byte, error) {
	if !strings.HasPrefix(location, "http://") && !strings.HasPrefix(location, "https://") {
		return os.ReadFile(location)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", location, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// Run refreshes every interval until ctx ends.
func (r *RevocationLists) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("certificate revocation lists not refreshed", "err", err)
			}
		}
	}
}

// Check refuses a certificate of issuer (its issuer's DN, pkix.Name.String) with serial
// (hexadecimal, as RegisteredCertificate.Serial) that a CA's current list revokes
// (auth.cert_revoked), or whose CA's list is missing or stale (auth.revocation_unknown).
func (r *RevocationLists) Check(issuer, serial string) error {
	if r == nil {
		return nil
	}
	now := r.clock.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i, src := range r.sources {
		if src.CA.Subject.String() != issuer {
			continue
		}
		l := r.lists[i]
		if !l.loaded || now.After(l.nextUpdate.Add(r.grace)) {
			return &kaiping.Error{Kind: kaiping.KindUnavailable, Code: "auth.revocation_unknown",
				Message: "无法确认该证书是否已被 CA 吊销（CA 的证书吊销列表暂不可用或已过期），请稍后重试；交易中心已收到告警", Err: l.err}
		}
		if at, ok := l.revoked[serial]; ok {
			return kaiping.Errorf(kaiping.KindUnauthenticated, "auth.cert_revoked",
				"该证书已于 %s 被 CA 吊销，不能再使用，请使用 CA 新签发的证书", at.In(kaiping.BeijingTime).Format(time.DateTime))
		}
	}
	return nil
}

// CheckCertificate is Check for a parsed certificate.
func (r *RevocationLists) CheckCertificate(c *smx509.Certificate) error {
	return r.Check(c.Issuer.String(), c.SerialNumber.Text(16))
}

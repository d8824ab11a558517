// Package tsa is RFC 3161 time-stamping: a client that has a time-stamping authority (TSA,
// 时间戳服务机构) stamp a digest, the offline check of a token against the TSA's certificate,
// and a TSA server, which tests and the demo run on loopback (the same protocol a centre's
// TSA speaks). A token proves, independently of the platform's own clock and signature, that
// the digest existed at the TSA's time.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// maxResponseBytes bounds a TSA's answer: a token with its certificate chain is a few KiB.
const maxResponseBytes = 1 << 20

// Client asks one TSA for tokens and checks every token it gets.
type Client struct {
	url   string
	roots *x509.CertPool
	http  *http.Client
}

// NewClient returns a client of the TSA at url whose tokens must verify against roots
// (the TSA's certificate or its CA), each request bounded by timeout.
func NewClient(url string, roots *x509.CertPool, timeout time.Duration) *Client {
	return &Client{url: url, roots: roots, http: &http.Client{Timeout: timeout}}
}

// Stamp has the TSA stamp a SHA-256 digest and returns the token (DER, a CMS SignedData),
// checked as Verify does, and the stamped time.
func (c *Client) Stamp(ctx context.Context, digest []byte) ([]byte, time.Time, error) {
	if len(digest) != sha256.Size {
		return nil, time.Time{}, fmt.Errorf("tsa: a SHA-256 digest has %d bytes, got %d", sha256.Size, len(digest))
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, time.Time{}, err
	}
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return nil, time.Time{}, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(req))
	if err != nil {
		return nil, time.Time{}, err
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("tsa: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("tsa: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("tsa: %s answered %s", c.url, resp.Status)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("tsa: response: %w", err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, time.Time{}, errors.New("tsa: the response does not answer this request (nonce)")
	}
	at, err := Verify(ts.RawToken, digest, c.roots)
	if err != nil {
		return nil, time.Time{}, err
	}
	return ts.RawToken, at, nil
}

// Verify checks a token offline: it is signed by a certificate for time-stamping
// (extended key usage timeStamping) that chains to roots and was valid at the stamped
// time, and it stamps exactly digest with SHA-256. It returns the stamped time.
func Verify(token, digest []byte, roots *x509.CertPool) (time.Time, error) {
	ts, err := timestamp.Parse(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("tsa: token: %w", err)
	}
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, digest) {
		return time.Time{}, errors.New("tsa: the token stamps another digest")
	}
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("tsa: token: %w", err)
	}
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		inter.AddCert(c)
	}
	if err := p7.VerifyWithOpts(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return time.Time{}, fmt.Errorf("tsa: the token is not signed by the configured TSA: %w", err)
	}
	return ts.Time, nil
}

// ParseRoots reads the CERTIFICATE blocks of pemData: the TSA's certificate, or the CA
// that issues it.
func ParseRoots(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemData; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("tsa: certificate: %w", err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("tsa: no certificate in the TSA certificate file")
	}
	return pool, nil
}

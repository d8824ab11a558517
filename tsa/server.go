package tsa

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// DevPolicy is the policy the development TSA stamps under (an OID in the private arc used
// by examples; a real TSA names its own).
var DevPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}

// Server is an RFC 3161 time-stamping authority over HTTP (POST application/timestamp-query):
// for tests and the demo, with a certificate from a development CA. Its time is now().
type Server struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	Now  func() time.Time
}

// ServeHTTP answers one time-stamp request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a time-stamp query", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: s.Now().UTC(),
		Accuracy: time.Second, Nonce: req.Nonce, Policy: DevPolicy, AddTSACertificate: req.Certificates}
	resp, err := ts.CreateResponseWithOpts(s.Cert, s.Key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

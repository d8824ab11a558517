package agent

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
)

// Routes (all JSON):
//
//	GET  /v1/status      version, certificate subject and fingerprint, whether the origin is paired
//	POST /v1/pair        {} shows a code in the terminal; {"code"} answers {"token"}
//	POST /v1/sign-login  {"nonce"} answers {"certificate", "signature"} (needs the token)
//	POST /v1/sign        {"purpose", fields...} answers {"signature", "fingerprint"} (needs the token)
//
// Every request must come from an allowed origin (its Origin header), to 127.0.0.1 or
// localhost (its Host header, against DNS rebinding); the signing routes also need
// "Authorization: Bearer <pairing token>".
func (a *Agent) serve(w http.ResponseWriter, r *http.Request) {
	if !loopbackHost(r.Host) {
		a.refuse(w, r, "", errHost)
		return
	}
	origin, err := NormalizeOrigin(r.Header.Get("Origin"))
	if err != nil || !a.origins[origin] {
		// Answered with CORS headers for that origin, so that the page can read why and tell
		// the user; the answer holds nothing else. A preflight is refused outright.
		if o := r.Header.Get("Origin"); o != "" && r.Method != http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Vary", "Origin")
		}
		a.refuse(w, r, r.Header.Get("Origin"), errOrigin)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Vary", "Origin")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		// Chromium asks before a public site calls a loopback address (Private Network Access).
		h.Set("Access-Control-Allow-Private-Network", "true")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var out any
	switch r.URL.Path {
	case "/v1/status":
		if r.Method != http.MethodGet {
			err = errMethod
			break
		}
		_, paired := a.state.get(origin)
		out = Status{Version: a.cfg.Version, Subject: a.subject, Fingerprint: a.fingerprint, Paired: paired}
	case "/v1/pair":
		out, err = a.handlePair(r, origin)
	case "/v1/sign-login":
		out, err = a.authed(r, origin, a.handleSignLogin)
	case "/v1/sign":
		out, err = a.authed(r, origin, a.handleSign)
	default:
		err = errNotFound
	}
	if err != nil {
		a.refuse(w, r, origin, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// Status is the answer of GET /v1/status.
type Status struct {
	Version     string `json:"version"`
	Subject     string `json:"subject"`     // the certificate's subject
	Fingerprint string `json:"fingerprint"` // SHA-256 of the certificate, as the platform shows it
	Paired      bool   `json:"paired"`      // the origin has a pairing (the page may have lost its token)
}

// PairRequest is the body of POST /v1/pair: empty to have a code shown, the code to pair.
type PairRequest struct {
	Code string `json:"code,omitempty"`
}

// PairResponse answers POST /v1/pair: Shown after a code was shown, Token after pairing.
type PairResponse struct {
	Shown bool   `json:"shown,omitempty"`
	Token string `json:"token,omitempty"`
}

func (a *Agent) handlePair(r *http.Request, origin string) (any, error) {
	if r.Method != http.MethodPost {
		return nil, errMethod
	}
	var req PairRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Code == "" {
		a.startPairing(origin)
		return PairResponse{Shown: true}, nil
	}
	tok, err := a.finishPairing(origin, strings.TrimSpace(req.Code))
	if err != nil {
		return nil, err
	}
	return PairResponse{Token: tok}, nil
}

// authed runs h after checking the request's pairing token for origin.
func (a *Agent) authed(r *http.Request, origin string, h func(*http.Request) (any, error)) (any, error) {
	if r.Method != http.MethodPost {
		return nil, errMethod
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !a.paired(origin, tok) {
		return nil, errNotPaired
	}
	return h(r)
}

// loopbackHost reports whether the Host header names the loopback interface, so that a page
// whose own name was made to resolve to 127.0.0.1 (DNS rebinding) is refused.
func loopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	return h == "127.0.0.1" || h == "localhost" || h == "[::1]" || h == "::1"
}

// decode reads a JSON body of at most 64 KiB, refusing unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBody
	}
	return nil
}

func (a *Agent) refuse(w http.ResponseWriter, r *http.Request, origin string, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		a.cfg.Log.Error("agent request failed", "path", r.URL.Path, "origin", origin, "err", err)
		ae = errState
	} else if ae != errNotFound {
		a.cfg.Log.Warn("agent request refused", "path", r.URL.Path, "origin", origin, "code", ae.Code)
	}
	writeJSON(w, ae.status, map[string]any{"error": ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

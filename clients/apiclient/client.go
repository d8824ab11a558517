// Package apiclient is the Go client of the kaiping HTTP API used by the command-line tools,
// the demo and the end-to-end tests: certificate login and JSON calls that turn error
// responses back into their stable codes.
package apiclient

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kaiping/kaiping/identity"
)

// Client calls one kaiping server.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	Token   string // the session token, set by Login
}

// New returns a client for baseURL (e.g. http://127.0.0.1:8080).
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: http.DefaultClient}
}

// Error is an error response from the server.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Login asks for a nonce, signs it with key (the private key of the leaf certificate in
// chainPEM) and exchanges it for a session token, which later calls carry.
func (c *Client) Login(ctx context.Context, chainPEM []byte, key crypto.Signer) (identity.Session, error) {
	var ch identity.Challenge
	if err := c.Do(ctx, http.MethodPost, "/api/v1/auth/challenge", struct{}{}, &ch); err != nil {
		return identity.Session{}, err
	}
	sig, err := identity.SignLogin(key, ch.Nonce)
	if err != nil {
		return identity.Session{}, fmt.Errorf("sign login nonce: %w", err)
	}
	var s identity.Session
	err = c.Do(ctx, http.MethodPost, "/api/v1/auth/login", identity.LoginRequest{
		Certificate: string(chainPEM), Nonce: ch.Nonce, Signature: base64.StdEncoding.EncodeToString(sig),
	}, &s)
	if err != nil {
		return identity.Session{}, err
	}
	c.Token = s.Token
	return s, nil
}

// Do sends in as JSON (nil for no body) and decodes the response into out (nil to discard).
// A non-2xx answer is returned as *Error.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return errorOf(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// Raw GETs path and returns its body byte for byte (up to 64 MiB), for what must not be
// re-encoded: a document whose digest is signed. A non-2xx answer is returned as *Error.
func (c *Client) Raw(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, errorOf(resp.StatusCode, data)
	}
	return data, nil
}

// errorOf turns an error response into *Error with its stable code.
func errorOf(status int, body []byte) error {
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &eb)
	return &Error{Status: status, Code: eb.Error.Code, Message: eb.Error.Message}
}

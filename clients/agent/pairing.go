package agent

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// CodeTTL is how long a pairing code shown in the terminal may be typed.
const CodeTTL = 5 * time.Minute

// MaxCodeTries is how many wrong codes end a pairing attempt: the page must ask for a new
// code, which the user sees appear, so a page cannot guess its way through a million codes.
const MaxCodeTries = 3

// pairingCode is a code shown to the user and not yet typed.
type pairingCode struct {
	code    string
	expires time.Time
	wrong   int
}

// newCode returns a uniformly random six-digit code.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("agent: no randomness: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// newToken returns a fresh pairing token.
func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("agent: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// startPairing shows a new code for origin in the terminal, replacing any earlier one.
func (a *Agent) startPairing(origin string) {
	code := newCode()
	a.mu.Lock()
	a.codes[origin] = &pairingCode{code: code, expires: a.cfg.Clock.Now().Add(CodeTTL)}
	a.mu.Unlock()
	a.cfg.Log.Info("pairing code shown", "origin", origin, "code", code)
	a.cfg.ShowCode(origin, code)
}

// finishPairing checks the code typed for origin and, when it is the one shown, issues and
// records a pairing token. A wrong code counts against MaxCodeTries.
func (a *Agent) finishPairing(origin, typed string) (string, error) {
	a.mu.Lock()
	pc := a.codes[origin]
	if pc == nil || !a.cfg.Clock.Now().Before(pc.expires) {
		delete(a.codes, origin)
		a.mu.Unlock()
		return "", errNoCode
	}
	if subtle.ConstantTimeCompare([]byte(pc.code), []byte(typed)) != 1 {
		pc.wrong++
		if pc.wrong >= MaxCodeTries {
			delete(a.codes, origin)
		}
		a.mu.Unlock()
		a.cfg.Log.Warn("pairing refused: wrong code", "origin", origin)
		return "", errWrongCode
	}
	delete(a.codes, origin)
	a.mu.Unlock()
	tok := newToken()
	if err := a.state.put(origin, pairing{TokenSHA256: tokenDigest(tok), PairedAt: a.cfg.Clock.Now().UTC()}); err != nil {
		return "", err
	}
	a.cfg.Log.Info("origin paired", "origin", origin)
	return tok, nil
}

// paired reports whether token is origin's pairing token.
func (a *Agent) paired(origin, token string) bool {
	p, ok := a.state.get(origin)
	if !ok || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(p.TokenSHA256), []byte(tokenDigest(token))) == 1
}

//go:build cgo

package kek

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

// Token is an open PKCS#11 token whose secret keys serve as KEKs. The keys never leave it:
// wrapping and unwrapping are C_Encrypt and C_Decrypt on the device.
type Token struct {
	ctx   *pkcs11.Ctx
	owned bool // this Token called C_Initialize, so it calls C_Finalize
	mech  uint
	// sessions holds the open sessions; an operation takes one and puts it back. A
	// session is never used by two goroutines at once (PKCS#11 forbids it).
	sessions chan pkcs11.SessionHandle
	opened   int
	// closed ends waits for a session once Close began.
	closed  chan struct{}
	closing sync.Once
}

// OpenToken loads the module, finds the token and logs in.
func OpenToken(cfg TokenConfig) (*Token, error) {
	mech, err := ParseMechanism(cfg.Mechanism)
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	ctx := pkcs11.New(cfg.Module)
	if ctx == nil {
		return nil, fmt.Errorf("kek: %s is not a PKCS#11 module (or a library it needs is missing)", cfg.Module)
	}
	t := &Token{ctx: ctx, owned: true, mech: mech, closed: make(chan struct{})}
	if err := ctx.Initialize(); err != nil {
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, fmt.Errorf("kek: C_Initialize %s: %w", cfg.Module, err)
		}
		t.owned = false
	}
	if err := t.open(cfg); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Token) open(cfg TokenConfig) error {
	slot, err := findSlot(t.ctx, cfg.TokenLabel)
	if err != nil {
		return err
	}
	n := cfg.Sessions
	if n < 1 {
		n = 2
	}
	t.sessions = make(chan pkcs11.SessionHandle, n)
	// The login is the application's on the slot: once, on the first session, serves all.
	for i := range n {
		sh, err := t.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
		if err != nil {
			return fmt.Errorf("kek: C_OpenSession: %w", err)
		}
		t.sessions <- sh
		t.opened++
		if i == 0 {
			if err := t.ctx.Login(sh, pkcs11.CKU_USER, cfg.PIN); err != nil &&
				!errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
				return fmt.Errorf("kek: C_Login on token %q: %w", cfg.TokenLabel, err)
			}
		}
	}
	return nil
}

func findSlot(ctx *pkcs11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("kek: C_GetSlotList: %w", err)
	}
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err == nil && strings.TrimRight(ti.Label, " \x00") == label {
			return s, nil
		}
	}
	return 0, fmt.Errorf("kek: no PKCS#11 token labelled %q", label)
}

// Close waits for the operations under way, logs out and unloads the module.
func (t *Token) Close() error {
	var err error
	t.closing.Do(func() {
		close(t.closed)
		for i := range t.opened {
			sh := <-t.sessions
			if i == 0 {
				_ = t.ctx.Logout(sh)
			}
			_ = t.ctx.CloseSession(sh)
		}
		if t.owned {
			err = t.ctx.Finalize()
		}
		t.ctx.Destroy()
	})
	return err
}

// Key returns the KEK that is the token's secret key labelled label (CKA_LABEL); its ID is
// the label.
func (t *Token) Key(label string) (Cipher, error) {
	var handle pkcs11.ObjectHandle
	err := t.withSession(context.Background(), func(sh pkcs11.SessionHandle) error {
		tmpl := []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		}
		if err := t.ctx.FindObjectsInit(sh, tmpl); err != nil {
			return err
		}
		found, _, err := t.ctx.FindObjects(sh, 2)
		if ferr := t.ctx.FindObjectsFinal(sh); err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		if len(found) != 1 {
			return fmt.Errorf("%d secret keys labelled %q on the token, want 1", len(found), label)
		}
		handle = found[0]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	return &tokenKey{t: t, label: label, handle: handle}, nil
}

// withSession runs f on a free session.
func (t *Token) withSession(ctx context.Context, f func(pkcs11.SessionHandle) error) error {
	select {
	case <-t.closed:
		return errors.New("token closed")
	default:
	}
	select {
	case sh := <-t.sessions:
		defer func() { t.sessions <- sh }()
		return f(sh)
	case <-t.closed:
		return errors.New("token closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tokenKey is a secret key object on a token used as a KEK.
type tokenKey struct {
	t      *Token
	label  string
	handle pkcs11.ObjectHandle
}

// ID implements Cipher.
func (k *tokenKey) ID() string { return k.label }

// Seal implements Cipher with C_Encrypt; a device that chooses its own IV has it returned.
func (k *tokenKey) Seal(ctx context.Context, nonce, plaintext, ad []byte) ([]byte, []byte, error) {
	return k.gcm(ctx, true, nonce, plaintext, ad)
}

// Open implements Cipher with C_Decrypt.
func (k *tokenKey) Open(ctx context.Context, nonce, sealed, ad []byte) ([]byte, error) {
	_, plain, err := k.gcm(ctx, false, nonce, sealed, ad)
	return plain, err
}

// gcm runs one GCM encryption or decryption of in on the device, and returns the IV it
// used and its output.
func (k *tokenKey) gcm(ctx context.Context, encrypt bool, nonce, in, ad []byte) (used, out []byte, err error) {
	init, run, name := k.t.ctx.DecryptInit, k.t.ctx.Decrypt, "Decrypt"
	if encrypt {
		init, run, name = k.t.ctx.EncryptInit, k.t.ctx.Encrypt, "Encrypt"
	}
	err = k.t.withSession(ctx, func(sh pkcs11.SessionHandle) error {
		params := pkcs11.NewGCMParams(nonce, ad, tagSize*8)
		defer params.Free()
		if err := init(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(k.t.mech, params)}, k.handle); err != nil {
			return fmt.Errorf("C_%sInit: %w", name, err)
		}
		if out, err = run(sh, in); err != nil {
			return fmt.Errorf("pkcs11 C_%s: %w", name, err)
		}
		if used = params.IV(); len(used) == 0 {
			used = nonce
		}
		return nil
	})
	return used, out, err
}

package kek

import (
	"errors"
	"fmt"
)

// The KEK backends.
const (
	BackendFile   = "file"
	BackendPKCS11 = "pkcs11"
)

// Config chooses the KEKs: key files (the default) or keys on a PKCS#11 token. The first
// KEK listed wraps; the others only unwrap, until a rotation re-wrapped what they wrapped.
type Config struct {
	Backend string
	// KeyFiles are the KEK files, with the backend "file".
	KeyFiles []string
	// Token and KeyLabels are the token and its secret keys, with the backend "pkcs11".
	Token     TokenConfig
	KeyLabels []string
}

// Open loads the KEKs cfg names and returns the keyring, and what to call when it is no
// longer used (it unloads a PKCS#11 module).
func Open(cfg Config) (*Keyring, func() error, error) {
	closeKeys := func() error { return nil }
	var ciphers []Cipher
	switch cfg.Backend {
	case "", BackendFile:
		if len(cfg.KeyFiles) == 0 {
			return nil, closeKeys, errors.New("kek: no key file")
		}
		for _, f := range cfg.KeyFiles {
			c, err := LoadKeyFile(f)
			if err != nil {
				return nil, closeKeys, err
			}
			ciphers = append(ciphers, c)
		}
	case BackendPKCS11:
		if len(cfg.KeyLabels) == 0 {
			return nil, closeKeys, errors.New("kek: no key label")
		}
		t, err := OpenToken(cfg.Token)
		if err != nil {
			return nil, closeKeys, err
		}
		for _, l := range cfg.KeyLabels {
			c, err := t.Key(l)
			if err != nil {
				t.Close()
				return nil, closeKeys, err
			}
			ciphers = append(ciphers, c)
		}
		closeKeys = t.Close
	default:
		return nil, closeKeys, fmt.Errorf("kek: unknown backend %q", cfg.Backend)
	}
	k, err := NewKeyring(ciphers[0], ciphers[1:]...)
	if err != nil {
		_ = closeKeys()
		return nil, func() error { return nil }, err
	}
	return k, closeKeys, nil
}

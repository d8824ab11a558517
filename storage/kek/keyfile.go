package kek

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is a KEK read from a file: 32 random bytes, raw or as 64 hexadecimal digits,
// used with AES-256-GCM. Its ID is the file's name without its extension, so the files of
// successive KEKs are named for what they are (kek-2026.key, kek-2027.key).
type KeyFile struct {
	id   string
	aead cipher.AEAD
}

var _ Cipher = (*KeyFile)(nil)

// LoadKeyFile reads a KEK file. Like every secret, the file must not be readable by group
// or others: a KEK anyone on the machine can read protects nothing.
func LoadKeyFile(path string) (*KeyFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("kek: %s is readable by group or others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	key, err := parseKey(b)
	clear(b)
	if err != nil {
		return nil, fmt.Errorf("kek: %s: %w", path, err)
	}
	defer clear(key)
	id := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return NewKeyFile(id, key)
}

// NewKeyFile returns the AES-256-GCM KEK id with key (32 bytes; copied).
func NewKeyFile(id string, key []byte) (*KeyFile, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("kek: %s: key is %d bytes, not 32", id, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KeyFile{id: id, aead: aead}, nil
}

func parseKey(b []byte) ([]byte, error) {
	if len(b) == 32 {
		return bytes.Clone(b), nil
	}
	text := strings.TrimSpace(string(b))
	if len(text) != 64 {
		return nil, errors.New("want 32 random bytes, raw or as 64 hexadecimal digits")
	}
	key, err := hex.DecodeString(text)
	if err != nil {
		return nil, errors.New("want 32 random bytes, raw or as 64 hexadecimal digits")
	}
	return key, nil
}

// GenerateKeyFile writes a new random KEK, as hexadecimal, to path (mode 0600; an existing
// file is never overwritten: it may be the only copy of a KEK in use).
func GenerateKeyFile(path string) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	defer clear(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("kek: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("kek: %w", err)
	}
	return f.Close()
}

// ID implements Cipher.
func (k *KeyFile) ID() string { return k.id }

// Seal implements Cipher.
func (k *KeyFile) Seal(_ context.Context, nonce, plaintext, ad []byte) ([]byte, []byte, error) {
	return nonce, k.aead.Seal(nil, nonce, plaintext, ad), nil
}

// Open implements Cipher.
func (k *KeyFile) Open(_ context.Context, nonce, sealed, ad []byte) ([]byte, error) {
	return k.aead.Open(nil, nonce, sealed, ad)
}

func randomNonce() ([]byte, error) {
	n := make([]byte, nonceSize)
	_, err := rand.Read(n)
	return n, err
}

//go:build cgo

package bidder

import (
	"crypto"
	"fmt"
	"os"
	"strings"

	"github.com/kaiping/kaiping/clients/token"
)

// openToken opens the key the pkcs11: URI names on a token, with the module and PIN file
// src gives. PKCS#11 loads the vendor's library through cgo: a binary built without cgo
// (the cross-compiled ones of make cross) has key_nopkcs11.go instead.
func openToken(uri string, src KeySource) (crypto.Signer, func(), error) {
	cfg, err := token.ParseURI(uri)
	if err != nil {
		return nil, nil, err
	}
	if m := src.PKCS11Module; m != "" {
		cfg.Module = m
	}
	if f := src.PKCS11PINFile; f != "" {
		pin, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("读取 UKEY 口令文件: %w", err)
		}
		cfg.PIN = strings.TrimSuffix(strings.TrimSuffix(string(pin), "\n"), "\r")
	}
	k, err := token.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	return k, func() { _ = k.Close() }, nil
}

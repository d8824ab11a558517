//go:build !cgo

package kek

import "errors"

// Token stands for a PKCS#11 device in a binary built without cgo (make cross), which
// cannot load the device's library: OpenToken refuses.
type Token struct{}

// OpenToken refuses: PKCS#11 needs a binary built with cgo.
func OpenToken(TokenConfig) (*Token, error) {
	return nil, errors.New("kek: this kaiping was built without cgo and cannot use a PKCS#11 device (build it with CGO_ENABLED=1)")
}

// Key is never reached: OpenToken refuses.
func (*Token) Key(string) (Cipher, error) { return nil, errors.New("kek: no PKCS#11 without cgo") }

// Close does nothing.
func (*Token) Close() error { return nil }

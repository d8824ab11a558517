package kek

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/pkcs11"
)

// TokenConfig says where the KEKs of a PKCS#11 device are: a cipher machine (密码机) in
// production, SoftHSM in tests.
type TokenConfig struct {
	// Module is the device's PKCS#11 library.
	Module string
	// TokenLabel selects the token (slot) holding the keys.
	TokenLabel string
	// PIN is the user PIN.
	PIN string
	// Mechanism is the AEAD: "aes-gcm" (CKM_AES_GCM, the default) or the number of the
	// device's own GCM mechanism taking CK_GCM_PARAMS, e.g. an SM4-GCM a cipher machine
	// defines among its vendor mechanisms ("0x8000…"); the key objects must suit it.
	Mechanism string
	// Sessions is how many operations may run at once (default 2).
	Sessions int
}

// ParseMechanism reads TokenConfig.Mechanism.
func ParseMechanism(s string) (uint, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "aes-gcm":
		return pkcs11.CKM_AES_GCM, nil
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("mechanism %q: want aes-gcm or a mechanism number such as 0x80000001", s)
	}
	return uint(n), nil
}

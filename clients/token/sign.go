package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	"github.com/miekg/pkcs11"
)

// digestInfoPrefix is the DER DigestInfo header (RFC 8017 §9.2) that PKCS#1 v1.5 puts in
// front of the digest; CKM_RSA_PKCS signs the DigestInfo as given, so it is added here.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// Sign signs digest on the token, as crypto.Signer: for P-256, ECDSA (CKM_ECDSA) over the
// digest, returned as an ASN.1 signature; for RSA, PKCS#1 v1.5 (CKM_RSA_PKCS) with the
// DigestInfo of opts' hash (SHA-256, SHA-384 or SHA-512). RSA-PSS is not offered. rand is
// not used: the token draws its own randomness.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := crypto.Hash(0)
	if opts != nil {
		h = opts.HashFunc()
	}
	if _, ok := opts.(*rsa.PSSOptions); ok {
		return nil, errUnsupported("UKEY 签名不支持 RSA-PSS（支持 PKCS#1 v1.5）")
	}
	if h == 0 || len(digest) != h.Size() {
		return nil, errUnsupported("UKEY 签名需要摘要：收到 %d 字节，摘要算法 %v", len(digest), h)
	}
	switch k.pub.(type) {
	case *ecdsa.PublicKey:
		raw, err := k.sign(pkcs11.CKM_ECDSA, digest)
		if err != nil {
			return nil, err
		}
		return ecdsaASN1(raw)
	case *rsa.PublicKey:
		prefix, ok := digestInfoPrefix[h]
		if !ok {
			return nil, errUnsupported("UKEY RSA 签名不支持摘要算法 %v（支持 SHA-256、SHA-384、SHA-512）", h)
		}
		return k.sign(pkcs11.CKM_RSA_PKCS, append(append([]byte{}, prefix...), digest...))
	}
	return nil, errClosed()
}

func (k *Key) sign(mech uint, data []byte) ([]byte, error) {
	if !k.has(mech, pkcs11.CKF_SIGN) {
		return nil, errUnsupported("UKEY 不支持签名算法 %s", mechName(mech))
	}
	var sig []byte
	err := k.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		if err := ctx.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, k.obj); err != nil {
			return deviceErr("token.Sign", err)
		}
		if err := k.authenticate(ctx, sh); err != nil {
			// The operation stays active until C_Sign; end it so the session can go on.
			_, _ = ctx.Sign(sh, nil)
			return deviceErr("token.Sign", err)
		}
		var err error
		if sig, err = ctx.Sign(sh, data); err != nil {
			return deviceErr("token.Sign", err)
		}
		return nil
	})
	return sig, err
}

// ecdsaASN1 turns the token's r‖s (PKCS#11 §2.3.1) into the ASN.1 SEQUENCE crypto.Signer
// returns.
func ecdsaASN1(raw []byte) ([]byte, error) {
	if len(raw) != 64 {
		return nil, deviceErr("token.Sign", fmt.Errorf("token returned a %d-byte P-256 signature, want 64", len(raw)))
	}
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:]),
	})
}

// mechName names the mechanisms this package uses, for messages.
func mechName(mech uint) string {
	switch mech {
	case pkcs11.CKM_ECDSA:
		return "CKM_ECDSA"
	case pkcs11.CKM_ECDH1_DERIVE:
		return "CKM_ECDH1_DERIVE"
	case pkcs11.CKM_RSA_PKCS:
		return "CKM_RSA_PKCS"
	case pkcs11.CKM_RSA_PKCS_OAEP:
		return "CKM_RSA_PKCS_OAEP"
	case pkcs11.CKM_RSA_X_509:
		return "CKM_RSA_X_509"
	}
	return "?"
}

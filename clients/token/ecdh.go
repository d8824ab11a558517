package token

import (
	"crypto/ecdh"
	"fmt"

	"github.com/miekg/pkcs11"
)

// ECDH computes the P-256 shared secret with peer on the token (CKM_ECDH1_DERIVE with
// CKD_NULL): the 32-byte x-coordinate of the shared point, as (*ecdh.PrivateKey).ECDH
// returns. The token derives it into a short-lived session object, which is read and
// destroyed at once; the private key never leaves the token.
func (k *Key) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	if k.dhPub == nil {
		return nil, errUnsupported("UKEY 中的私钥不是 P-256 密钥，不能做 ECDH 密钥协商")
	}
	if peer == nil || peer.Curve() != ecdh.P256() {
		return nil, errUnsupported("ECDH 的对方公钥必须是 P-256 公钥")
	}
	if !k.has(pkcs11.CKM_ECDH1_DERIVE, pkcs11.CKF_DERIVE) {
		return nil, errUnsupported("UKEY 不支持密钥协商算法 %s", mechName(pkcs11.CKM_ECDH1_DERIVE))
	}
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDH1_DERIVE,
		pkcs11.NewECDH1DeriveParams(pkcs11.CKD_NULL, nil, peer.Bytes()))}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
	}
	var secret []byte
	err := k.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		obj, err := ctx.DeriveKey(sh, mech, k.obj, tmpl)
		if err != nil {
			return deviceErr("token.ECDH", err)
		}
		defer func() { _ = ctx.DestroyObject(sh, obj) }()
		attrs, err := ctx.GetAttributeValue(sh, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if err != nil {
			return deviceErr("token.ECDH", err)
		}
		secret = attrs[0].Value
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(secret) != 32 {
		return nil, deviceErr("token.ECDH", fmt.Errorf("token derived a %d-byte secret, want 32", len(secret)))
	}
	return secret, nil
}

package token

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"math/big"

	"github.com/miekg/pkcs11"
)

// oaepMech maps an OAEP hash to its PKCS#11 hash mechanism and MGF1 type.
var oaepMech = map[crypto.Hash]struct{ hash, mgf uint }{
	crypto.SHA1:   {pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1},
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// Decrypt decrypts an RSA-OAEP ciphertext on the token, as crypto.Decrypter; opts must be
// *rsa.OAEPOptions (seal passes SHA-256 for the label hash and MGF1, and no label).
//
// PKCS#11 has no way to ask which OAEP hashes a token does, and many (SoftHSM 2.6 among
// them) do only SHA-1. So the first decryption with a hash tries CKM_RSA_PKCS_OAEP, if the
// mechanism info says the token decrypts with it; when the token refuses the parameters,
// that hash is remembered as unsupported and the RSA operation is done raw on the token
// (CKM_RSA_X_509), with the OAEP decoding here, in constant time as crypto/rsa does it.
// PKCS#1 v1.5 decryption is refused. rand is not used.
func (k *Key) Decrypt(_ io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	pub, ok := k.pub.(*rsa.PublicKey)
	if !ok {
		return nil, errUnsupported("UKEY 中的私钥不是 RSA 密钥，不能做 RSA 解密")
	}
	o, ok := opts.(*rsa.OAEPOptions)
	if !ok {
		return nil, errUnsupported("UKEY RSA 解密只支持 OAEP 填充")
	}
	mgfHash := o.MGFHash
	if mgfHash == 0 {
		mgfHash = o.Hash
	}
	if !o.Hash.Available() || !mgfHash.Available() {
		return nil, errUnsupported("RSA-OAEP 的摘要算法 %v / %v 不可用", o.Hash, mgfHash)
	}
	if len(ciphertext) != pub.Size() || new(big.Int).SetBytes(ciphertext).Cmp(pub.N) >= 0 {
		return nil, errDecrypt(errors.New("ciphertext is not an RSA block of this modulus"))
	}
	if plain, tried, err := k.decryptOAEP(o.Hash, mgfHash, o.Label, ciphertext); tried {
		return plain, err
	}
	if !k.has(pkcs11.CKM_RSA_X_509, pkcs11.CKF_DECRYPT) {
		return nil, errUnsupported("UKEY 不支持以 %v 为摘要的 RSA-OAEP 解密", o.Hash)
	}
	em, err := k.decrypt(pkcs11.NewMechanism(pkcs11.CKM_RSA_X_509, nil), ciphertext)
	if refused := (*initRefused)(nil); errors.As(err, &refused) {
		return nil, errUnsupported("UKEY 不支持以 %v 为摘要的 RSA-OAEP 解密", o.Hash)
	}
	if err != nil {
		return nil, err
	}
	if len(em) > pub.Size() {
		return nil, errDecrypt(errors.New("raw RSA result longer than the modulus"))
	}
	// Tokens may drop the leading zero bytes of the raw result.
	em = append(make([]byte, pub.Size()-len(em)), em...)
	return decodeOAEP(o.Hash.New(), mgfHash.New(), em, o.Label)
}

// decryptOAEP decrypts on the token with CKM_RSA_PKCS_OAEP, unless the token is known not to
// do it for this hash. tried is false when the caller should fall back to the raw operation.
func (k *Key) decryptOAEP(h, mgf crypto.Hash, label, ciphertext []byte) (plain []byte, tried bool, err error) {
	hm, hok := oaepMech[h]
	mm, mok := oaepMech[mgf]
	if !hok || !mok || !k.has(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_DECRYPT) {
		return nil, false, nil
	}
	k.mu.Lock()
	native, known := k.oaep[h]
	k.mu.Unlock()
	if known && !native {
		return nil, false, nil
	}
	source := uint(0)
	if len(label) > 0 {
		source = pkcs11.CKZ_DATA_SPECIFIED
	}
	mech := pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(hm.hash, mm.mgf, source, label))
	plain, err = k.decrypt(mech, ciphertext)
	var refused *initRefused
	if errors.As(err, &refused) {
		k.mu.Lock()
		k.oaep[h] = false
		k.mu.Unlock()
		return nil, false, nil
	}
	if err == nil {
		k.mu.Lock()
		k.oaep[h] = true
		k.mu.Unlock()
	}
	return plain, true, err
}

// initRefused is C_DecryptInit refusing a mechanism's parameters: the token does not do
// this variant, which says nothing about the ciphertext.
type initRefused struct{ err error }

func (e *initRefused) Error() string { return "token refused the mechanism: " + e.err.Error() }

func (k *Key) decrypt(mech *pkcs11.Mechanism, ciphertext []byte) ([]byte, error) {
	var out []byte
	err := k.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		if err := ctx.DecryptInit(sh, []*pkcs11.Mechanism{mech}, k.obj); err != nil {
			var rv pkcs11.Error
			if errors.As(err, &rv) && (rv == pkcs11.CKR_MECHANISM_PARAM_INVALID || rv == pkcs11.CKR_ARGUMENTS_BAD ||
				rv == pkcs11.CKR_MECHANISM_INVALID || rv == pkcs11.CKR_FUNCTION_NOT_SUPPORTED) {
				return &initRefused{err}
			}
			return deviceErr("token.Decrypt", err)
		}
		if err := k.authenticate(ctx, sh); err != nil {
			_, _ = ctx.Decrypt(sh, nil)
			return deviceErr("token.Decrypt", err)
		}
		var err error
		if out, err = ctx.Decrypt(sh, ciphertext); err != nil {
			if errors.Is(err, pkcs11.Error(pkcs11.CKR_GENERAL_ERROR)) {
				// SoftHSM, and other tokens built on OpenSSL, report a bad OAEP
				// padding this way; a token that is gone says CKR_DEVICE_*.
				return errDecrypt(err)
			}
			return deviceErr("token.Decrypt", err)
		}
		return nil
	})
	return out, err
}

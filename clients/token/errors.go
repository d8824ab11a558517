package token

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/kaiping/kaiping"
)

// Stable error codes. Every error this package returns is a *kaiping.Error carrying one of
// these codes and a message in Simplified Chinese that a bidder can act on; the PKCS#11
// return value, when there is one, is its Err.
const (
	CodeModule               = "token.module"                // the PKCS#11 library (UKEY 驱动) cannot be loaded
	CodeURI                  = "token.uri"                   // a pkcs11: URI that cannot be parsed
	CodeNotFound             = "token.not_found"             // no token with that label is plugged in
	CodeAmbiguous            = "token.ambiguous"             // several tokens and none named
	CodePIN                  = "token.pin"                   // wrong, missing or expired PIN
	CodePINLocked            = "token.pin_locked"            // the user PIN is locked
	CodeKeyNotFound          = "token.key_not_found"         // no private key (or no public half) with that label or ID
	CodeKeyAmbiguous         = "token.key_ambiguous"         // several private keys match
	CodeUnsupportedAlgorithm = "token.unsupported_algorithm" // a key type, curve, hash or padding this package does not do
	CodeKeyUsage             = "token.key_usage"             // the key may not be used for this (CKA_SIGN, CKA_DECRYPT, CKA_DERIVE)
	CodeDecrypt              = "token.decrypt"               // a ciphertext that does not decrypt under this key
	CodeDevice               = "token.device"                // the token was removed or failed
	CodeClosed               = "token.closed"                // the key was used after Close
)

func errModule(path string, why string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeModule,
		"无法加载 PKCS#11 模块 %q（UKEY 驱动）：%s", path, why)
}

func errUnsupported(format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeUnsupportedAlgorithm, format, args...)
}

func errDecrypt(err error) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeDecrypt,
		Message: "解密失败：密文不是用此证书公钥加密的，或已损坏", Err: err}
}

func errClosed() error {
	return kaiping.E(kaiping.KindInvalid, CodeClosed, "UKEY 会话已关闭")
}

// deviceErr turns a PKCS#11 failure during op into a kaiping error. Return values that say
// something the bidder can fix get their own code; the rest mean the token is gone or broken.
func deviceErr(op string, err error) error {
	var rv pkcs11.Error
	if !errors.As(err, &rv) {
		return &kaiping.Error{Kind: kaiping.KindUnavailable, Code: CodeDevice, Op: op,
			Message: "UKEY 操作失败", Err: err}
	}
	e := &kaiping.Error{Op: op, Err: err}
	switch rv {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
		e.Kind, e.Code, e.Message = kaiping.KindUnauthenticated, CodePIN, "UKEY PIN 码错误"
	case pkcs11.CKR_PIN_EXPIRED:
		e.Kind, e.Code, e.Message = kaiping.KindUnauthenticated, CodePIN, "UKEY PIN 码已过期，请先用 UKEY 管理工具修改 PIN 码"
	case pkcs11.CKR_PIN_LOCKED:
		e.Kind, e.Code, e.Message = kaiping.KindUnauthenticated, CodePINLocked,
			"UKEY PIN 码已锁定（错误次数过多），请联系数字证书（CA）机构解锁"
	case pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, pkcs11.CKR_KEY_TYPE_INCONSISTENT:
		e.Kind, e.Code, e.Message = kaiping.KindInvalid, CodeKeyUsage, "UKEY 中的此私钥不允许用于该操作"
	case pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_MECHANISM_PARAM_INVALID:
		e.Kind, e.Code, e.Message = kaiping.KindInvalid, CodeUnsupportedAlgorithm, "UKEY 不支持此算法"
	case pkcs11.CKR_ENCRYPTED_DATA_INVALID, pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE, pkcs11.CKR_DATA_INVALID, pkcs11.CKR_DATA_LEN_RANGE:
		return errDecrypt(err)
	default:
		e.Kind, e.Code, e.Message = kaiping.KindUnavailable, CodeDevice,
			fmt.Sprintf("UKEY 操作失败（%s），请确认 UKEY 已插好后重试", rv.Error())
	}
	return e
}

// Package token uses a bidder's certificate key on a USB token (数字证书 UKEY) through
// PKCS#11, without the private key ever leaving the token. A *Key signs the login challenge
// (identity.SignLogin: it is a crypto.Signer) and unwraps a sealed envelope's file key at the
// opening (seal.NewCertIdentity: it is a seal.ECDHer for P-256 keys and a crypto.Decrypter
// for RSA keys).
//
// SM2 (国密) keys are refused with token.unsupported_algorithm: standard PKCS#11 has no SM2
// mechanisms, and the vendor mechanisms of Chinese UKEYs differ from vendor to vendor.
package token

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/smx509"
	"github.com/miekg/pkcs11"

	"github.com/kaiping/kaiping"
)

// Key is a private key on a token, open in a logged-in session. It is safe for concurrent
// use: a PKCS#11 session runs one operation at a time, so operations take turns.
type Key struct {
	mod   *module
	slot  uint
	label string
	pub   crypto.PublicKey // *ecdsa.PublicKey (P-256) or *rsa.PublicKey
	dhPub *ecdh.PublicKey  // P-256 only
	cert  *smx509.Certificate
	mechs map[uint]uint // mechanism → CKF_ flags, for the mechanisms this package uses

	// pin is kept only for keys that demand a login before every operation
	// (CKA_ALWAYS_AUTHENTICATE, as some UKEYs set on signing keys).
	pin string

	mu       sync.Mutex
	session  pkcs11.SessionHandle
	obj      pkcs11.ObjectHandle
	open     bool                 // session is open
	loggedIn bool                 // holds a share of the slot's login
	oaep     map[crypto.Hash]bool // OAEP hashes tried on the token: whether it did them
}

// Open loads the module, finds the token and the private key, and logs in. Close the Key
// when done: the PIN stays entered on the token until then.
func Open(cfg Config) (*Key, error) {
	mod, err := acquireModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	k := &Key{mod: mod, oaep: map[crypto.Hash]bool{}}
	if err := k.init(cfg); err != nil {
		_ = k.Close()
		return nil, err
	}
	return k, nil
}

func (k *Key) init(cfg Config) error {
	ctx := k.mod.ctx
	slot, err := findSlot(ctx, cfg.TokenLabel)
	if err != nil {
		return err
	}
	k.slot = slot
	if err := checkPINFlags(ctx, slot); err != nil {
		return err
	}
	if cfg.PIN == "" {
		return kaiping.E(kaiping.KindUnauthenticated, CodePIN, "未提供 UKEY PIN 码")
	}
	if k.session, err = ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION); err != nil {
		return deviceErr("token.Open", err)
	}
	k.open = true
	if err := k.mod.login(slot, k.session, cfg.PIN); err != nil {
		if kaiping.CodeOf(err) == CodePIN {
			// The token may now say how many tries are left, or that it is locked.
			if ferr := checkPINFlags(ctx, slot); ferr != nil {
				return ferr
			}
		}
		return err
	}
	k.loggedIn = true
	if k.obj, err = k.findPrivateKey(cfg.KeyLabel, cfg.KeyID); err != nil {
		return err
	}
	if err := k.loadPublic(); err != nil {
		return err
	}
	if v, _ := k.attr(k.obj, pkcs11.CKA_ALWAYS_AUTHENTICATE); len(v) == 1 && v[0] != 0 {
		k.pin = cfg.PIN
	}
	k.mechs = mechanisms(ctx, slot)
	return nil
}

// findSlot returns the slot of the initialized token labelled label, or of the only one.
func findSlot(ctx *pkcs11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, deviceErr("token.Open", err)
	}
	label = trimLabel(label)
	var labels []string
	var match []uint
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err != nil || ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		l := trimLabel(ti.Label)
		labels = append(labels, fmt.Sprintf("%q", l))
		if label == "" || l == label {
			match = append(match, s)
		}
	}
	switch {
	case len(labels) == 0:
		return 0, kaiping.E(kaiping.KindNotFound, CodeNotFound, "未检测到 UKEY：请插入 UKEY，并确认 PKCS#11 模块（驱动）与之匹配")
	case len(match) == 0:
		return 0, kaiping.Errorf(kaiping.KindNotFound, CodeNotFound,
			"找不到标签为 %q 的 UKEY（已插入：%s）", label, strings.Join(labels, "、"))
	case len(match) > 1:
		return 0, kaiping.Errorf(kaiping.KindInvalid, CodeAmbiguous,
			"插入了多个 UKEY（%s），请指定要用哪一个", strings.Join(labels, "、"))
	}
	return match[0], nil
}

// trimLabel drops the blank (or, on some tokens, NUL) padding of a 32-byte label field.
func trimLabel(s string) string { return strings.TrimRight(s, " \x00") }

// checkPINFlags reports a locked user PIN before another try would be wasted.
func checkPINFlags(ctx *pkcs11.Ctx, slot uint) error {
	ti, err := ctx.GetTokenInfo(slot)
	if err != nil {
		return deviceErr("token.Open", err)
	}
	return pinFlagsErr(ti.Flags)
}

// pinFlagsErr reads the user PIN state from the token flags.
func pinFlagsErr(flags uint) error {
	switch {
	case flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
		return deviceErr("token.Open", pkcs11.Error(pkcs11.CKR_PIN_LOCKED))
	case flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
		return kaiping.E(kaiping.KindUnauthenticated, CodePIN, "UKEY PIN 码错误：只剩最后一次机会，再错一次 UKEY 将被锁定")
	}
	return nil
}

// findPrivateKey finds the one private key with the label and ID given (either may be empty).
func (k *Key) findPrivateKey(label string, id []byte) (pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)}
	if label != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	objs, err := k.find(tmpl, 2)
	if err != nil {
		return 0, err
	}
	switch len(objs) {
	case 1:
		if label == "" {
			v, _ := k.attr(objs[0], pkcs11.CKA_LABEL)
			label = string(v)
		}
		k.label = label
		return objs[0], nil
	case 0:
		if d := describeKey(label, id); d != "" {
			return 0, kaiping.Errorf(kaiping.KindNotFound, CodeKeyNotFound,
				"UKEY 中找不到%s私钥（UKEY 中的私钥：%s）", d, k.privateKeyLabels())
		}
		return 0, kaiping.E(kaiping.KindNotFound, CodeKeyNotFound, "UKEY 中没有私钥：请确认证书已写入此 UKEY")
	}
	return 0, kaiping.Errorf(kaiping.KindInvalid, CodeKeyAmbiguous,
		"UKEY 中有多个%s私钥（%s），请用标签或 ID 指定", describeKey(label, id), k.privateKeyLabels())
}

func describeKey(label string, id []byte) string {
	var parts []string
	if label != "" {
		parts = append(parts, fmt.Sprintf("标签为“%s”", label))
	}
	if len(id) > 0 {
		parts = append(parts, fmt.Sprintf("ID 为 %x ", id))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "、") + "的"
}

// privateKeyLabels lists the private keys on the token, for a message that helps pick one.
func (k *Key) privateKeyLabels() string {
	objs, err := k.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)}, 16)
	if err != nil || len(objs) == 0 {
		return "无"
	}
	var out []string
	for _, o := range objs {
		l, _ := k.attr(o, pkcs11.CKA_LABEL)
		id, _ := k.attr(o, pkcs11.CKA_ID)
		out = append(out, fmt.Sprintf("“%s”（ID %x）", l, id))
	}
	return strings.Join(out, "、")
}

// loadPublic reads the key's type and public half: from the private key object (RSA), a
// public key object, or a certificate object with the same ID (or label).
func (k *Key) loadPublic() error {
	typ, err := k.attr(k.obj, pkcs11.CKA_KEY_TYPE)
	if err != nil {
		return deviceErr("token.Open", err)
	}
	id, _ := k.attr(k.obj, pkcs11.CKA_ID)
	switch kt := ulong(typ); {
	case kt == pkcs11.CKK_RSA:
		if k.pub, err = k.rsaPublic(); err != nil {
			return err
		}
	case kt == pkcs11.CKK_EC:
		params, err := k.attr(k.obj, pkcs11.CKA_EC_PARAMS)
		if err != nil {
			return deviceErr("token.Open", err)
		}
		if err := checkCurve(params); err != nil {
			return err
		}
		if pub := k.ecPublicObject(id); pub != nil {
			k.pub = pub
		}
	case kt >= pkcs11.CKK_VENDOR_DEFINED:
		return errUnsupported("UKEY 中的私钥是厂商自定义类型（0x%X，多为 SM2 国密密钥）：标准 PKCS#11 不提供 SM2 运算，暂不支持；请使用 SM2 证书私钥文件，或 ECDSA P-256 / RSA 证书", kt)
	default:
		return errUnsupported("UKEY 中的私钥类型 0x%X 不受支持（支持 ECDSA P-256 与 RSA）", kt)
	}
	k.cert = k.findCertificate(id)
	if k.pub == nil {
		return kaiping.Errorf(kaiping.KindNotFound, CodeKeyNotFound,
			"UKEY 中找到了私钥 %q，但没有与之对应的公钥或证书", k.label)
	}
	if ec, ok := k.pub.(*ecdsa.PublicKey); ok {
		if k.dhPub, err = ec.ECDH(); err != nil {
			return errUnsupported("UKEY 中的 P-256 公钥无效")
		}
	}
	return nil
}

var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidSM2  = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
)

// checkCurve accepts CKA_EC_PARAMS naming P-256 (a namedCurve OID, the only form tokens use
// for it) and explains any other curve.
func checkCurve(params []byte) error {
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(params, &oid); err != nil || len(rest) > 0 {
		return errUnsupported("UKEY 中的椭圆曲线私钥使用显式曲线参数，不受支持（支持 P-256）")
	}
	switch {
	case oid.Equal(oidP256):
		return nil
	case oid.Equal(oidSM2):
		return errUnsupported("UKEY 中的私钥是 SM2 国密密钥：标准 PKCS#11 不提供 SM2 签名与解密，暂不支持；请使用 SM2 证书私钥文件，或 ECDSA P-256 / RSA 证书")
	}
	return errUnsupported("UKEY 中的私钥所用椭圆曲线 %s 不受支持（支持 P-256）", oid)
}

func (k *Key) rsaPublic() (*rsa.PublicKey, error) {
	n, err := k.attr(k.obj, pkcs11.CKA_MODULUS)
	if err != nil {
		return nil, deviceErr("token.Open", err)
	}
	e, err := k.attr(k.obj, pkcs11.CKA_PUBLIC_EXPONENT)
	if err != nil {
		return nil, deviceErr("token.Open", err)
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || len(n) == 0 {
		return nil, errUnsupported("UKEY 中的 RSA 公钥参数不受支持")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
}

// ecPublicObject reads the P-256 point of the public key object that shares the private
// key's ID (or, without an ID, its label); nil if there is none.
func (k *Key) ecPublicObject(id []byte) *ecdsa.PublicKey {
	objs, err := k.find(append(k.sameKey(id), pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY)), 1)
	if err != nil || len(objs) == 0 {
		return nil
	}
	point, err := k.attr(objs[0], pkcs11.CKA_EC_POINT)
	if err != nil {
		return nil
	}
	// PKCS#11 says a DER OCTET STRING; some tokens give the bare point.
	if len(point) != 65 || point[0] != 4 {
		var inner []byte
		if rest, err := asn1.Unmarshal(point, &inner); err != nil || len(rest) > 0 {
			return nil
		}
		point = inner
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil
	}
	return pub
}

// findCertificate returns the X.509 certificate object that shares the private key's ID
// (or label) and, when the public key is known, certifies it. Without a public key object,
// an EC key takes its public key from that certificate.
func (k *Key) findCertificate(id []byte) *smx509.Certificate {
	tmpl := append(k.sameKey(id),
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509))
	objs, err := k.find(tmpl, 8)
	if err != nil {
		return nil
	}
	for _, o := range objs {
		der, err := k.attr(o, pkcs11.CKA_VALUE)
		if err != nil {
			continue
		}
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			continue
		}
		if k.pub == nil {
			if ec, ok := c.PublicKey.(*ecdsa.PublicKey); ok && ec.Curve == elliptic.P256() {
				k.pub = ec
				return c
			}
			continue
		}
		if eq, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(k.pub) {
			return c
		}
	}
	return nil
}

// sameKey is the template that finds the other objects of the private key: by CKA_ID, the
// PKCS#11 convention, or by label when the key has no ID.
func (k *Key) sameKey(id []byte) []*pkcs11.Attribute {
	if len(id) > 0 {
		return []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, id)}
	}
	return []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.label)}
}

// mechanisms returns the flags of the mechanisms this package uses that the token has.
func mechanisms(ctx *pkcs11.Ctx, slot uint) map[uint]uint {
	out := map[uint]uint{}
	list, err := ctx.GetMechanismList(slot)
	if err != nil {
		return out
	}
	for _, m := range list {
		switch m.Mechanism {
		case pkcs11.CKM_ECDSA, pkcs11.CKM_ECDH1_DERIVE, pkcs11.CKM_RSA_PKCS, pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKM_RSA_X_509:
			if info, err := ctx.GetMechanismInfo(slot, []*pkcs11.Mechanism{m}); err == nil {
				out[m.Mechanism] = info.Flags
			}
		}
	}
	return out
}

// has reports whether the token does mech for the operation flag (CKF_SIGN, CKF_DECRYPT,
// CKF_DERIVE).
func (k *Key) has(mech, flag uint) bool {
	f, ok := k.mechs[mech]
	return ok && f&flag != 0
}

func (k *Key) find(tmpl []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	ctx := k.mod.ctx
	if err := ctx.FindObjectsInit(k.session, tmpl); err != nil {
		return nil, deviceErr("token.find", err)
	}
	objs, _, err := ctx.FindObjects(k.session, max)
	if ferr := ctx.FindObjectsFinal(k.session); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, deviceErr("token.find", err)
	}
	return objs, nil
}

func (k *Key) attr(o pkcs11.ObjectHandle, typ uint) ([]byte, error) {
	a, err := k.mod.ctx.GetAttributeValue(k.session, o, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	if err != nil {
		return nil, err
	}
	return a[0].Value, nil
}

// ulong reads a CK_ULONG attribute, which the library gives in host byte order.
func ulong(b []byte) uint {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b))
	case 4:
		return uint(binary.NativeEndian.Uint32(b))
	}
	return ^uint(0)
}

// Public returns the public key: *ecdsa.PublicKey (P-256) or *rsa.PublicKey. With it, Key
// is a crypto.Signer.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// PublicKey returns the P-256 public key for ECDH, nil for an RSA key. With it, Key is a
// seal.ECDHer.
func (k *Key) PublicKey() *ecdh.PublicKey { return k.dhPub }

// Certificate returns the certificate stored on the token with the key (CKA_ID shared, and
// certifying this key), or nil when the token holds none.
func (k *Key) Certificate() *smx509.Certificate { return k.cert }

// Label is the key's CKA_LABEL.
func (k *Key) Label() string { return k.label }

// Close logs out (once the last Key on the token closes), closes the session and unloads
// the module (once the last Key of the process closes). Using the Key afterwards is
// token.closed; closing twice does nothing.
func (k *Key) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mod == nil {
		return nil
	}
	var errs []error
	if k.loggedIn {
		errs = append(errs, k.mod.logout(k.slot, k.session))
		k.loggedIn = false
	}
	if k.open {
		errs = append(errs, k.mod.ctx.CloseSession(k.session))
		k.open = false
	}
	errs = append(errs, k.mod.release())
	k.mod = nil
	for _, err := range errs {
		if err != nil {
			return deviceErr("token.Close", err)
		}
	}
	return nil
}

// do runs op on the session, one operation at a time.
func (k *Key) do(op func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mod == nil {
		return errClosed()
	}
	return op(k.mod.ctx, k.session)
}

// authenticate logs in for one operation, right after its C_*Init, when the key demands it.
func (k *Key) authenticate(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
	if k.pin == "" {
		return nil
	}
	return ctx.Login(sh, pkcs11.CKU_CONTEXT_SPECIFIC, k.pin)
}

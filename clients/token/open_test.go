package token

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/miekg/pkcs11"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
)

// TestOpenErrors: each way Open can fail has its own code, with nothing left open. Not
// parallel: it counts the module's references, which parallel tests change.
func TestOpenErrors(t *testing.T) {
	label := mustToken(t)
	generate(t, label, devpki.ECDSA, keyObject{"签名", []byte{1}})
	generate(t, label, devpki.ECDSA, keyObject{"twin", []byte{2}})
	generate(t, label, devpki.ECDSA, keyObject{"twin", []byte{3}})
	// An EC private key with neither a public key object nor a certificate.
	importKey(t, label, mustSoftwareKey(t, devpki.ECDSA), keyObject{"bare", []byte{4}}, false)
	sm2Key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	importKey(t, label, &sm2Key.PrivateKey, keyObject{"国密", []byte{5}}, true)
	empty := mustToken(t)
	notModule := filepath.Join(t.TempDir(), "libukey.so")
	if err := os.WriteFile(notModule, []byte("not a shared library"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := Config{Module: softhsm, TokenLabel: label, PIN: userPIN, KeyLabel: "签名"}
	with := func(f func(*Config)) Config { c := good; f(&c); return c }
	tests := []struct {
		name     string
		cfg      Config
		wantCode string
		wantKind kaiping.Kind
	}{
		{"good", good, "", 0},
		{"by ID", with(func(c *Config) { c.KeyLabel, c.KeyID = "", []byte{1} }), "", 0},
		{"wrong PIN", with(func(c *Config) { c.PIN = "0000" }), CodePIN, kaiping.KindUnauthenticated},
		{"no PIN", with(func(c *Config) { c.PIN = "" }), CodePIN, kaiping.KindUnauthenticated},
		{"unknown token", with(func(c *Config) { c.TokenLabel = "no such token" }), CodeNotFound, kaiping.KindNotFound},
		{"unknown key label", with(func(c *Config) { c.KeyLabel = "no such key" }), CodeKeyNotFound, kaiping.KindNotFound},
		{"unknown key ID", with(func(c *Config) { c.KeyLabel, c.KeyID = "", []byte{9} }), CodeKeyNotFound, kaiping.KindNotFound},
		{"label and ID of different keys", with(func(c *Config) { c.KeyID = []byte{2} }), CodeKeyNotFound, kaiping.KindNotFound},
		{"two keys with the label", with(func(c *Config) { c.KeyLabel = "twin" }), CodeKeyAmbiguous, kaiping.KindInvalid},
		{"no key named, several on the token", with(func(c *Config) { c.KeyLabel = "" }), CodeKeyAmbiguous, kaiping.KindInvalid},
		{"token without keys", with(func(c *Config) { c.TokenLabel, c.KeyLabel = empty, "" }), CodeKeyNotFound, kaiping.KindNotFound},
		{"EC key without public key or certificate", with(func(c *Config) { c.KeyLabel = "bare" }), CodeKeyNotFound, kaiping.KindNotFound},
		{"SM2 key", with(func(c *Config) { c.KeyLabel = "国密" }), CodeUnsupportedAlgorithm, kaiping.KindInvalid},
		{"module does not exist", with(func(c *Config) { c.Module = "/nonexistent/libukey.so" }), CodeModule, kaiping.KindInvalid},
		{"module is not a library", with(func(c *Config) { c.Module = notModule }), CodeModule, kaiping.KindInvalid},
		{"no module", with(func(c *Config) { c.Module = "" }), CodeModule, kaiping.KindInvalid},
	}
	refs := moduleRefs()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Open(tt.cfg)
			if code := codeOf(err); code != tt.wantCode {
				t.Fatalf("code %q (%v), want %q", code, err, tt.wantCode)
			}
			if err != nil {
				if kaiping.KindOf(err) != tt.wantKind {
					t.Fatalf("kind %v, want %v", kaiping.KindOf(err), tt.wantKind)
				}
				t.Logf("%s", err)
				return
			}
			if err := k.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if got := moduleRefs(); got != refs {
		t.Fatalf("module references %d after the failed opens, want %d", got, refs)
	}
}

// moduleRefs is how many references the SoftHSM module has.
func moduleRefs() int {
	modules.Lock()
	defer modules.Unlock()
	for _, m := range modules.byPath {
		return m.refs
	}
	return 0
}

// TestSecondOpenChecksPIN: a Key already logged in on the token does not let a second Open
// through with a wrong PIN (the token itself would answer "already logged in").
func TestSecondOpenChecksPIN(t *testing.T) {
	t.Parallel()
	bk := mustBidderKey(t, devpki.ECDSA)
	bad := bk.cfg
	bad.PIN = "4321"
	if _, err := Open(bad); codeOf(err) != CodePIN {
		t.Fatalf("second Open with a wrong PIN: %v", err)
	}
	second := mustOpen(t, bk.cfg)
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	// The first Key is still logged in after the second closed.
	d := sha256.Sum256([]byte("m"))
	if _, err := bk.key.Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatalf("first Key after the second closed: %v", err)
	}
}

// TestPINFlags: the token flags that say the PIN is locked, or has one try left, stop Open
// before it spends a try. SoftHSM never locks a PIN, so the flags are given here.
func TestPINFlags(t *testing.T) {
	tests := []struct {
		flags    uint
		wantCode string
	}{
		{pkcs11.CKF_TOKEN_INITIALIZED | pkcs11.CKF_USER_PIN_INITIALIZED, ""},
		{pkcs11.CKF_USER_PIN_COUNT_LOW, ""},
		{pkcs11.CKF_USER_PIN_FINAL_TRY, CodePIN},
		{pkcs11.CKF_USER_PIN_LOCKED, CodePINLocked},
		{pkcs11.CKF_USER_PIN_LOCKED | pkcs11.CKF_USER_PIN_FINAL_TRY, CodePINLocked},
	}
	for _, tt := range tests {
		if code := codeOf(pinFlagsErr(tt.flags)); code != tt.wantCode {
			t.Errorf("flags %#x: code %q, want %q", tt.flags, code, tt.wantCode)
		}
	}
}

// TestDeviceErrors maps the PKCS#11 return values a real UKEY gives and SoftHSM cannot be
// made to give.
func TestDeviceErrors(t *testing.T) {
	tests := []struct {
		rv       uint
		wantCode string
		wantKind kaiping.Kind
	}{
		{pkcs11.CKR_PIN_INCORRECT, CodePIN, kaiping.KindUnauthenticated},
		{pkcs11.CKR_PIN_EXPIRED, CodePIN, kaiping.KindUnauthenticated},
		{pkcs11.CKR_PIN_LOCKED, CodePINLocked, kaiping.KindUnauthenticated},
		{pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, CodeKeyUsage, kaiping.KindInvalid},
		{pkcs11.CKR_MECHANISM_INVALID, CodeUnsupportedAlgorithm, kaiping.KindInvalid},
		{pkcs11.CKR_ENCRYPTED_DATA_INVALID, CodeDecrypt, kaiping.KindInvalid},
		{pkcs11.CKR_DEVICE_REMOVED, CodeDevice, kaiping.KindUnavailable},
		{pkcs11.CKR_TOKEN_NOT_PRESENT, CodeDevice, kaiping.KindUnavailable},
		{pkcs11.CKR_SESSION_HANDLE_INVALID, CodeDevice, kaiping.KindUnavailable},
	}
	for _, tt := range tests {
		err := deviceErr("op", pkcs11.Error(tt.rv))
		if codeOf(err) != tt.wantCode || kaiping.KindOf(err) != tt.wantKind {
			t.Errorf("%v: %v (kind %v), want %s (%v)", pkcs11.Error(tt.rv), err, kaiping.KindOf(err), tt.wantCode, tt.wantKind)
		}
	}
}

// TestNotExtractable: the private keys generated on the token cannot be read out, by this
// package's session or any other.
func TestNotExtractable(t *testing.T) {
	t.Parallel()
	for alg, secret := range map[devpki.Algorithm]uint{devpki.ECDSA: pkcs11.CKA_VALUE, devpki.RSA: pkcs11.CKA_PRIVATE_EXPONENT} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			bk := mustBidderKey(t, alg)
			err := bk.key.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
				if _, err := ctx.GetAttributeValue(sh, bk.key.obj, []*pkcs11.Attribute{pkcs11.NewAttribute(secret, nil)}); err != pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE) {
					t.Errorf("reading the private value: %v, want CKR_ATTRIBUTE_SENSITIVE", err)
				}
				attrs, err := ctx.GetAttributeValue(sh, bk.key.obj, []*pkcs11.Attribute{
					pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
					pkcs11.NewAttribute(pkcs11.CKA_NEVER_EXTRACTABLE, nil), pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_SENSITIVE, nil)})
				if err != nil {
					return err
				}
				if want := []byte{1, 0, 1, 1}; attrs[0].Value[0] != want[0] || attrs[1].Value[0] != want[1] || attrs[2].Value[0] != want[2] || attrs[3].Value[0] != want[3] {
					t.Errorf("sensitive, extractable, never extractable, always sensitive = %v %v %v %v",
						attrs[0].Value, attrs[1].Value, attrs[2].Value, attrs[3].Value)
				}
				// Nor can it be wrapped out under a key of the caller's choosing.
				aes, err := ctx.GenerateKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, []*pkcs11.Attribute{
					pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false), pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32), pkcs11.NewAttribute(pkcs11.CKA_WRAP, true)})
				if err != nil {
					return err
				}
				defer ctx.DestroyObject(sh, aes)
				if _, err := ctx.WrapKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, aes, bk.key.obj); err != pkcs11.Error(pkcs11.CKR_KEY_UNEXTRACTABLE) {
					t.Errorf("wrapping the private key: %v, want CKR_KEY_UNEXTRACTABLE", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCertificateOnToken: a certificate stored with the key is found and returned, and an
// EC key whose token has only the certificate (no public key object) takes its public key
// from it. A certificate for another key under the same ID is not attached.
func TestCertificateOnToken(t *testing.T) {
	t.Parallel()
	label := mustToken(t)
	soft := mustSoftwareKey(t, devpki.ECDSA).(*ecdsa.PrivateKey)
	obj := keyObject{"证书密钥", []byte{0x42}}
	importKey(t, label, soft, obj, false)
	cert := mustCertify(t, soft.Public(), "带证书的 UKEY")
	storeCertificate(t, label, cert, obj)

	generate(t, label, devpki.RSA, keyObject{"rsa", []byte{0x43}})
	storeCertificate(t, label, mustCertify(t, mustSoftwareKey(t, devpki.RSA).Public(), "别人的证书"), keyObject{"rsa", []byte{0x43}})

	k := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN, KeyID: obj.id})
	if k.Certificate() == nil || !k.Certificate().Equal(cert) {
		t.Fatal("certificate on the token not returned")
	}
	if !k.Public().(*ecdsa.PublicKey).Equal(&soft.PublicKey) || k.Label() != obj.label {
		t.Fatal("public key or label not taken from the token")
	}
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.ECDH(peer.PublicKey()); err != nil {
		t.Fatalf("ECDH: %v", err)
	}
	r := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN, KeyLabel: "rsa"})
	if r.Certificate() != nil {
		t.Fatal("a certificate for another key was attached")
	}
}

// TestAlwaysAuthenticate: a key that demands the PIN before every use
// (CKA_ALWAYS_AUTHENTICATE, as PIV-style UKEYs set it) still signs.
func TestAlwaysAuthenticate(t *testing.T) {
	t.Parallel()
	label := mustToken(t)
	soft := mustSoftwareKey(t, devpki.ECDSA).(*ecdsa.PrivateKey)
	importKey(t, label, soft, bidderObject, true, pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, true))
	k := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN})
	d := sha256.Sum256([]byte("m"))
	for range 3 {
		sig, err := k.Sign(nil, d[:], crypto.SHA256)
		if err != nil || !ecdsa.VerifyASN1(&soft.PublicKey, d[:], sig) {
			t.Fatalf("Sign: %v", err)
		}
	}
}

// TestTokenSelection: a Chinese token label, the only key of a token found without a
// label, and no token label with several tokens present.
func TestTokenSelection(t *testing.T) {
	t.Parallel()
	label := fmt.Sprintf("开评测试令牌-%d", tokenSeq.Add(1))
	mustInitToken(t, label)
	generate(t, label, devpki.ECDSA, bidderObject)
	mustToken(t) // a second token, so that "the only token" does not hold
	k := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN})
	if k.Label() != bidderObject.label {
		t.Fatalf("key label %q", k.Label())
	}
	if _, err := Open(Config{Module: softhsm, PIN: userPIN}); codeOf(err) != CodeAmbiguous {
		t.Fatalf("no token label with several tokens: %v", err)
	}
}

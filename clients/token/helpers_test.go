package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/miekg/pkcs11"

	"github.com/kaiping/kaiping/identity/devpki"
)

// The PINs of every test token.
const (
	userPIN = "1234"
	soPIN   = "5678"
)

// softhsm is the SoftHSM module path; TestMain fails the run when SoftHSM is missing
// (`make deps` installs it), because these tests exist to run against a real token.
var softhsm string

// Where Debian and source builds put SoftHSM 2.
var softhsmPaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// TestMain points SoftHSM at a token folder of this test binary: SoftHSM reads SOFTHSM2_CONF
// at C_Initialize, so one configuration serves the run and each test makes its own tokens in
// it. The module is loaded and unloaded as tests take and drop it, as the bidder's tool does.
func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	for _, p := range softhsmPaths {
		if _, err := os.Stat(p); err == nil {
			softhsm = p
			break
		}
	}
	if softhsm == "" {
		fmt.Fprintln(os.Stderr, "token tests: SoftHSM 2 is not installed (apt-get install softhsm2, or make deps)")
		return 1
	}
	dir, err := os.MkdirTemp("", "kaiping-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "softhsm2.conf")
	tokens := filepath.Join(dir, "tokens")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.Mkdir(tokens, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("SOFTHSM2_CONF", conf)
	return m.Run()
}

var (
	tokenMu  sync.Mutex // SoftHSM hands out one free slot at a time
	tokenSeq atomic.Int32
)

// mustToken initializes a fresh token with the test PINs and returns its label.
func mustToken(tb testing.TB) string {
	tb.Helper()
	label := fmt.Sprintf("kaiping-%d", tokenSeq.Add(1))
	mustInitToken(tb, label)
	return label
}

func mustInitToken(tb testing.TB, label string) {
	tb.Helper()
	tokenMu.Lock()
	defer tokenMu.Unlock()
	ctx := mustModule(tb).ctx
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		tb.Fatal(err)
	}
	free := -1
	for _, s := range slots {
		if ti, err := ctx.GetTokenInfo(s); err == nil && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free = int(s)
			break
		}
	}
	if free < 0 {
		tb.Fatal("SoftHSM has no free slot")
	}
	if err := ctx.InitToken(uint(free), soPIN, label); err != nil {
		tb.Fatalf("C_InitToken: %v", err)
	}
	// SoftHSM moves an initialized token to a slot of its own: loginRW looks it up again.
	sh := loginRW(tb, ctx, label, pkcs11.CKU_SO, soPIN)
	defer ctx.CloseSession(sh)
	if err := ctx.InitPIN(sh, userPIN); err != nil {
		tb.Fatalf("C_InitPIN: %v", err)
	}
	if err := ctx.Logout(sh); err != nil {
		tb.Fatal(err)
	}
}

// loginRW opens a read-write session on the token labelled label and logs in as userType
// (a login already there will do); the caller closes the session.
func loginRW(tb testing.TB, ctx *pkcs11.Ctx, label string, userType uint, pin string) pkcs11.SessionHandle {
	tb.Helper()
	slot, err := findSlot(ctx, label)
	if err != nil {
		tb.Fatal(err)
	}
	sh, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ctx.Login(sh, userType, pin); err != nil && err != pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		ctx.CloseSession(sh)
		tb.Fatalf("login as %d: %v", userType, err)
	}
	return sh
}

// mustModule takes a reference to the SoftHSM module for the rest of the test.
func mustModule(tb testing.TB) *module {
	tb.Helper()
	m, err := acquireModule(softhsm)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.release() })
	return m
}

// withAdmin runs f in a read-write user session on the token, as the bidder's CA software
// would when it puts a key on the UKEY. It closes the session before returning: while it is
// open, a Key's login would find the token already logged in and could not check its PIN.
func withAdmin(tb testing.TB, label string, f func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle)) {
	tb.Helper()
	ctx := mustModule(tb).ctx
	sh := loginRW(tb, ctx, label, pkcs11.CKU_USER, userPIN)
	defer ctx.CloseSession(sh)
	f(ctx, sh)
}

// keyObject names a key on a token.
type keyObject struct {
	label string
	id    []byte
}

func (o keyObject) attrs(class uint, more ...*pkcs11.Attribute) []*pkcs11.Attribute {
	return append([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, o.label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, o.id),
	}, more...)
}

// privateFlags make a key as a CA's UKEY does: usable, never readable.
func privateFlags(keyType uint) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
	}
}

var (
	p256Params = mustMarshal(oidP256)
	sm2Params  = mustMarshal(oidSM2)
)

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// generate makes a key pair on the token (C_GenerateKeyPair): P-256 or RSA-2048.
func generate(tb testing.TB, label string, alg devpki.Algorithm, obj keyObject) {
	tb.Helper()
	withAdmin(tb, label, func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) {
		var mech uint
		var pub, priv []*pkcs11.Attribute
		switch alg {
		case devpki.ECDSA:
			mech = pkcs11.CKM_EC_KEY_PAIR_GEN
			pub = obj.attrs(pkcs11.CKO_PUBLIC_KEY,
				pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
				pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p256Params),
				pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true))
			priv = obj.attrs(pkcs11.CKO_PRIVATE_KEY, append(privateFlags(pkcs11.CKK_EC),
				pkcs11.NewAttribute(pkcs11.CKA_DERIVE, true))...)
		case devpki.RSA:
			mech = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN
			pub = obj.attrs(pkcs11.CKO_PUBLIC_KEY,
				pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
				pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
				pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
				pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
				pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true))
			priv = obj.attrs(pkcs11.CKO_PRIVATE_KEY, append(privateFlags(pkcs11.CKK_RSA),
				pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true))...)
		default:
			tb.Fatalf("generate %s", alg)
		}
		if _, _, err := ctx.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pub, priv); err != nil {
			tb.Fatalf("C_GenerateKeyPair %s: %v", alg, err)
		}
	})
}

// importKey puts a software key on the token (C_CreateObject), with its public key object
// when withPublic: what a CA does when it writes a key it generated to a UKEY.
func importKey(tb testing.TB, label string, key crypto.PrivateKey, obj keyObject, withPublic bool, extra ...*pkcs11.Attribute) {
	tb.Helper()
	withAdmin(tb, label, func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) {
		var priv, pub []*pkcs11.Attribute
		switch k := key.(type) {
		case *ecdsa.PrivateKey:
			params := p256Params
			if k.Curve != elliptic.P256() {
				params = sm2Params
			}
			priv = obj.attrs(pkcs11.CKO_PRIVATE_KEY, append(privateFlags(pkcs11.CKK_EC),
				pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params),
				//lint:ignore SA1019 an SM2 key (gmsm) has no other way to give its scalar
				pkcs11.NewAttribute(pkcs11.CKA_VALUE, k.D.FillBytes(make([]byte, 32))),
				pkcs11.NewAttribute(pkcs11.CKA_DERIVE, true))...)
			//lint:ignore SA1019 the SEC 1 encoding PKCS#11 stores, on any curve (SM2's too)
			point := elliptic.Marshal(k.Curve, k.X, k.Y)
			pub = obj.attrs(pkcs11.CKO_PUBLIC_KEY,
				pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
				pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params),
				pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, mustMarshal(point)))
		case *rsa.PrivateKey:
			priv = obj.attrs(pkcs11.CKO_PRIVATE_KEY, append(privateFlags(pkcs11.CKK_RSA),
				pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
				pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(k.E)).Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_PRIVATE_EXPONENT, k.D.Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_PRIME_1, k.Primes[0].Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_PRIME_2, k.Primes[1].Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_1, k.Precomputed.Dp.Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_2, k.Precomputed.Dq.Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_COEFFICIENT, k.Precomputed.Qinv.Bytes()))...)
			pub = obj.attrs(pkcs11.CKO_PUBLIC_KEY,
				pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
				pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
				pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(k.E)).Bytes()))
		default:
			tb.Fatalf("importKey %T", key)
		}
		if _, err := ctx.CreateObject(sh, append(priv, extra...)); err != nil {
			tb.Fatalf("C_CreateObject private key: %v", err)
		}
		if withPublic {
			if _, err := ctx.CreateObject(sh, pub); err != nil {
				tb.Fatalf("C_CreateObject public key: %v", err)
			}
		}
	})
}

// storeCertificate writes cert to the token beside the key, as a CA does.
func storeCertificate(tb testing.TB, label string, cert *smx509.Certificate, obj keyObject) {
	tb.Helper()
	withAdmin(tb, label, func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) {
		if _, err := ctx.CreateObject(sh, obj.attrs(pkcs11.CKO_CERTIFICATE,
			pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
			pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cert.RawSubject),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, cert.Raw))); err != nil {
			tb.Fatalf("C_CreateObject certificate: %v", err)
		}
	})
}

// mustOpen opens the key and closes it when the test ends.
func mustOpen(tb testing.TB, cfg Config) *Key {
	tb.Helper()
	k, err := Open(cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := k.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return k
}

// The test CA, one per run.
var (
	caOnce sync.Once
	caVal  *devpki.CA
	caErr  error
)

func mustCA(tb testing.TB) *devpki.CA {
	tb.Helper()
	caOnce.Do(func() { caVal, caErr = devpki.NewCA(devpki.ECDSA, "Token Test CA", time.Now().Add(-time.Hour)) })
	if caErr != nil {
		tb.Fatal(caErr)
	}
	return caVal
}

// mustCertify issues a bidder certificate for pub, a public key whose private half is on a
// token (devpki.Issue makes its own key, so the template is signed here directly).
func mustCertify(tb testing.TB, pub crypto.PublicKey, name string) *smx509.Certificate {
	tb.Helper()
	ca := mustCA(tb)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	tmpl := &smx509.Certificate{
		SerialNumber: serial,
		Subject:      ca.Cert.Subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     smx509.KeyUsageDigitalSignature | smx509.KeyUsageKeyEncipherment | smx509.KeyUsageKeyAgreement,
		ExtKeyUsage:  []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth},
	}
	tmpl.Subject.CommonName = name
	tmpl.Subject.Organization = []string{"投标人"}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

// bidderKey is a key generated on its own token, opened, with a certificate for it.
type bidderKey struct {
	cfg  Config
	key  *Key
	cert *smx509.Certificate
}

// The object every generated bidder key is stored as.
var bidderObject = keyObject{label: "投标人证书", id: []byte{0x01}}

// mustBidderKey makes a token, generates an alg key on it, opens it and certifies it.
func mustBidderKey(tb testing.TB, alg devpki.Algorithm) bidderKey {
	tb.Helper()
	label := mustToken(tb)
	generate(tb, label, alg, bidderObject)
	cfg := Config{Module: softhsm, TokenLabel: label, PIN: userPIN, KeyLabel: bidderObject.label}
	k := mustOpen(tb, cfg)
	return bidderKey{cfg: cfg, key: k, cert: mustCertify(tb, k.Public(), "四川某建设工程有限公司")}
}

// eachAlgorithm runs f in parallel subtests for a P-256 and an RSA key generated on a token,
// each with the certificate of another bidder's key of the same algorithm.
func eachAlgorithm(t *testing.T, f func(t *testing.T, bk bidderKey, other *smx509.Certificate)) {
	for _, alg := range []devpki.Algorithm{devpki.ECDSA, devpki.RSA} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			f(t, mustBidderKey(t, alg), mustCertify(t, mustSoftwareKey(t, alg).Public(), "另一投标人"))
		})
	}
}

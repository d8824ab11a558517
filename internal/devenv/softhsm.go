package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/pkcs11"
)

// SoftHSM is a real PKCS#11 token for tests (`apt-get install softhsm2`; make deps does it).

// The PINs of every SoftHSM test token.
const (
	SoftHSMUserPIN = "1234"
	SoftHSMSOPIN   = "5678"
)

// softhsmPaths are where Debian and source builds put SoftHSM 2.
var softhsmPaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// SoftHSMModule returns the path of the SoftHSM 2 PKCS#11 library.
func SoftHSMModule() (string, error) {
	for _, p := range softhsmPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("devenv: SoftHSM 2 is not installed (apt-get install softhsm2, or make deps)")
}

// UseSoftHSM points SoftHSM at a token folder under dir for the whole process: SoftHSM reads
// SOFTHSM2_CONF at C_Initialize, and softhsm2-util, run by SoftHSMToken, inherits it.
func UseSoftHSM(dir string) error {
	if _, err := SoftHSMModule(); err != nil {
		return err
	}
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return fmt.Errorf("devenv: softhsm2-util is missing (apt-get install softhsm2): %w", err)
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	return os.Setenv("SOFTHSM2_CONF", conf)
}

var softhsmTokens atomic.Int64

// SoftHSMToken initializes a fresh SoftHSM token with the test PINs and returns its label.
// SoftHSM sees tokens made by another process at its next C_Initialize: make tokens and keys
// before the test opens the module.
func SoftHSMToken(tb testing.TB) string {
	tb.Helper()
	if os.Getenv("SOFTHSM2_CONF") == "" {
		tb.Fatal("devenv: SoftHSM not set up: call devenv.Main(m, devenv.NeedSoftHSM) from TestMain")
	}
	label := fmt.Sprintf("kaiping-%d-%d", os.Getpid(), softhsmTokens.Add(1))
	softhsmUtil(tb, "--init-token", "--free", "--label", label, "--so-pin", SoftHSMSOPIN, "--pin", SoftHSMUserPIN)
	return label
}

// SoftHSMAESKey generates an AES-256 secret key on the token, labelled keyLabel, as a
// cipher machine's own tools would: made on the device, usable to encrypt and decrypt,
// never extractable. It loads and unloads the module, so call it before the test opens
// the module itself. (softhsm2-util --import --aes makes keys SoftHSM then refuses for any
// mechanism.)
func SoftHSMAESKey(tb testing.TB, token, keyLabel string) {
	tb.Helper()
	module, err := SoftHSMModule()
	if err != nil {
		tb.Fatal(err)
	}
	p := pkcs11.New(module)
	if p == nil {
		tb.Fatalf("devenv: cannot load %s", module)
	}
	defer p.Destroy()
	if err := p.Initialize(); err != nil {
		tb.Fatalf("devenv: C_Initialize: %v", err)
	}
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil {
		tb.Fatal(err)
	}
	for _, slot := range slots {
		if ti, err := p.GetTokenInfo(slot); err != nil || strings.TrimRight(ti.Label, " \x00") != token {
			continue
		}
		sh, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			tb.Fatal(err)
		}
		defer p.CloseSession(sh)
		if err := p.Login(sh, pkcs11.CKU_USER, SoftHSMUserPIN); err != nil {
			tb.Fatalf("devenv: C_Login: %v", err)
		}
		defer p.Logout(sh)
		if _, err := p.GenerateKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, keyLabel),
		}); err != nil {
			tb.Fatalf("devenv: C_GenerateKey %s: %v", keyLabel, err)
		}
		return
	}
	tb.Fatalf("devenv: no SoftHSM token labelled %q", token)
}

func softhsmUtil(tb testing.TB, args ...string) {
	tb.Helper()
	out, err := exec.Command("softhsm2-util", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("softhsm2-util %v: %v\n%s", args, err, out)
	}
}

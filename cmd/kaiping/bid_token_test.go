package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
)

// softHSMModule is Debian's SoftHSM 2 PKCS#11 library (make test installs softhsm2).
const softHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// mustSoftHSMToken makes a SoftHSM token labelled label with PIN 1234 holding key as
// object "sign", and points SOFTHSM2_CONF at it for the rest of the test.
func mustSoftHSMToken(t *testing.T, label string, keyPEM []byte) {
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	os.Mkdir(tokens, 0o700)
	conf := filepath.Join(dir, "softhsm2.conf")
	os.WriteFile(conf, fmt.Appendf(nil, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens), 0o600)
	t.Setenv("SOFTHSM2_CONF", conf)
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, keyPEM, 0o600)
	for _, args := range [][]string{
		{"--init-token", "--free", "--label", label, "--pin", "1234", "--so-pin", "5678"},
		{"--import", keyFile, "--token", label, "--label", "sign", "--id", "01", "--pin", "1234"},
	} {
		if out, err := exec.Command("softhsm2-util", args...).CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	os.Remove(keyFile) // from here on the key exists only on the token
	allowDerive(t, label, "sign")
}

// allowDerive lets the private key object of the token derive (ECDH), as a bidder's UKEY
// must to open its bid: softhsm2-util imports keys for signing only. The module is
// finalized afterwards, so the tool under test initializes it afresh.
func allowDerive(t *testing.T, token, object string) {
	t.Helper()
	ctx := pkcs11.New(softHSMModule)
	if ctx == nil {
		t.Fatal("cannot load SoftHSM")
	}
	defer ctx.Destroy()
	if err := ctx.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer ctx.Finalize()
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, slot := range slots {
		if ti, err := ctx.GetTokenInfo(slot); err != nil || ti.Label != token {
			continue
		}
		sh, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			t.Fatal(err)
		}
		defer ctx.CloseSession(sh)
		if err := ctx.Login(sh, pkcs11.CKU_USER, "1234"); err != nil {
			t.Fatal(err)
		}
		defer ctx.Logout(sh)
		if err := ctx.FindObjectsInit(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_LABEL, object)}); err != nil {
			t.Fatal(err)
		}
		objs, _, err := ctx.FindObjects(sh, 2)
		ctx.FindObjectsFinal(sh)
		if err != nil || len(objs) != 1 {
			t.Fatalf("private key %q on %q: %d found, %v", object, token, len(objs), err)
		}
		if err := ctx.SetAttributeValue(sh, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_DERIVE, true)}); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no token %q", token)
}

// TestBidToolWithToken: a bidder whose key is on a PKCS#11 token (UKEY) makes its CSR,
// logs in, registers, seals and submits with the key never leaving the token; a wrong PIN
// is refused before anything reaches the server.
func TestBidToolWithToken(t *testing.T) {
	w := mustBidWorld(t)
	key, err := devpki.NewKey(devpki.ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := devpki.KeyPEM(key)
	mustSoftHSMToken(t, "甲公司UKEY", keyPEM)
	pin := filepath.Join(w.dir, "pin")
	os.WriteFile(pin, []byte("1234\n"), 0o600)
	tok := []string{"--pkcs11", "token=甲公司UKEY;object=sign", "--pkcs11-module", softHSMModule, "--pkcs11-pin-file", pin}

	csr := filepath.Join(w.dir, "token.csr")
	mustRun(t, append([]string{"bid", "csr", "--name", "甲公司", "--out", csr}, tok...)...)
	csrPEM, _ := os.ReadFile(csr)
	cert, err := w.setup.CA.SignCSR(csrPEM, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(w.dir, "token.cert")
	os.WriteFile(certFile, devpki.CertPEM(cert), 0o644)
	w.mustPrincipal(t, devpki.CertPEM(cert), "甲公司", kaiping.RoleBidder)

	bid := func(sub string, args ...string) (string, error) {
		base := []string{"bid", sub, "--server", w.base, "--cert", certFile, "--tender", string(w.tender.ID), "--section", "BD1"}
		return run(t, append(append(base, tok...), args...)...)
	}
	if _, err := bid("register"); err != nil {
		t.Fatal(err)
	}
	plain, sealed := filepath.Join(w.dir, "p.json"), filepath.Join(w.dir, "token.kpseal")
	os.WriteFile(plain, []byte(`{"price":"100"}`), 0o600)
	if _, err := bid("seal", "--in", plain, "--out", sealed); err != nil {
		t.Fatal(err)
	}
	if out, err := bid("submit", "--file", sealed, "--quiet"); err != nil || !strings.Contains(out, "bid.submit") {
		t.Fatalf("submit with a token key: %q %v", out, err)
	}

	os.WriteFile(pin, []byte("0000\n"), 0o600)
	if _, err := bid("status"); kaiping.CodeOf(err) != "token.pin" {
		t.Errorf("a wrong PIN: %v, want token.pin", err)
	}
}

package ledger_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/mod/sumdb/note"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/storage/ledger"
)

func TestSigners(t *testing.T) {
	msg := []byte("ggzy.example.gov.cn/kaiping/ledger\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-11-21T09:30:00.000000Z\n")
	for _, alg := range []string{ledger.AlgEd25519, ledger.AlgSM2} {
		t.Run(alg, func(t *testing.T) {
			s := mustSigner(t, alg)
			if s.Algorithm() != alg {
				t.Fatalf("Algorithm() = %q", s.Algorithm())
			}
			v := mustVerifier(t, s)
			if v.Algorithm() != alg {
				t.Fatalf("verifier Algorithm() = %q", v.Algorithm())
			}
			sig, err := s.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Verify(msg, sig) {
				t.Fatal("signature does not verify")
			}
			altered := append([]byte(nil), msg...)
			altered[len(altered)-3]++
			if v.Verify(altered, sig) {
				t.Error("signature verifies an altered message")
			}
			if mustVerifier(t, mustSigner(t, alg)).Verify(msg, sig) {
				t.Error("signature verifies with another key")
			}
		})
	}
}

// SM2 signatures must be standard: GB/T 32918.2 with SM3 and the default UID, checkable by
// any SM2 implementation, here gmsm's own API with the UID spelled out.
func TestSM2SignatureIsStandard(t *testing.T) {
	s := mustSigner(t, ledger.AlgSM2)
	p, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(p)
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("开标记录\n")
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(pub.(*ecdsa.PublicKey), []byte("1234567812345678"), msg, sig) {
		t.Error("SM2 signature does not verify with the default UID 1234567812345678")
	}
	if sm2.VerifyASN1WithSM2(pub.(*ecdsa.PublicKey), []byte("another uid"), msg, sig) {
		t.Error("SM2 signature verifies with another UID")
	}
}

// An Ed25519 checkpoint signature is a C2SP signed-note signature, so sumdb/note (and other
// note tooling) can check our checkpoints with nothing but the public key.
func TestEd25519CheckpointIsASignedNote(t *testing.T) {
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgEd25519)
	l := ledger.New(s, testOrigin)
	mustFill(t, pool, l, 3)
	cp, err := l.Checkpoint(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(p)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := note.NewEd25519VerifierKey(testOrigin, pub.(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	nv, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	sig := binary.BigEndian.AppendUint32(nil, nv.KeyHash())
	sig = append(sig, cp.Signature...)
	msg := fmt.Sprintf("%s\n— %s %s\n", cp.Text(), testOrigin, base64.StdEncoding.EncodeToString(sig))
	n, err := note.Open([]byte(msg), note.VerifierList(nv))
	if err != nil {
		t.Fatalf("note.Open:\n%s\n%v", msg, err)
	}
	if n.Text != string(cp.Text()) {
		t.Errorf("note text %q, want %q", n.Text, cp.Text())
	}
}

func TestParseSignerFormats(t *testing.T) {
	sm2Key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := smx509.MarshalSM2PrivateKey(sm2Key)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey) // the standard library's PKCS#8, as openssl writes it
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, typ string
		der       []byte
		alg       string
	}{
		{"SM2 in SEC 1", "EC PRIVATE KEY", sec1, ledger.AlgSM2},
		{"SM2 in SEC 1, GM label", "SM2 PRIVATE KEY", sec1, ledger.AlgSM2},
		{"Ed25519 in PKCS#8 from crypto/x509", "PRIVATE KEY", edDER, ledger.AlgEd25519},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ledger.ParseSigner(pem.EncodeToMemory(&pem.Block{Type: tt.typ, Bytes: tt.der}))
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != tt.alg {
				t.Fatalf("Algorithm() = %q, want %q", s.Algorithm(), tt.alg)
			}
			sig, err := s.Sign([]byte("x\n"))
			if err != nil || !mustVerifier(t, s).Verify([]byte("x\n"), sig) {
				t.Fatalf("sign and verify: %v", err)
			}
		})
	}
}

func TestParseSignerRefuses(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256DER, _ := x509.MarshalPKCS8PrivateKey(p256)
	p256SEC1, _ := x509.MarshalECPrivateKey(p256)
	pubPEM, err := mustSigner(t, ledger.AlgEd25519).PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		pem  []byte
	}{
		{"not PEM", []byte("PRIVATE+KEY+not-a-pem")},
		{"RSA", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})},
		{"ECDSA P-256 in PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256DER})},
		{"ECDSA P-256 in SEC 1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p256SEC1})},
		{"a public key", pubPEM},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.ParseSigner(tt.pem)
			wantKind(t, err, kaiping.KindInvalid, "ledger.bad_key")
		})
	}
	p256Pub, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	_, err = ledger.ParseVerifier(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p256Pub}))
	wantKind(t, err, kaiping.KindInvalid, "ledger.bad_key")
	_, err = ledger.GenerateKeyPEM("rsa")
	wantKind(t, err, kaiping.KindInvalid, "ledger.bad_algorithm")
}

// The national-crypto option end to end: appends (concurrent too), verification, tampering,
// proofs and a published checkpoint, all with an SM2 platform key.
func TestSM2LedgerEndToEnd(t *testing.T) {
	ctx := context.Background()
	pool := mustPool(t)
	s := mustSigner(t, ledger.AlgSM2)
	v := mustVerifier(t, s)
	l := ledger.New(s, testOrigin)
	entries := mustFill(t, pool, l, 9)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := ledgerAppend(ctx, pool, l)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	rep := mustVerify(t, pool, v, 17)

	cp, err := l.Checkpoint(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Algorithm != ledger.AlgSM2 || cp.Root != rep.Root {
		t.Fatalf("checkpoint %+v, want SM2 over root %s", cp, rep.Root)
	}
	if err := cp.Verify(v); err != nil {
		t.Fatal(err)
	}
	if err := cp.Verify(mustVerifier(t, mustSigner(t, ledger.AlgEd25519))); err == nil {
		t.Error("SM2 checkpoint verifies with an Ed25519 key")
	}
	inc, err := l.ProveInclusion(ctx, pool, 4, 17)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.VerifyInclusion(inc, cp.Checkpoint, entries[4].LeafData()); err != nil {
		t.Fatal(err)
	}
	early := mustCheckpointAt(t, pool, l, 9)
	con, err := l.ProveConsistency(ctx, pool, 9, 17)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.VerifyConsistency(con, early.Checkpoint, cp.Checkpoint); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyAgainst(ctx, pool, v, early); err != nil {
		t.Fatal(err)
	}

	tamper(t, pool, `UPDATE ledger_entries SET address = '127.0.0.99' WHERE seq = 11`)
	_, err = ledger.Verify(ctx, pool, v, testOrigin)
	wantEntryError(t, err, 11, "signature does not match")
}

package token

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/miekg/pkcs11"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening/seal"
)

var testBinding = seal.Binding{Tender: "tender-1", Section: "section-1", Bidder: "bidder-1", Kind: seal.Summary}

// mustSeal seals plaintext to the certificates.
func mustSeal(tb testing.TB, plaintext []byte, certs ...*smx509.Certificate) []byte {
	tb.Helper()
	var to []seal.Recipient
	for _, c := range certs {
		r, err := seal.NewCertRecipient(c)
		if err != nil {
			tb.Fatal(err)
		}
		to = append(to, r)
	}
	var env bytes.Buffer
	if _, err := seal.Seal(&env, bytes.NewReader(plaintext), testBinding, to); err != nil {
		tb.Fatal(err)
	}
	return env.Bytes()
}

// openEnvelope does what the bidder's tool does at the opening: unwrap the file key with
// the token key, then decrypt.
func openEnvelope(env []byte, cert *smx509.Certificate, key crypto.PrivateKey) ([]byte, error) {
	id, err := seal.NewCertIdentity(cert, key)
	if err != nil {
		return nil, err
	}
	h, _, err := seal.ParseHeader(bytes.NewReader(env))
	if err != nil {
		return nil, err
	}
	fileKey, err := h.UnwrapFileKey(id)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if _, err := seal.Decrypt(&out, bytes.NewReader(env), fileKey); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// TestSealOpenWithToken seals a bid to the certificate of a key generated on the token and
// opens it with seal.NewCertIdentity(cert, tokenKey): ECDH on the token for P-256,
// RSA-OAEP-SHA256 on the token for RSA.
func TestSealOpenWithToken(t *testing.T) {
	t.Parallel()
	eachAlgorithm(t, func(t *testing.T, bk bidderKey, _ *smx509.Certificate) {
		plaintext := make([]byte, 300<<10) // several chunks
		rand.Read(plaintext)
		env := mustSeal(t, plaintext, bk.cert)
		got, err := openEnvelope(env, bk.cert, bk.key)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Fatal("plaintext differs")
		}
	})
}

// TestSealWrongKey: envelopes and stanzas that are not this key's are refused with seal's
// codes, whatever the token does with them.
func TestSealWrongKey(t *testing.T) {
	t.Parallel()
	eachAlgorithm(t, func(t *testing.T, bk bidderKey, other *smx509.Certificate) {
		// A stanza wrapped to the other certificate's key but addressed to the token's.
		forged, err := seal.WrapSecret(rand.Reader, other, bytes.Repeat([]byte{9}, 32))
		if err != nil {
			t.Fatal(err)
		}
		forged.Args[0] = seal.Fingerprint(bk.cert.Raw)
		id, err := seal.NewCertIdentity(bk.cert, bk.key)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			run      func() error
			wantCode string
		}{
			{"envelope sealed to another certificate", func() error {
				_, err := openEnvelope(mustSeal(t, []byte("bid"), other), bk.cert, bk.key)
				return err
			}, seal.CodeNoStanza},
			{"stanza for another certificate", func() error {
				other, err := seal.WrapSecret(rand.Reader, other, []byte("secret"))
				if err != nil {
					return err
				}
				_, err = seal.UnwrapSecret(other, id)
				return err
			}, seal.CodeNoStanza},
			{"stanza wrapped to another key", func() error {
				_, err := seal.UnwrapSecret(forged, id)
				return err
			}, seal.CodeWrongKey},
			{"token key with another certificate", func() error {
				_, err := seal.NewCertIdentity(other, bk.key)
				return err
			}, seal.CodeWrongKey},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if code := codeOf(tt.run()); code != tt.wantCode {
					t.Fatalf("code %q, want %q", code, tt.wantCode)
				}
			})
		}
	})
}

// TestECDHMatchesSoftware: a software P-256 key put on the token computes the same shared
// secrets on the token as crypto/ecdh does in memory, and leaves no derived object behind.
func TestECDHMatchesSoftware(t *testing.T) {
	t.Parallel()
	label := mustToken(t)
	soft := mustSoftwareKey(t, devpki.ECDSA).(*ecdsa.PrivateKey)
	importKey(t, label, soft, keyObject{"ec", []byte{7}}, true)
	k := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN})
	softDH, err := soft.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	if !k.PublicKey().Equal(softDH.PublicKey()) {
		t.Fatal("token ECDH public key differs from the imported key's")
	}
	for i := range 5 {
		peer, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.ECDH(peer.PublicKey())
		if err != nil {
			t.Fatalf("ECDH: %v", err)
		}
		want, err := softDH.ECDH(peer.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("peer %d: token secret %x, crypto/ecdh %x", i, got, want)
		}
	}
	if n := countSecretObjects(t, k); n != 0 {
		t.Fatalf("%d derived secret objects left on the token", n)
	}
}

// countSecretObjects counts the secret-key objects the Key's session can see.
func countSecretObjects(tb testing.TB, k *Key) int {
	tb.Helper()
	var n int
	if err := k.do(func(*pkcs11.Ctx, pkcs11.SessionHandle) error {
		objs, err := k.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY)}, 100)
		n = len(objs)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestECDHBadPeer: peers that are not P-256 keys, and ECDH with an RSA key.
func TestECDHBadPeer(t *testing.T) {
	t.Parallel()
	ec, rs := mustBidderKey(t, devpki.ECDSA), mustBidderKey(t, devpki.RSA)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  *Key
		peer *ecdh.PublicKey
	}{
		{"nil peer", ec.key, nil},
		{"X25519 peer", ec.key, x25519.PublicKey()},
		{"RSA key", rs.key, p256.PublicKey()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.key.ECDH(tt.peer); codeOf(err) != CodeUnsupportedAlgorithm {
				t.Fatalf("err %v, want %s", err, CodeUnsupportedAlgorithm)
			}
		})
	}
	if rs.key.PublicKey() != nil {
		t.Fatal("an RSA key has an ECDH public key")
	}
}

// TestDecryptMatchesSoftware decrypts RSA-OAEP with a software key put on the token, for
// the hashes and labels crypto/rsa encrypts with. SoftHSM does OAEP only with SHA-1, so SHA-1
// must have run as CKM_RSA_PKCS_OAEP on the token and the others as CKM_RSA_X_509 with the
// decoding in software.
func TestDecryptMatchesSoftware(t *testing.T) {
	t.Parallel()
	label := mustToken(t)
	soft := mustSoftwareKey(t, devpki.RSA).(*rsa.PrivateKey)
	importKey(t, label, soft, keyObject{"rsa", []byte{3}}, false)
	k := mustOpen(t, Config{Module: softhsm, TokenLabel: label, PIN: userPIN, KeyLabel: "rsa"})
	tests := []struct {
		name   string
		opts   rsa.OAEPOptions
		native bool
	}{
		{"SHA-256 as seal uses it", rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256}, false},
		{"SHA-256 with a label", rsa.OAEPOptions{Hash: crypto.SHA256, Label: []byte("kaiping")}, false},
		{"SHA-512 label hash, SHA-1 MGF1", rsa.OAEPOptions{Hash: crypto.SHA512, MGFHash: crypto.SHA1}, false},
		{"SHA-1 on the token", rsa.OAEPOptions{Hash: crypto.SHA1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{1, 32, 100} {
				msg := bytes.Repeat([]byte{byte(n)}, n)
				mgf := tt.opts.MGFHash
				if mgf == 0 {
					mgf = tt.opts.Hash
				}
				ct, err := rsa.EncryptOAEPWithOptions(rand.Reader, &soft.PublicKey, msg, &rsa.OAEPOptions{Hash: tt.opts.Hash, MGFHash: mgf, Label: tt.opts.Label})
				if err != nil {
					t.Fatal(err)
				}
				opts := tt.opts
				got, err := k.Decrypt(nil, ct, &opts)
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				want, err := soft.Decrypt(nil, ct, &opts)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, msg) || !bytes.Equal(got, want) {
					t.Fatalf("%d bytes: token %x, crypto/rsa %x, sealed %x", n, got, want, msg)
				}
			}
			k.mu.Lock()
			native := k.oaep[tt.opts.Hash]
			k.mu.Unlock()
			if native != tt.native {
				t.Fatalf("OAEP on the token: %v, want %v", native, tt.native)
			}
		})
	}
}

// TestDecryptBadInput: a ciphertext that is not valid OAEP for this key is an error with
// token.decrypt, never a panic and never a plaintext; options it does not do are refused.
func TestDecryptBadInput(t *testing.T) {
	t.Parallel()
	rs, ec := mustBidderKey(t, devpki.RSA), mustBidderKey(t, devpki.ECDSA)
	pub := rs.key.Public().(*rsa.PublicKey)
	oaep := &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256}
	valid, err := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, pub, []byte("file key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	labelled, err := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, pub, []byte("file key"), []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	sha1CT, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, []byte("file key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(valid)
	flipped[len(flipped)-1] ^= 1
	random := make([]byte, pub.Size())
	rand.Read(random)
	random[0] = 0 // below the modulus
	tests := []struct {
		name       string
		key        *Key
		ciphertext []byte
		opts       crypto.DecrypterOpts
		wantCode   string
	}{
		{"random block", rs.key, random, oaep, CodeDecrypt},
		{"one bit flipped", rs.key, flipped, oaep, CodeDecrypt},
		{"other label", rs.key, labelled, oaep, CodeDecrypt},
		{"SHA-1 ciphertext as SHA-256", rs.key, sha1CT, oaep, CodeDecrypt},
		{"SHA-256 ciphertext as SHA-1 (on the token)", rs.key, valid, &rsa.OAEPOptions{Hash: crypto.SHA1}, CodeDecrypt},
		{"all zero", rs.key, make([]byte, pub.Size()), oaep, CodeDecrypt},
		{"not below the modulus", rs.key, bytes.Repeat([]byte{0xff}, pub.Size()), oaep, CodeDecrypt},
		{"too short", rs.key, valid[1:], oaep, CodeDecrypt},
		{"too long", rs.key, append(bytes.Clone(valid), 0), oaep, CodeDecrypt},
		{"empty", rs.key, nil, oaep, CodeDecrypt},
		//lint:ignore SA1019 a caller asking for PKCS#1 v1.5 must be refused: that is the test
		{"PKCS#1 v1.5", rs.key, valid, &rsa.PKCS1v15DecryptOptions{}, CodeUnsupportedAlgorithm},
		{"no options", rs.key, valid, nil, CodeUnsupportedAlgorithm},
		{"unavailable hash", rs.key, valid, &rsa.OAEPOptions{Hash: crypto.MD4}, CodeUnsupportedAlgorithm},
		{"P-256 key", ec.key, valid, oaep, CodeUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.key.Decrypt(nil, tt.ciphertext, tt.opts)
			if code := codeOf(err); code != tt.wantCode {
				t.Fatalf("code %q (%v), want %q", code, err, tt.wantCode)
			}
			if got != nil {
				t.Fatalf("plaintext %x returned with the error", got)
			}
			if kaiping.KindOf(err) != kaiping.KindInvalid {
				t.Fatalf("kind %v", kaiping.KindOf(err))
			}
		})
	}
	// The session still works after all that.
	if got, err := rs.key.Decrypt(nil, valid, oaep); err != nil || string(got) != "file key" {
		t.Fatalf("after bad input: %q, %v", got, err)
	}
}

// FuzzDecodeOAEP: the software OAEP decoding takes any block without panicking, and returns
// a plaintext only for what a real OAEP encoding would decode to.
func FuzzDecodeOAEP(f *testing.F) {
	f.Add(make([]byte, 256), []byte(""))
	f.Add(bytes.Repeat([]byte{1}, 256), []byte("label"))
	f.Add([]byte{0, 1, 2}, []byte(""))
	f.Fuzz(func(t *testing.T, em, label []byte) {
		out, err := decodeOAEP(crypto.SHA256.New(), crypto.SHA256.New(), bytes.Clone(em), label)
		if err != nil && codeOf(err) != CodeDecrypt {
			t.Fatalf("code %q", codeOf(err))
		}
		if err == nil && len(out) > len(em)-2*32-2 {
			t.Fatalf("%d-byte plaintext from a %d-byte block", len(out), len(em))
		}
	})
}

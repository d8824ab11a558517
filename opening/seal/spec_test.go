package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"hash"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"
)

// TestSpecIndependent opens every test vector following FORMAT.md step by step with the
// primitives alone, sharing no code with the package: if the two disagree, either the code
// or the specification is wrong.
func TestSpecIndependent(t *testing.T) {
	for _, spec := range vectorSpecs {
		t.Run(spec.name, func(t *testing.T) {
			base := filepath.Join(vectorDir, spec.name)
			env := mustRead(t, base+".seal")
			var rec vectorRecord
			if err := json.Unmarshal(mustRead(t, base+".json"), &rec); err != nil {
				t.Fatal(err)
			}
			unb64 := func(s string) []byte {
				b, err := base64.RawStdEncoding.DecodeString(s)
				if err != nil {
					t.Fatalf("base64 %q: %v", s, err)
				}
				return b
			}

			// §2: the header ends with the line "--- MAC"; the MAC covers up to "---".
			end := bytes.Index(env, []byte("\n--- "))
			macLineEnd := end + 1 + bytes.IndexByte(env[end+1:], '\n')
			covered, payload := env[:end+4], env[macLineEnd+1:]
			mac := unb64(string(env[end+5 : macLineEnd]))
			lines := strings.Split(string(env[:end]), "\n")
			if lines[0] != "kaiping.org/seal/v1" {
				t.Fatalf("magic %q", lines[0])
			}
			value := func(i int, name string) string {
				v, ok := strings.CutPrefix(lines[i], name+" ")
				if !ok {
					t.Fatalf("line %d is %q, want %s", i, lines[i], name)
				}
				return v
			}
			suite := value(1, "suite")
			nonce, keycheck := unb64(value(6, "nonce")), unb64(value(7, "keycheck"))
			if value(2, "tender") != rec.Tender || value(5, "kind") != string(rec.Kind) {
				t.Fatal("binding lines differ from the record")
			}

			// §5: unwrap the file key from each stanza with its key file.
			var fileKeys [][]byte
			for i := 8; i < len(lines); {
				fields := strings.Fields(lines[i])
				i++
				var body []byte
				for {
					l := lines[i]
					i++
					body = append(body, unb64(l)...)
					if len(l) < 64 {
						break
					}
				}
				// recipient_keys lists the key files in stanza order.
				keyFile := rec.Recipients[len(fileKeys)]
				fileKeys = append(fileKeys, specUnwrap(t, fields[1], fields[2:], body, keyFile))
			}
			for _, fk := range fileKeys {
				if hex.EncodeToString(fk) != rec.FileKey {
					t.Fatalf("a stanza unwraps to %x, want %s", fk, rec.FileKey)
				}
			}
			fileKey := fileKeys[0]

			// §3, §4: suite hash, key check, MAC, payload key.
			H, keyLen, newBlock := func() hash.Hash { return sha256.New() }, 32, aes.NewCipher
			if suite == "sm4gcm" {
				H, keyLen, newBlock = sm3.New, 16, sm4.NewCipher
			}
			derive := func(salt []byte, info string, n int) []byte {
				k, err := hkdf.Key(H, fileKey, salt, info, n)
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
			if !bytes.Equal(derive(nil, "kaiping.org/seal/v1/keycheck", 16), keycheck) {
				t.Fatal("key check differs")
			}
			m := hmac.New(H, derive(nil, "kaiping.org/seal/v1/header", 32))
			m.Write(covered)
			if !hmac.Equal(m.Sum(nil), mac) {
				t.Fatal("header MAC differs")
			}
			block, err := newBlock(derive(nonce, "kaiping.org/seal/v1/payload", keyLen))
			if err != nil {
				t.Fatal(err)
			}
			gcm, err := cipher.NewGCM(block)
			if err != nil {
				t.Fatal(err)
			}

			// §6: chunks of 65536 + 16 bytes, nonce = uint88be(i) || last flag.
			var plain []byte
			for i := 0; ; i++ {
				n := min(len(payload), 65536+16)
				last := n == len(payload)
				nonce := make([]byte, 12)
				binary.BigEndian.PutUint64(nonce[3:11], uint64(i))
				if last {
					nonce[11] = 1
				}
				pt, err := gcm.Open(nil, nonce, payload[:n], nil)
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				plain = append(plain, pt...)
				payload = payload[n:]
				if last {
					break
				}
			}
			sum := sha256.Sum256(plain)
			if hex.EncodeToString(sum[:]) != rec.PlaintextSHA256 {
				t.Fatal("plaintext differs")
			}
		})
	}
}

// specUnwrap opens one stanza as FORMAT.md §5 describes.
func specUnwrap(t *testing.T, typ string, args []string, body []byte, keyFile string) []byte {
	t.Helper()
	var certDER, keyDER []byte
	for rest := mustRead(t, filepath.Join(vectorDir, keyFile)); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certDER = b.Bytes
		} else {
			keyDER = b.Bytes
		}
	}
	key, err := smx509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		t.Fatal(err)
	}
	if certDER != nil {
		fp := sha256.Sum256(certDER)
		if args[0] != hex.EncodeToString(fp[:]) {
			t.Fatalf("%s stanza names %s, not the certificate's fingerprint", typ, args[0])
		}
	}
	switch typ {
	case "x509-p256", "rescue-p256":
		priv, err := key.(*ecdsa.PrivateKey).ECDH()
		if err != nil {
			t.Fatal(err)
		}
		if typ == "rescue-p256" {
			spki := append(mustHex(t, "3059301306072a8648ce3d020106082a8648ce3d030107034200"), priv.PublicKey().Bytes()...)
			id := sha256.Sum256(spki)
			if args[0] != hex.EncodeToString(id[:]) {
				t.Fatalf("rescue stanza names %s, not the key ID", args[0])
			}
		}
		ephBytes, _ := base64.RawStdEncoding.DecodeString(args[1])
		eph, err := ecdh.P256().NewPublicKey(ephBytes)
		if err != nil {
			t.Fatal(err)
		}
		z, err := priv.ECDH(eph)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := hkdf.Key(sha256.New, z, append(ephBytes, priv.PublicKey().Bytes()...), "kaiping.org/seal/v1/"+typ, 32)
		block, _ := aes.NewCipher(k)
		gcm, _ := cipher.NewGCM(block)
		fk, err := gcm.Open(nil, make([]byte, 12), body, nil)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return fk
	case "rsa-oaep-sha256":
		fk, err := rsa.DecryptOAEP(sha256.New(), nil, key.(*rsa.PrivateKey), body, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fk
	case "sm2":
		// GM/T 0009 SM2Cipher, DER: x, y, then C3 (the SM3 hash), then C2.
		var c struct {
			X, Y       *big.Int
			Hash       []byte
			CipherText []byte
		}
		if rest, err := asn1.Unmarshal(body, &c); err != nil || len(rest) != 0 || len(c.Hash) != 32 || len(c.CipherText) != FileKeySize {
			t.Fatalf("sm2 body is not a DER SM2Cipher of the file key: %v", err)
		}
		fk, err := sm2.Decrypt(key.(*sm2.PrivateKey), body)
		if err != nil {
			t.Fatal(err)
		}
		return fk
	}
	t.Fatalf("unknown stanza type %s", typ)
	return nil
}

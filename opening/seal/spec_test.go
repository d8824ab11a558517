package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
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

// specUnwrap opens one stanza as FORMAT.md §5 describes, with the key in keyFile.
func specUnwrap(t *testing.T, typ string, args []string, body []byte, keyFile string) []byte {
	t.Helper()
	id, keyType, unwrap := specIdentity(t, keyFile)
	if typ != keyType || args[0] != id {
		t.Fatalf("%s stanza names %s; %s holds a %s key with identifier %s", typ, args[0], keyFile, keyType, id)
	}
	secret, ok := unwrap(args, body)
	if !ok {
		t.Fatalf("%s stanza does not open with %s", typ, keyFile)
	}
	return secret
}

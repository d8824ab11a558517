package seal

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping/identity/devpki"
)

// The test vectors of FORMAT.md: fixed keys (testdata/vectors/keys), a fixed random stream
// and fixed plaintexts give exactly the committed envelopes. Run `go test -update` to
// rewrite them after a deliberate format change; keys are generated only when missing.

const vectorDir = "testdata/vectors"

// vectorSpec is the input of one vector.
type vectorSpec struct {
	name       string
	suite      Suite
	recipients []string // key files under keys/, without ".pem"
	plaintext  []byte
	text       bool // the plaintext is UTF-8 text (recorded as such, not as a pattern size)
}

var vectorSpecs = []vectorSpec{
	{name: "aes256gcm-p256-rescue", suite: AES256GCM, recipients: []string{"p256", "rescue"},
		plaintext: []byte("开评测试向量：投标报价 1,234,567.89 元，工期 180 日历天。\n"), text: true},
	{name: "aes256gcm-rsa-empty", suite: AES256GCM, recipients: []string{"rsa", "rescue"}, plaintext: []byte{}},
	{name: "sm4gcm-sm2-rescue", suite: SM4GCM, recipients: []string{"sm2", "rescue"}, plaintext: pattern(ChunkSize + 1)},
	{name: "aes256gcm-all", suite: AES256GCM, recipients: []string{"p256", "rsa", "sm2", "rescue"}, plaintext: pattern(ChunkSize)},
	{name: "aes256gcm-rsa4096-rescue", suite: AES256GCM, recipients: []string{"rsa4096", "rescue"},
		plaintext: []byte("RSA-4096 接收方：开标一览表。\n"), text: true},
}

// vectorKeyNames are the key files under keys/: the recipient kinds every round trip covers,
// and a 4096-bit RSA certificate to show a body longer than 256 bytes.
var vectorKeyNames = append(append([]string(nil), partyNames...), "rsa4096")

// vectorBinding is the binding of every vector: UUIDs, as production uses.
var vectorBinding = Binding{
	Tender:  "0b6f3c4e-8d2a-4c1b-9e7f-5a3d2c1b0a99",
	Section: "5f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1",
	Bidder:  "9a8b7c6d-5e4f-4321-8fed-cba987654321",
	Kind:    Commercial,
}

// vectorRecord is the JSON written next to each envelope: inputs, then every intermediate
// value a second implementation needs to find its mistakes.
type vectorRecord struct {
	Description      string         `json:"description"`
	Seed             string         `json:"rand_seed"`
	Suite            Suite          `json:"suite"`
	Tender           string         `json:"tender"`
	Section          string         `json:"section"`
	Bidder           string         `json:"bidder"`
	Kind             EnvelopeKind   `json:"kind"`
	Recipients       []string       `json:"recipient_keys"`
	PlaintextText    *string        `json:"plaintext_text,omitempty"`
	PlaintextPattern *int           `json:"plaintext_pattern_size,omitempty"`
	PlaintextSHA256  string         `json:"plaintext_sha256"`
	RandomReads      []string       `json:"random_reads"`
	FileKey          string         `json:"file_key"`
	PayloadNonce     string         `json:"payload_nonce"`
	KeyCheck         string         `json:"key_check"`
	HeaderMACKey     string         `json:"header_mac_key"`
	PayloadKey       string         `json:"payload_key"`
	HeaderMAC        string         `json:"header_mac"`
	Stanzas          []stanzaRecord `json:"stanzas"`
	HeaderSize       int64          `json:"header_size"`
	Chunks           int            `json:"chunks"`
	EnvelopeSize     int            `json:"envelope_size"`
	EnvelopeSHA256   string         `json:"envelope_sha256"`
}

type stanzaRecord struct {
	Type        string `json:"type"`
	RecipientID string `json:"recipient_id"`
	// For the P-256 types: the ephemeral scalar, the ECDH shared secret and the HKDF
	// wrapping key.
	EphemeralScalar string `json:"ephemeral_scalar,omitempty"`
	SharedSecret    string `json:"shared_secret,omitempty"`
	WrapKey         string `json:"wrap_key,omitempty"`
	// For rsa-oaep-sha256: the steps of RFC 8017 §7.1.1 (EME-OAEP encoding), from the seed
	// drawn to the encoded message EM whose RSA encryption is the body.
	RSAModulusBits int    `json:"rsa_modulus_bits,omitempty"`
	OAEPSeed       string `json:"oaep_seed,omitempty"`
	OAEPDataBlock  string `json:"oaep_db,omitempty"`
	OAEPDBMask     string `json:"oaep_db_mask,omitempty"`
	OAEPMaskedDB   string `json:"oaep_masked_db,omitempty"`
	OAEPSeedMask   string `json:"oaep_seed_mask,omitempty"`
	OAEPMaskedSeed string `json:"oaep_masked_seed,omitempty"`
	OAEPEncodedMsg string `json:"oaep_encoded_message,omitempty"`
	// For sm2: the steps of GB/T 32918.4-2016 §6.1, from k to C3; the body is their DER
	// SM2Cipher.
	SM2K         string `json:"sm2_k,omitempty"`
	SM2C1        string `json:"sm2_c1,omitempty"`
	SM2KP        string `json:"sm2_x2y2,omitempty"`
	SM2KDFOutput string `json:"sm2_kdf_output,omitempty"`
	SM2C2        string `json:"sm2_c2,omitempty"`
	SM2C3        string `json:"sm2_c3,omitempty"`
}

// recordingRand logs every read, to show the order randomness is consumed in.
type recordingRand struct {
	r     io.Reader
	reads [][]byte
}

func (rr *recordingRand) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	rr.reads = append(rr.reads, bytes.Clone(p[:n]))
	return n, err
}

func TestVectors(t *testing.T) {
	keys := mustVectorKeys(t)
	for i, spec := range vectorSpecs {
		t.Run(spec.name, func(t *testing.T) {
			var to []*party
			for _, name := range spec.recipients {
				to = append(to, keys[name])
			}
			seed := "kaiping.org/seal/v1 test vector " + spec.name
			rr := &recordingRand{r: newDetRand(seed)}
			env := mustSeal(t, spec.plaintext, vectorBinding, to, WithSuite(spec.suite), WithRand(rr))
			rec := makeRecord(t, spec, seed, rr.reads, env, to)
			rec.Description = vectorDescription(i, spec)
			js, err := json.MarshalIndent(rec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			js = append(js, '\n')

			base := filepath.Join(vectorDir, spec.name)
			if *update {
				mustWrite(t, base+".seal", env)
				mustWrite(t, base+".json", js)
			}
			if want := mustRead(t, base+".seal"); !bytes.Equal(env, want) {
				t.Fatalf("sealing gives %d bytes (SHA-256 %s) that differ from %s.seal; run go test -update after a deliberate format change",
					len(env), rec.EnvelopeSHA256, base)
			}
			if want := mustRead(t, base+".json"); !bytes.Equal(js, want) {
				t.Fatalf("%s.json differs:\n%s", base, js)
			}

			// Independently of sealing: every recipient's key opens the committed envelope
			// to the committed file key and plaintext.
			for _, p := range to {
				key := mustFileKey(t, env, p)
				if hex.EncodeToString(key) != rec.FileKey {
					t.Fatalf("%s unwraps file key %x", p.name, key)
				}
			}
			var plain bytes.Buffer
			res, err := Decrypt(&plain, bytes.NewReader(env), mustHex(t, rec.FileKey))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain.Bytes(), spec.plaintext) || int(res.Chunks) != rec.Chunks {
				t.Fatal("plaintext or chunk count differs")
			}
		})
	}
}

func vectorDescription(i int, spec vectorSpec) string {
	return []string{
		"AES-256-GCM, a P-256 certificate and the rescue key, a short UTF-8 plaintext",
		"AES-256-GCM, an RSA-2048 certificate and the rescue key, empty plaintext (one empty final chunk)",
		"SM4-GCM (national mode), an SM2 certificate and the rescue key, 65537 bytes (a full chunk and a 1-byte final chunk)",
		"AES-256-GCM, all four recipient types, exactly 65536 bytes (one full final chunk)",
		"AES-256-GCM, an RSA-4096 certificate and the rescue key, a short UTF-8 plaintext",
	}[i]
}

func makeRecord(t *testing.T, spec vectorSpec, seed string, reads [][]byte, env []byte, to []*party) vectorRecord {
	t.Helper()
	h, off, err := ParseHeader(bytes.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	fileKey := reads[0]
	keys, err := deriveKeys(h.Suite, fileKey, h.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spec.plaintext)
	envSum := sha256.Sum256(env)
	rec := vectorRecord{
		Seed: seed, Suite: spec.suite,
		Tender: string(vectorBinding.Tender), Section: string(vectorBinding.Section),
		Bidder: string(vectorBinding.Bidder), Kind: vectorBinding.Kind,
		PlaintextSHA256: hex.EncodeToString(sum[:]),
		FileKey:         hex.EncodeToString(fileKey),
		PayloadNonce:    hex.EncodeToString(h.Nonce[:]),
		KeyCheck:        hex.EncodeToString(h.KeyCheck[:]),
		HeaderMACKey:    hex.EncodeToString(keys.macKey),
		PayloadKey:      hex.EncodeToString(keys.payload),
		HeaderMAC:       hex.EncodeToString(h.MAC),
		HeaderSize:      off,
		Chunks:          max(1, (len(spec.plaintext)+ChunkSize-1)/ChunkSize),
		EnvelopeSize:    len(env),
		EnvelopeSHA256:  hex.EncodeToString(envSum[:]),
	}
	for _, name := range spec.recipients {
		rec.Recipients = append(rec.Recipients, "keys/"+name+".pem")
	}
	if spec.text {
		s := string(spec.plaintext)
		rec.PlaintextText = &s
	} else {
		n := len(spec.plaintext)
		rec.PlaintextPattern = &n
	}
	for _, r := range reads {
		rec.RandomReads = append(rec.RandomReads, hex.EncodeToString(r))
	}
	if len(reads) != 2+len(to) {
		t.Fatalf("%d random reads for %d recipients; the vector record assumes one each", len(reads), len(to))
	}
	for i, s := range h.Stanzas {
		sr := stanzaRecord{Type: s.Type, RecipientID: s.RecipientID()}
		if s.Type == TypeX509P256 || s.Type == TypeRescueP256 {
			scalar := reads[2+i] // after the file key and the nonce, one read per recipient
			eph, err := ecdh.P256().NewPrivateKey(scalar)
			if err != nil {
				t.Fatal(err)
			}
			recipient := p256Public(t, to[i])
			shared, _ := eph.ECDH(recipient)
			info := infoX509P256
			if s.Type == TypeRescueP256 {
				info = infoRescueP256
			}
			wrapKey, _ := hkdf.Key(sha256.New, shared, append(eph.PublicKey().Bytes(), recipient.Bytes()...), info, 32)
			sr.EphemeralScalar = hex.EncodeToString(scalar)
			sr.SharedSecret = hex.EncodeToString(shared)
			sr.WrapKey = hex.EncodeToString(wrapKey)
		}
		switch s.Type {
		case TypeRSAOAEP:
			recordOAEP(t, &sr, to[i].cert.PublicKey.(*rsa.PublicKey), reads[2+i], fileKey, s.Body)
		case TypeSM2:
			recordSM2(t, &sr, to[i].cert.PublicKey.(*ecdsa.PublicKey), reads[2+i], fileKey, s.Body)
		}
		rec.Stanzas = append(rec.Stanzas, sr)
	}
	return rec
}

// p256Public is the public key of a P-256 party.
func p256Public(t *testing.T, p *party) *ecdh.PublicKey {
	t.Helper()
	switch k := p.key.(type) {
	case *ecdh.PrivateKey:
		return k.PublicKey()
	case *ecdsa.PrivateKey:
		pub, err := k.PublicKey.ECDH()
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}
	t.Fatalf("%s is not a P-256 key", p.name)
	return nil
}

// mustVectorKeys loads the committed vector keys, generating missing ones under -update.
func mustVectorKeys(t *testing.T) map[string]*party {
	t.Helper()
	dir := filepath.Join(vectorDir, "keys")
	out := map[string]*party{}
	for _, name := range vectorKeyNames {
		path := filepath.Join(dir, name+".pem")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) && *update {
			data = generateVectorKey(t, name)
			mustWrite(t, path, data)
		} else if err != nil {
			t.Fatal(err)
		}
		var cert *smx509.Certificate
		var key crypto.PrivateKey
		for rest := data; ; {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				break
			}
			switch block.Type {
			case "CERTIFICATE":
				if cert, err = smx509.ParseCertificate(block.Bytes); err != nil {
					t.Fatal(err)
				}
			case "PRIVATE KEY":
				if key, err = smx509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
					t.Fatal(err)
				}
			}
		}
		var p *party
		if name == "rescue" {
			dh, err := key.(*ecdsa.PrivateKey).ECDH()
			if err != nil {
				t.Fatal(err)
			}
			p, err = rescueParty(name, dh)
			if err != nil {
				t.Fatal(err)
			}
		} else if p, err = certParty(name, cert, key); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	return out
}

// generateVectorKey makes a key file: a certificate and its PKCS#8 key, or for the rescue
// key just the PKCS#8 P-256 key.
func generateVectorKey(t *testing.T, name string) []byte {
	t.Helper()
	alg := map[string]devpki.Algorithm{"p256": devpki.ECDSA, "rescue": devpki.ECDSA, "rsa": devpki.RSA, "sm2": devpki.SM2}[name]
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if name == "rsa4096" {
		// devpki issues RSA-2048 only; the CA signs a key made here.
		key, err := rsa.GenerateKey(rand.Reader, 4096)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := devpki.NewCA(devpki.ECDSA, "Kaiping Seal Test Vector CA", start)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := ca.IssueFor(key.Public(), "Test Vector Bidder "+name, "Kaiping Seal Test Vectors", start, start.AddDate(10, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		pemKey, err := devpki.KeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		return append(devpki.CertPEM(cert), pemKey...)
	}
	if name == "rescue" {
		key, err := devpki.NewKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		pemKey, err := devpki.KeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		return pemKey
	}
	ca, err := devpki.NewCA(devpki.ECDSA, "Kaiping Seal Test Vector CA", start)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ca.Issue(alg, "Test Vector Bidder "+name, "Kaiping Seal Test Vectors", start, start.AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := iss.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return append(iss.CertPEM(), pemKey...)
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	return b
}

func mustWrite(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

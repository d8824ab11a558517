package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
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
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestSpecMustFail runs a second reader, written from FORMAT.md §2.4, §4, §5, §6.1 and §7
// alone and sharing no code with the package, on every must-fail case and every vector: it
// must give each case's code and chunk index, and open every vector with every key. Where it
// and the package disagree, the specification does not say enough.
func TestSpecMustFail(t *testing.T) {
	var ff struct {
		Cases []struct {
			Name, Envelope, Identity, Error string
			ExpectedBinding                 *map[string]string `json:"expected_binding"`
			FileKeyHex                      string             `json:"file_key"`
			ChunkIndex                      *int64             `json:"chunk_index"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(vectorDir, "must-fail.json")), &ff); err != nil {
		t.Fatal(err)
	}
	for _, c := range ff.Cases {
		t.Run(c.Name, func(t *testing.T) {
			env, err := base64.StdEncoding.DecodeString(c.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			var binding map[string]string
			if c.ExpectedBinding != nil {
				binding = *c.ExpectedBinding
			}
			code, index := specRead(t, env, binding, c.Identity, c.FileKeyHex)
			if code != c.Error {
				t.Fatalf("the spec reader says %q, the case %q", code, c.Error)
			}
			if c.ChunkIndex != nil && index != *c.ChunkIndex {
				t.Fatalf("the spec reader names chunk %d, the case %d", index, *c.ChunkIndex)
			}
		})
	}
	for _, spec := range vectorSpecs {
		var rec vectorRecord
		if err := json.Unmarshal(mustRead(t, filepath.Join(vectorDir, spec.name+".json")), &rec); err != nil {
			t.Fatal(err)
		}
		env := mustRead(t, filepath.Join(vectorDir, spec.name+".seal"))
		for _, keyFile := range rec.Recipients {
			if code, _ := specRead(t, env, nil, keyFile, ""); code != "" {
				t.Errorf("%s with %s: the spec reader says %s", spec.name, keyFile, code)
			}
		}
		if code, _ := specRead(t, env, nil, "", rec.FileKey); code != "" {
			t.Errorf("%s with its file key: the spec reader says %s", spec.name, code)
		}
	}
}

// specRead follows §7 and returns the code of the first failure ("" for none) and, for the
// payload codes, the chunk index.
func specRead(t *testing.T, env []byte, binding map[string]string, keyFile, fileKeyHex string) (string, int64) {
	t.Helper()
	const (
		notEnvelope = "seal.not_envelope"
		version     = "seal.unsupported_version"
		malformed   = "seal.header_malformed"
		suiteCode   = "seal.unsupported_suite"
	)
	// §2.4 step 1.
	if len(env) < 17 || string(env[:17]) != "kaiping.org/seal/" {
		return notEnvelope, -1
	}
	// §2.4 step 2: reading a line.
	pos := 0
	bad := false
	line := func() string {
		i := bytes.IndexByte(env[pos:], '\n')
		if bad || i < 0 || i+1 > 1024 || pos+i+1 > 65536 || bytes.IndexByte(env[pos:pos+i], '\r') >= 0 {
			bad = true
			return ""
		}
		l := string(env[pos : pos+i])
		pos += i + 1
		return l
	}
	first := line()
	if bad {
		return malformed, -1
	}
	if first != "kaiping.org/seal/v1" { // step 3
		return version, -1
	}
	value := func(name string) (string, bool) {
		l := line()
		v, ok := strings.CutPrefix(l, name+" ")
		return v, ok && !bad
	}
	suite, ok := value("suite") // step 4
	if !ok {
		return malformed, -1
	}
	if suite != "aes256gcm" && suite != "sm4gcm" {
		return suiteCode, -1
	}
	b := map[string]string{"suite": suite}
	for _, name := range []string{"tender", "section", "bidder"} { // step 5
		v, ok := value(name)
		if !ok || !specID(v) {
			return malformed, -1
		}
		b[name] = v
	}
	kind, ok := value("kind")
	if !ok || (kind != "summary" && kind != "technical" && kind != "commercial") {
		return malformed, -1
	}
	b["kind"] = kind
	var nonce, keycheck []byte
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{"nonce", &nonce}, {"keycheck", &keycheck}} {
		v, ok := value(f.name)
		raw, canon := specB64(v)
		if !ok || !canon || len(raw) != 16 {
			return malformed, -1
		}
		*f.dst = raw
	}
	type stanza struct {
		typ  string
		args []string
		body []byte
	}
	var stanzas []stanza
	seen := map[string]bool{}
	known := map[string]bool{"x509-p256": true, "rescue-p256": true, "rsa-oaep-sha256": true, "sm2": true}
	var covered, mac []byte
	for { // step 6
		start := pos
		l := line()
		if bad {
			return malformed, -1
		}
		if v, ok := strings.CutPrefix(l, "--- "); ok { // step 7
			raw, canon := specB64(v)
			if len(stanzas) == 0 || !canon || len(raw) != 32 {
				return malformed, -1
			}
			covered, mac = env[:start+3], raw
			break
		}
		rest, ok := strings.CutPrefix(l, "-> ")
		if !ok || len(stanzas) == 16 {
			return malformed, -1
		}
		fields := strings.Split(rest, " ")
		for _, f := range fields {
			if f == "" || strings.IndexFunc(f, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
				return malformed, -1
			}
		}
		s := stanza{typ: fields[0], args: fields[1:], body: []byte{}}
		for {
			bl := line()
			raw, canon := specB64(bl)
			if bad || len(bl) > 64 || !canon {
				return malformed, -1
			}
			s.body = append(s.body, raw...)
			if len(bl) < 64 {
				break
			}
		}
		if known[s.typ] { // §5, then §2.3
			nargs := map[string]int{"x509-p256": 2, "rescue-p256": 2, "rsa-oaep-sha256": 1, "sm2": 1}[s.typ]
			if len(s.args) != nargs || !specHexID(s.args[0]) {
				return malformed, -1
			}
			switch s.typ {
			case "x509-p256", "rescue-p256":
				e, canon := specB64(s.args[1])
				if !canon || len(e) != 65 || len(s.body) != 48 {
					return malformed, -1
				}
				if _, err := ecdh.P256().NewPublicKey(e); err != nil {
					return malformed, -1
				}
			case "rsa-oaep-sha256":
				if len(s.body) < 256 || len(s.body) > 1024 {
					return malformed, -1
				}
			case "sm2":
				if len(s.body) == 0 || len(s.body) > 512 || s.body[0] != 0x30 {
					return malformed, -1
				}
			}
			if seen[s.args[0]] {
				return malformed, -1
			}
			seen[s.args[0]] = true
		}
		stanzas = append(stanzas, s)
	}
	payload := env[pos:]

	// §7 step 2: the binding the server expects.
	for k, v := range binding {
		if b[k] != v {
			return "seal.binding_mismatch", -1
		}
	}

	// §7 step 3: the file key.
	var fileKey []byte
	switch {
	case keyFile != "":
		id, typ, unwrap := specIdentity(t, keyFile)
		var found *stanza
		for i := range stanzas {
			if known[stanzas[i].typ] && stanzas[i].args[0] == id {
				found = &stanzas[i]
			}
		}
		if found == nil {
			return "seal.no_stanza", -1
		}
		if found.typ != typ {
			return malformed, -1
		}
		var ok bool
		if fileKey, ok = unwrap(found.args, found.body); !ok || len(fileKey) != 32 {
			return "seal.wrong_key", -1
		}
	case fileKeyHex != "":
		if fileKey = mustHex(t, fileKeyHex); len(fileKey) != 32 {
			return "seal.wrong_key", -1
		}
	default:
		t.Fatal("the header parses, and there is no key to go further with")
	}

	// §7 step 4, §4.
	H, keyLen, newBlock := sha256.New, 32, aes.NewCipher
	if suite == "sm4gcm" {
		H, keyLen, newBlock = func() hash.Hash { return sm3.New() }, 16, sm4.NewCipher
	}
	derive := func(salt []byte, info string, n int) []byte {
		k, err := hkdf.Key(H, fileKey, salt, "kaiping.org/seal/v1/"+info, n)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if !bytes.Equal(derive(nil, "keycheck", 16), keycheck) {
		return "seal.wrong_key", -1
	}
	m := hmac.New(H, derive(nil, "header", 32))
	m.Write(covered)
	if !hmac.Equal(m.Sum(nil), mac) {
		return "seal.header_mac", -1
	}

	// §7 step 5, §6.1.
	block, err := newBlock(derive(nonce, "payload", keyLen))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	const piece = 65536 + 16
	for i, off := int64(0), 0; ; i, off = i+1, off+piece {
		p := payload[off:min(off+piece, len(payload))]
		last := len(p) < piece || off+piece == len(payload)
		open := func(flag byte) ([]byte, bool) {
			n := make([]byte, 12)
			binary.BigEndian.PutUint64(n[3:11], uint64(i))
			n[11] = flag
			pt, err := gcm.Open(nil, n, p, nil)
			return pt, err == nil
		}
		if !last {
			if _, ok := open(0); ok {
				continue
			}
			if _, ok := open(1); ok {
				return "seal.trailing_data", i
			}
			return "seal.chunk_auth", i
		}
		if len(p) < 16 {
			return "seal.truncated", i
		}
		if pt, ok := open(1); ok {
			if len(pt) == 0 && i > 0 {
				return "seal.payload_malformed", i
			}
			return "", -1
		}
		if _, ok := open(0); ok && len(p) == piece {
			return "seal.truncated", i + 1
		}
		return "seal.chunk_auth", i
	}
}

// specIdentity reads a key file and returns the holder's recipient identifier, the stanza
// type its key uses (§5) and how it unwraps (§5.1–5.4).
func specIdentity(t *testing.T, keyFile string) (string, string, func(args []string, body []byte) ([]byte, bool)) {
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
	p256 := func(info string, priv *ecdh.PrivateKey) func([]string, []byte) ([]byte, bool) {
		return func(args []string, body []byte) ([]byte, bool) {
			e, _ := base64.RawStdEncoding.DecodeString(args[1])
			eph, err := ecdh.P256().NewPublicKey(e)
			if err != nil {
				t.Fatal("an ephemeral key checked when parsing does not decode")
			}
			z, err := priv.ECDH(eph)
			if err != nil {
				return nil, false
			}
			k, _ := hkdf.Key(sha256.New, z, append(e, priv.PublicKey().Bytes()...), info, 32)
			block, _ := aes.NewCipher(k)
			gcm, _ := cipher.NewGCM(block)
			secret, err := gcm.Open(nil, make([]byte, 12), body, nil)
			return secret, err == nil
		}
	}
	if certDER == nil { // the rescue key
		priv, err := key.(*ecdsa.PrivateKey).ECDH()
		if err != nil {
			t.Fatal(err)
		}
		spki := append(mustHex(t, "3059301306072a8648ce3d020106082a8648ce3d030107034200"), priv.PublicKey().Bytes()...)
		id := sha256.Sum256(spki)
		return hex.EncodeToString(id[:]), "rescue-p256", p256("kaiping.org/seal/v1/rescue-p256", priv)
	}
	fp := sha256.Sum256(certDER)
	id := hex.EncodeToString(fp[:])
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return id, "rsa-oaep-sha256", func(_ []string, body []byte) ([]byte, bool) {
			if len(body) != k.Size() {
				return nil, false
			}
			secret, err := rsa.DecryptOAEP(sha256.New(), nil, k, body, nil)
			return secret, err == nil
		}
	case *sm2.PrivateKey:
		return id, "sm2", func(_ []string, body []byte) ([]byte, bool) { return specSM2Decrypt(k, body) }
	case *ecdsa.PrivateKey:
		priv, err := k.ECDH()
		if err != nil {
			t.Fatal(err)
		}
		return id, "x509-p256", p256("kaiping.org/seal/v1/x509-p256", priv)
	}
	t.Fatalf("%s: key of type %T", keyFile, key)
	return "", "", nil
}

// specSM2Decrypt is §5.4's unwrap with its checks, on the curve arithmetic alone.
func specSM2Decrypt(k *sm2.PrivateKey, body []byte) ([]byte, bool) {
	var (
		seq      cryptobyte.String
		x1, y1   = new(big.Int), new(big.Int)
		c3, c2   []byte
		in                      = cryptobyte.String(body)
		curve                   = sm2.P256()
		p                       = curve.Params().P
		inCurve                 = func(v *big.Int) bool { return v.Sign() >= 0 && v.Cmp(p) < 0 }
		byteLen                 = 32
		to32                    = func(v *big.Int) []byte { return v.FillBytes(make([]byte, byteLen)) }
		ecCurve  elliptic.Curve = curve
		zeroTest                = func(b []byte) bool { return subtle.ConstantTimeCompare(b, make([]byte, len(b))) == 1 }
	)
	if len(body) <= 65 ||
		!in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(x1) || !seq.ReadASN1Integer(y1) ||
		!seq.ReadASN1Bytes(&c3, cbasn1.OCTET_STRING) || !seq.ReadASN1Bytes(&c2, cbasn1.OCTET_STRING) ||
		!seq.Empty() {
		return nil, false
	}
	//lint:ignore SA1019 an SM2 curve (gmsm) has only the elliptic.Curve API; this second reader works from the spec with big integers
	if !inCurve(x1) || !inCurve(y1) || !ecCurve.IsOnCurve(x1, y1) {
		return nil, false
	}
	//lint:ignore SA1019 an SM2 curve (gmsm) has only the elliptic.Curve API; this second reader works from the spec with big integers
	x2, y2 := ecCurve.ScalarMult(x1, y1, k.D.Bytes())
	x2y2 := append(to32(x2), to32(y2)...)
	tKDF := sm3KDF(x2y2, len(c2))
	if zeroTest(tKDF) {
		return nil, false
	}
	msg := make([]byte, len(c2))
	subtle.XORBytes(msg, c2, tKDF)
	h := sm3.New()
	h.Write(x2y2[:32])
	h.Write(msg)
	h.Write(x2y2[32:])
	if subtle.ConstantTimeCompare(h.Sum(nil), c3) != 1 {
		return nil, false
	}
	return msg, true
}

// specID is §2.1's ID: 1 to 64 bytes of A-Z a-z 0-9 . _ -.
func specID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == ""
}

// specHexID is §5's recipient identifier: 64 lowercase hex digits.
func specHexID(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// specB64 decodes §1's base64 and says whether s was canonical.
func specB64(s string) ([]byte, bool) {
	if strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != "" {
		return nil, false
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	return b, err == nil
}

package seal

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// The intermediate values of the RSA and SM2 stanzas in the test vectors (FORMAT.md §9),
// computed here from the drawn randomness with big-integer arithmetic and the hashes alone,
// then checked against the stanza body the package wrote: a reimplementer can follow the
// wrap step by step, and a disagreement here means the spec's description is wrong.

// recordOAEP fills in RSAES-OAEP-ENCRYPT (RFC 8017 §7.1.1) with SHA-256, MGF1-SHA-256 and an
// empty label, for the seed the package drew, and checks that EM^e mod n is the body.
func recordOAEP(t *testing.T, sr *stanzaRecord, pub *rsa.PublicKey, seed, secret, body []byte) {
	t.Helper()
	k, hLen := pub.Size(), sha256.Size
	lHash := sha256.Sum256(nil)
	db := make([]byte, 0, k-hLen-1) // lHash || PS || 0x01 || M
	db = append(db, lHash[:]...)
	db = append(db, make([]byte, k-len(secret)-2*hLen-2)...)
	db = append(db, 0x01)
	db = append(db, secret...)
	dbMask := mgf1SHA256(seed, k-hLen-1)
	maskedDB := xorBytes(db, dbMask)
	seedMask := mgf1SHA256(maskedDB, hLen)
	maskedSeed := xorBytes(seed, seedMask)
	em := append(append([]byte{0x00}, maskedSeed...), maskedDB...)

	c := new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(pub.E)), pub.N)
	if !bytes.Equal(c.FillBytes(make([]byte, k)), body) {
		t.Fatalf("rsa-oaep-sha256: EM^e mod n differs from the stanza body")
	}
	sr.RSAModulusBits = pub.N.BitLen()
	sr.OAEPSeed = hex.EncodeToString(seed)
	sr.OAEPDataBlock = hex.EncodeToString(db)
	sr.OAEPDBMask = hex.EncodeToString(dbMask)
	sr.OAEPMaskedDB = hex.EncodeToString(maskedDB)
	sr.OAEPSeedMask = hex.EncodeToString(seedMask)
	sr.OAEPMaskedSeed = hex.EncodeToString(maskedSeed)
	sr.OAEPEncodedMsg = hex.EncodeToString(em)
}

// mgf1SHA256 is MGF1 (RFC 8017 §B.2.1) with SHA-256.
func mgf1SHA256(seed []byte, n int) []byte {
	var out []byte
	for ctr := uint32(0); len(out) < n; ctr++ {
		h := sha256.New()
		h.Write(seed)
		h.Write(binary.BigEndian.AppendUint32(nil, ctr))
		out = h.Sum(out)
	}
	return out[:n]
}

// recordSM2 fills in SM2 encryption (GB/T 32918.4-2016 §6.1) for the k the package drew and
// checks that the body is the DER SM2Cipher { x1, y1, C3, C2 } of GM/T 0009-2012 §7.2.
func recordSM2(t *testing.T, sr *stanzaRecord, pub *ecdsa.PublicKey, kBytes, secret, body []byte) {
	t.Helper()
	curve := sm2.P256()
	k := new(big.Int).SetBytes(kBytes)
	if k.Sign() == 0 || k.Cmp(curve.Params().N) >= 0 {
		t.Fatalf("sm2: the vector's k is out of range; the record assumes one draw")
	}
	//lint:ignore SA1019 an SM2 curve (gmsm) has only the elliptic.Curve API; this second reader works from the spec with big integers
	x1, y1 := curve.ScalarBaseMult(kBytes) // C1 = kG
	//lint:ignore SA1019 an SM2 curve (gmsm) has only the elliptic.Curve API; this second reader works from the spec with big integers
	x2, y2 := curve.ScalarMult(pub.X, pub.Y, kBytes) // (x2, y2) = kP
	x2y2 := append(x2.FillBytes(make([]byte, 32)), y2.FillBytes(make([]byte, 32))...)
	tKDF := sm3KDF(x2y2, len(secret))
	if subtle.ConstantTimeCompare(tKDF, make([]byte, len(tKDF))) == 1 {
		t.Fatalf("sm2: all-zero KDF output; the record assumes one draw")
	}
	c2 := xorBytes(secret, tKDF)
	h := sm3.New()
	h.Write(x2y2[:32])
	h.Write(secret)
	h.Write(x2y2[32:])
	c3 := h.Sum(nil)
	der, err := asn1.Marshal(struct {
		X, Y       *big.Int
		Hash       []byte
		CipherText []byte
	}{x1, y1, c3, c2})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(der, body) {
		t.Fatalf("sm2: the DER SM2Cipher of the computed C1, C3, C2 differs from the stanza body")
	}
	c1 := append([]byte{0x04}, append(x1.FillBytes(make([]byte, 32)), y1.FillBytes(make([]byte, 32))...)...)
	sr.SM2K = hex.EncodeToString(kBytes)
	sr.SM2C1 = hex.EncodeToString(c1)
	sr.SM2KP = hex.EncodeToString(x2y2)
	sr.SM2KDFOutput = hex.EncodeToString(tKDF)
	sr.SM2C2 = hex.EncodeToString(c2)
	sr.SM2C3 = hex.EncodeToString(c3)
}

// sm3KDF is the key derivation function of GB/T 32918.4-2016 §5.4.3: SM3(Z || ct) for a
// 32-bit big-endian counter ct from 1, concatenated and cut to n bytes.
func sm3KDF(z []byte, n int) []byte {
	var out []byte
	for ct := uint32(1); len(out) < n; ct++ {
		h := sm3.New()
		h.Write(z)
		h.Write(binary.BigEndian.AppendUint32(nil, ct))
		out = h.Sum(out)
	}
	return out[:n]
}

func xorBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	subtle.XORBytes(out, a, b)
	return out
}

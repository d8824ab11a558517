package token

import (
	"crypto/subtle"
	"errors"
	"hash"
)

// decodeOAEP is EME-OAEP decoding (RFC 8017 §7.1.2 step 3) of em, the raw RSA result
// padded to the modulus length, with label hash h and MGF1 hash mgf. Like crypto/rsa it
// checks the leading zero byte, the label hash and the 0x01 separator without branching on
// any of them, and reports every failure the same way, so that timing and errors tell an
// attacker nothing about which check failed (Manger's attack).
func decodeOAEP(h, mgf hash.Hash, em, label []byte) ([]byte, error) {
	hLen := h.Size()
	if len(em) < 2*hLen+2 {
		return nil, errDecrypt(errors.New("modulus too short for OAEP with this hash"))
	}
	h.Write(label)
	lHash := h.Sum(nil)

	firstByteIsZero := subtle.ConstantTimeByteEq(em[0], 0)
	seed := em[1 : hLen+1]
	db := em[hLen+1:]
	mgf1XOR(seed, mgf, db)
	mgf1XOR(db, mgf, seed)
	lHashGood := subtle.ConstantTimeCompare(lHash, db[:hLen])

	// The rest of db is PS (zeros), 0x01, then the message. Find the 0x01 without
	// revealing where it is, and flag any nonzero byte before it.
	var lookingForIndex, index, invalid int
	lookingForIndex = 1
	rest := db[hLen:]
	for i := range rest {
		equals0 := subtle.ConstantTimeByteEq(rest[i], 0)
		equals1 := subtle.ConstantTimeByteEq(rest[i], 1)
		index = subtle.ConstantTimeSelect(lookingForIndex&equals1, i, index)
		lookingForIndex = subtle.ConstantTimeSelect(equals1, 0, lookingForIndex)
		invalid = subtle.ConstantTimeSelect(lookingForIndex&^equals0, 1, invalid)
	}
	if firstByteIsZero&lHashGood&^invalid&^lookingForIndex != 1 {
		return nil, errDecrypt(errors.New("OAEP decoding failed"))
	}
	return append([]byte(nil), rest[index+1:]...), nil
}

// mgf1XOR XORs out with MGF1 (RFC 8017 §B.2.1) of seed under h.
func mgf1XOR(out []byte, h hash.Hash, seed []byte) {
	var counter [4]byte
	var digest []byte
	done := 0
	for done < len(out) {
		h.Reset()
		h.Write(seed)
		h.Write(counter[:])
		digest = h.Sum(digest[:0])
		for i := 0; i < len(digest) && done < len(out); i++ {
			out[done] ^= digest[i]
			done++
		}
		for i := 3; i >= 0; i-- {
			counter[i]++
			if counter[i] != 0 {
				break
			}
		}
	}
}

package rescue

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// TestVerifyShareTampered: each holder (SM2, ECDSA P-256, RSA) detects a share that was
// altered on its way to them.
func TestVerifyShareTampered(t *testing.T) {
	ths := mustHolders(t, 5)
	s := mustSplit(t, 3, ths)
	genuine := mustShares(t, s, ths)
	for h := range 3 {
		th, es, sh := ths[h], s.Shares[h], genuine[h]
		t.Run(string(mixedAlgs[h]), func(t *testing.T) {
			tests := []struct {
				name  string
				es    EncryptedShare
				index int // the index the error names
			}{
				{"ciphertext altered", func() EncryptedShare {
					bad := es
					bad.Stanza.Body = bytes.Clone(es.Stanza.Body)
					bad.Stanza.Body[len(bad.Stanza.Body)/2] ^= 0x01
					return bad
				}(), sh.Index},
				{"value altered and re-encrypted", rewrap(t, th, es, plusOne(t, sh)), sh.Index},
				{"relabelled with another index", func() EncryptedShare {
					bad := es
					bad.Index = sh.Index%5 + 1
					return bad
				}(), sh.Index%5 + 1},
				{"index altered inside and out, re-encrypted", func() EncryptedShare {
					moved := Share{KeyID: sh.KeyID, Index: sh.Index%5 + 1, Value: sh.Value}
					bad := rewrap(t, th, es, moved)
					bad.Index = moved.Index
					return bad
				}(), sh.Index%5 + 1},
				{"another holder's share", s.Shares[(h+1)%5], (h+1)%5 + 1},
				{"not a share, encrypted to the holder", func() EncryptedShare {
					st, err := seal.WrapSecret(rand.Reader, th.Certificate, []byte("这不是补救密钥份额"))
					if err != nil {
						t.Fatal(err)
					}
					bad := es
					bad.Stanza = st
					return bad
				}(), sh.Index},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := VerifyShare(tt.es, mustIdentity(t, th), s.Commitments, s.PublicKey)
					wantShareError(t, err, tt.index)
					if got.Value != nil {
						t.Fatal("a refused share was returned")
					}
				})
			}
		})
	}
}

// TestVerifyShareAnotherSetup: a share of another tender's rescue key is refused, however
// it is relabelled.
func TestVerifyShareAnotherSetup(t *testing.T) {
	ths := mustHolders(t, 3)
	a, b := mustSplit(t, 2, ths), mustSplit(t, 2, ths)
	bShare := mustShares(t, b, ths)[0]
	id := mustIdentity(t, ths[0])

	tests := []struct {
		name string
		es   EncryptedShare
	}{
		{"as delivered", b.Shares[0]},
		{"relabelled with this key ID", func() EncryptedShare {
			es := b.Shares[0]
			es.KeyID = a.KeyID
			return es
		}()},
		{"re-encrypted claiming this key ID", rewrap(t, ths[0], a.Shares[0],
			Share{KeyID: a.KeyID, Index: bShare.Index, Value: bShare.Value})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyShare(tt.es, id, a.Commitments, a.PublicKey)
			wantShareError(t, err, 1)
		})
	}
}

// TestVerifyShareSetup: a holder refuses public parameters that do not fit together, and a
// share checked against altered commitments fails.
func TestVerifyShareSetup(t *testing.T) {
	ths := mustHolders(t, 3)
	s, other := mustSplit(t, 3, ths), mustSplit(t, 3, ths)
	id := mustIdentity(t, ths[1])
	p384, err := ecdh.P384().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	points := func(edit func(p [][]byte) [][]byte) Commitments {
		p := make([][]byte, len(s.Commitments.Points))
		for i := range p {
			p[i] = bytes.Clone(s.Commitments.Points[i])
		}
		return Commitments{Points: edit(p)}
	}
	tests := []struct {
		name string
		c    Commitments
		pub  *ecdh.PublicKey
		code string
	}{
		{"commitments of another setup", other.Commitments, s.PublicKey, CodeSetupInvalid},
		{"no public key", s.Commitments, nil, CodeSetupInvalid},
		{"P-384 public key", s.Commitments, p384.PublicKey(), CodeSetupInvalid},
		{"one commitment", points(func(p [][]byte) [][]byte { return p[:1] }), s.PublicKey, CodeSetupInvalid},
		{"point off the curve", points(func(p [][]byte) [][]byte { p[1][64] ^= 1; return p }), s.PublicKey, CodeSetupInvalid},
		{"point compressed", points(func(p [][]byte) [][]byte { p[2] = append([]byte{2 + p[2][64]&1}, p[2][1:33]...); return p }), s.PublicKey, CodeSetupInvalid},
		{"point at infinity", points(func(p [][]byte) [][]byte { p[2] = []byte{0}; return p }), s.PublicKey, CodeSetupInvalid},
		// Well-formed, but not the polynomial the shares lie on: the Feldman check catches it.
		{"commitment replaced", points(func(p [][]byte) [][]byte { p[1] = other.Commitments.Points[1]; return p }), s.PublicKey, CodeShareInvalid},
		{"lower threshold published", points(func(p [][]byte) [][]byte { return p[:2] }), s.PublicKey, CodeShareInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyShare(s.Shares[1], id, tt.c, tt.pub)
			wantCode(t, err, kaiping.KindInvalid, tt.code)
		})
	}
}

func TestShareWipe(t *testing.T) {
	ths := mustHolders(t, 2)
	s := mustSplit(t, 2, ths)
	sh := mustShares(t, s, ths)[0]
	v := sh.Value
	sh.Wipe()
	if sh.Value != nil || !bytes.Equal(v, make([]byte, scalarSize)) {
		t.Fatalf("after Wipe the value is %x", v)
	}
}

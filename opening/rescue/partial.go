package rescue

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/secretsharing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// Threshold decryption of one rescue stanza (RESCUE.md §2). A rescue stanza carries an
// ephemeral point E; opening it needs the X coordinate of s·E, where s is the rescue scalar.
// Holder i computes D_i = s_i·E on their own machine from their share s_i and proves with a
// Chaum–Pedersen proof that log_G(Y_i) = log_E(D_i), where Y_i = s_i·G is computable by
// anyone from the Feldman commitments. The server checks the proofs and, with k of them,
// computes s·E = Σ λ_i·D_i (Lagrange in the exponent). The scalar s is never rebuilt and a
// share never leaves its holder: what reaches the server, a partial, opens only the stanza
// whose E it was computed for.

// Domain-separation tags of the proof (RESCUE.md §2.2). Changing either changes every proof.
const (
	// dleqDST is the RFC 9380 domain-separation tag of the Fiat–Shamir challenge.
	dleqDST = "kaiping.org/rescue/v1/dleq"
	// nonceDST is the tag of the hedged nonce: a weak random source on a supervisor's
	// machine still gives a nonce nobody can predict without the share.
	nonceDST = "kaiping.org/rescue/v1/dleq-nonce"
	// transcriptLabel starts every challenge transcript.
	transcriptLabel = "kaiping.org/rescue/v1/partial"
)

// proofSize is a proof's encoding: challenge c and response z, 32 bytes each, big-endian.
const proofSize = 2 * scalarSize

// maxEnvelopeID bounds the envelope ID in a transcript (seal's ID grammar allows 64 bytes).
const maxEnvelopeID = 64

// Partial is holder Index's partial decryption of the rescue stanza of one envelope:
// D_i = s_i·E and a proof that it was computed with the share committed to. It is not a
// share: from D_i and E nobody can get s_i (that is the discrete logarithm), and k partials
// of one stanza give s·E for that E only, which opens that stanza and no other. Fewer than k
// say nothing useful about s·E (computing it from them is as hard as the ECDH that protects
// every stanza). So partials may be stored until their envelope is rescued.
type Partial struct {
	// Envelope is the envelope whose rescue stanza E belongs to; the proof binds it.
	Envelope kaiping.ID `json:"envelope_id"`
	// Index is the holder's share index, 1 to MaxHolders; the proof binds it.
	Index int `json:"index"`
	// Point is D_i = s_i·E, a 65-byte uncompressed SEC 1 P-256 point.
	Point []byte `json:"point"`
	// Proof is the Chaum–Pedersen proof c || z, 64 bytes.
	Proof []byte `json:"proof"`
}

// PartialDecrypt is what a holder's client computes for one envelope: D_i = s_i·E, where E
// (eph) is the 65-byte ephemeral point of the envelope's rescue stanza, with its proof. The
// share s is secret and stays on the holder's machine; check it with VerifyShare first. rand
// feeds the proof's nonce, hedged with the share and the statement so that a weak source
// does not leak the share. Bad input is rescue.partial_invalid.
func PartialDecrypt(rand io.Reader, s Share, envelope kaiping.ID, eph []byte) (Partial, error) {
	if s.Index < 1 || s.Index > MaxHolders || len(s.Value) != scalarSize {
		return Partial{}, errPartial(s.Index, "份额格式错误")
	}
	if len(envelope) == 0 || len(envelope) > maxEnvelopeID {
		return Partial{}, errPartial(s.Index, "投标文件标识为空或过长")
	}
	e, err := parsePoint(eph)
	if err != nil {
		return Partial{}, errPartial(s.Index, "补救段落的临时公钥不是有效的 P-256 点")
	}
	si := group.P256.NewScalar()
	defer wipeScalar(si)
	if err := si.UnmarshalBinary(s.Value); err != nil || si.IsZero() {
		return Partial{}, errPartial(s.Index, "份额值不是有效的 P-256 标量")
	}
	y := group.P256.NewElement().MulGen(si)
	d := group.P256.NewElement().Mul(e, si)
	st := statement{keyID: s.KeyID, envelope: envelope, index: s.Index, y: y, e: e, d: d}

	// r = H(s_i || 32 random bytes || statement): fresh per proof with a good source, and
	// still secret with a broken one.
	var noise [32]byte
	if _, err := io.ReadFull(rand, noise[:]); err != nil {
		return Partial{}, kaiping.Internal("rescue.PartialDecrypt", fmt.Errorf("random source: %w", err))
	}
	seed := make([]byte, 0, scalarSize+len(noise)+256)
	seed = append(append(append(seed, s.Value...), noise[:]...), st.encode(nil, nil)...)
	r := group.P256.HashToScalar(seed, []byte(nonceDST))
	clear(seed)
	defer wipeScalar(r)

	a := group.P256.NewElement().MulGen(r)
	b := group.P256.NewElement().Mul(e, r)
	c := group.P256.HashToScalar(st.encode(a, b), []byte(dleqDST))
	z := group.P256.NewScalar().Mul(c, si)
	z.Add(z, r)
	defer wipeScalar(z)

	cb, _ := c.MarshalBinary()
	zb, _ := z.MarshalBinary()
	db, _ := d.MarshalBinary()
	return Partial{Envelope: envelope, Index: s.Index, Point: db, Proof: append(cb, zb...)}, nil
}

// VerifyPartial checks a partial against the tender's public parameters (commitments c of
// the public key pub) and the stanza's ephemeral point eph: that D_i is a point, and that
// its proof shows log_G(Y_i) = log_E(D_i) for the holder's public share Y_i = Σ C_j·i^j,
// bound to this key, this envelope and this index. Any failure is rescue.partial_invalid
// (rescue.setup_invalid for bad public parameters).
func VerifyPartial(p Partial, eph []byte, c Commitments, pub *ecdh.PublicKey) error {
	keyID, points, err := parseSetup(c, pub)
	if err != nil {
		return err
	}
	_, err = verifyPartial(p, keyID, points, eph)
	return err
}

// verifyPartial checks p and returns D_i as a group element.
func verifyPartial(p Partial, keyID string, points secretsharing.SecretCommitment, eph []byte) (group.Element, error) {
	if p.Index < 1 || p.Index > MaxHolders {
		return nil, errPartial(p.Index, "份额编号超出范围")
	}
	if len(p.Envelope) == 0 || len(p.Envelope) > maxEnvelopeID {
		return nil, errPartial(p.Index, "投标文件标识为空或过长")
	}
	e, err := parsePoint(eph)
	if err != nil {
		return nil, errPartial(p.Index, "补救段落的临时公钥不是有效的 P-256 点")
	}
	d, err := parsePoint(p.Point)
	if err != nil {
		return nil, errPartial(p.Index, "部分解密值不是 65 字节的未压缩 P-256 点")
	}
	if len(p.Proof) != proofSize {
		return nil, errPartial(p.Index, "证明长度不对")
	}
	c, z := group.P256.NewScalar(), group.P256.NewScalar()
	// circl refuses scalars not below the group order: one encoding per proof.
	if c.UnmarshalBinary(p.Proof[:scalarSize]) != nil || z.UnmarshalBinary(p.Proof[scalarSize:]) != nil {
		return nil, errPartial(p.Index, "证明不是有效的 P-256 标量")
	}
	y := holderKey(points, p.Index)
	// A = z·G − c·Y_i and B = z·E − c·D_i are the prover's commitments when the proof holds.
	a := group.P256.NewElement().MulGen(z)
	a.Add(a, group.P256.NewElement().Neg(group.P256.NewElement().Mul(y, c)))
	b := group.P256.NewElement().Mul(e, z)
	b.Add(b, group.P256.NewElement().Neg(group.P256.NewElement().Mul(d, c)))
	st := statement{keyID: keyID, envelope: p.Envelope, index: p.Index, y: y, e: e, d: d}
	if !group.P256.HashToScalar(st.encode(a, b), []byte(dleqDST)).IsEqual(c) {
		return nil, errPartial(p.Index, "证明不成立：部分解密值不是用所持份额对此投标文件的补救段落算出的")
	}
	return d, nil
}

// HolderKey returns Y_i = s_i·G of share index, computed from the commitments alone
// (Σ C_j·index^j): what a partial's proof is checked against.
func HolderKey(c Commitments, pub *ecdh.PublicKey, index int) ([]byte, error) {
	_, points, err := parseSetup(c, pub)
	if err != nil {
		return nil, err
	}
	if index < 1 || index > MaxHolders {
		return nil, errPartial(index, "份额编号超出范围")
	}
	return holderKey(points, index).MarshalBinary()
}

// holderKey evaluates the committed polynomial in the exponent at index, by Horner's rule.
func holderKey(points secretsharing.SecretCommitment, index int) group.Element {
	x := group.P256.NewScalar().SetUint64(uint64(index))
	y := group.P256.Identity()
	for j := len(points) - 1; j >= 0; j-- {
		y.Mul(y, x)
		y.Add(y, points[j])
	}
	return y
}

// CombinePartials computes s·E for one envelope's rescue stanza from holders' partials, with
// Lagrange coefficients in the exponent; eph is the stanza's E. Every partial is checked
// first (VerifyPartial; the first bad one is rescue.partial_invalid, naming its index) and
// must be for the same envelope; partials with one index count once. With fewer than k
// distinct indices it is rescue.not_enough_partials.
//
// The result opens that one stanza and nothing else: its ECDH answers only for E. Call Wipe
// when the stanza is open.
func CombinePartials(ps []Partial, eph []byte, c Commitments, pub *ecdh.PublicKey) (*StanzaKey, error) {
	keyID, points, err := parseSetup(c, pub)
	if err != nil {
		return nil, err
	}
	k := len(points)
	var xs []int
	var ds []group.Element
	seen := make(map[int]bool, len(ps))
	for _, p := range ps {
		if p.Envelope != ps[0].Envelope {
			return nil, errPartial(p.Index, "部分解密值属于另一份投标文件")
		}
		d, err := verifyPartial(p, keyID, points, eph)
		if err != nil {
			return nil, err
		}
		// Two valid partials with one index are equal (the proof fixes D_i given Y_i and E).
		if seen[p.Index] {
			continue
		}
		seen[p.Index] = true
		xs, ds = append(xs, p.Index), append(ds, d)
	}
	if len(xs) < k {
		return nil, errNotEnoughPartials(len(xs), k)
	}
	sum := interpolate(xs[:k], ds[:k])
	// s ≠ 0 and E is not the identity, so s·E is a point; the identity here is a bug.
	if sum.IsIdentity() {
		return nil, kaiping.Internal("rescue.CombinePartials", fmt.Errorf("combined point is the identity"))
	}
	b, err := sum.MarshalBinary()
	if err != nil {
		return nil, kaiping.Internal("rescue.CombinePartials", err)
	}
	defer clear(b)
	return &StanzaKey{id: keyID, pub: pub, eph: bytes.Clone(eph), x: bytes.Clone(b[1 : 1+scalarSize])}, nil
}

// interpolate is Σ λ_i·D_i: the value at 0, in the exponent, of the polynomial through the
// points (xs[i], ds[i]). With k partials of one stanza it is s·E.
func interpolate(xs []int, ds []group.Element) group.Element {
	sum := group.P256.Identity()
	for i := range xs {
		sum.Add(sum, group.P256.NewElement().Mul(ds[i], lagrangeAtZero(xs, i)))
	}
	return sum
}

// lagrangeAtZero is λ_i = Π_{j≠i} x_j / (x_j − x_i) mod n, the coefficient of share xs[i]
// in f(0) for the points xs.
func lagrangeAtZero(xs []int, i int) group.Scalar {
	num, den := group.P256.NewScalar().SetUint64(1), group.P256.NewScalar().SetUint64(1)
	xi := group.P256.NewScalar().SetUint64(uint64(xs[i]))
	for j, x := range xs {
		if j == i {
			continue
		}
		xj := group.P256.NewScalar().SetUint64(uint64(x))
		num.Mul(num, xj)
		den.Mul(den, group.P256.NewScalar().Sub(xj, xi))
	}
	return num.Mul(num, den.Inv(den))
}

// StanzaPoint returns E, the ephemeral point of the header's rescue stanza for the rescue key
// keyID (65 bytes, uncompressed): what a holder computes a partial decryption of. A header
// without that stanza is rescue.partial_invalid.
func StanzaPoint(h *seal.Header, keyID string) ([]byte, error) {
	st, ok := h.Stanza(keyID)
	if !ok || st.Type != seal.TypeRescueP256 || len(st.Args) != 2 {
		return nil, errPartial(0, "投标文件没有加密给本项目补救公钥的段落")
	}
	// The header parser has checked the argument is a point on the curve.
	e, err := base64.RawStdEncoding.Strict().DecodeString(st.Args[1])
	if err != nil || len(e) != pointSize {
		return nil, errPartial(0, "补救段落的临时公钥无法解码")
	}
	return e, nil
}

// parsePoint decodes a 65-byte uncompressed P-256 point that is on the curve and not the
// identity (crypto/ecdh's checks, which circl's decoder uses).
func parsePoint(b []byte) (group.Element, error) {
	if len(b) != pointSize || b[0] != 0x04 {
		return nil, errSetup("点不是 65 字节的未压缩 P-256 点")
	}
	e := group.P256.NewElement()
	if err := e.UnmarshalBinary(b); err != nil || e.IsIdentity() {
		return nil, errSetup("点不在 P-256 曲线上")
	}
	return e, nil
}

// statement is what a partial's proof is about, and what its challenge hashes.
type statement struct {
	keyID    string
	envelope kaiping.ID
	index    int
	y, e, d  group.Element
}

// encode is the challenge transcript (RESCUE.md §2.2):
//
//	label || u16(len keyID) || keyID || u16(len envelope) || envelope || u8(index)
//	      || G || Y_i || E || D_i || A || B
//
// every point 65 bytes uncompressed. With a and b nil it is the statement alone (the nonce's
// input), without A and B.
func (st statement) encode(a, b group.Element) []byte {
	out := make([]byte, 0, len(transcriptLabel)+4+len(st.keyID)+len(st.envelope)+1+6*pointSize)
	out = append(out, transcriptLabel...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(st.keyID)))
	out = append(out, st.keyID...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(st.envelope)))
	out = append(out, st.envelope...)
	out = append(out, byte(st.index))
	for _, p := range []group.Element{group.P256.Generator(), st.y, st.e, st.d, a, b} {
		if p == nil {
			break
		}
		pb, _ := p.MarshalBinary()
		out = append(out, pb...)
	}
	return out
}

// StanzaKey is s·E for one rescue stanza, combined from partials: a seal.ECDHer that answers
// only for that stanza's E, so seal.NewRescueIdentity (or Identity) opens that stanza with
// the same key derivation as for any rescue stanza, and every other stanza of the tender
// stays shut. Call Wipe as soon as the stanza is open.
type StanzaKey struct {
	id  string
	pub *ecdh.PublicKey
	eph []byte
	x   []byte
}

// KeyID is the rescue key's recipient ID (seal.RescueKeyID).
func (k *StanzaKey) KeyID() string { return k.id }

// PublicKey is the rescue public key.
func (k *StanzaKey) PublicKey() *ecdh.PublicKey { return k.pub }

// ECDH returns the X coordinate of s·E when peer is the stanza's E; any other point is
// rescue.wrong_stanza, and after Wipe rescue.key_wiped.
func (k *StanzaKey) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	if k.x == nil {
		return nil, errKeyWiped()
	}
	if peer == nil || !bytes.Equal(peer.Bytes(), k.eph) {
		return nil, errWrongStanza()
	}
	return bytes.Clone(k.x), nil
}

// Identity returns the seal identity that opens this one stanza, for
// seal.Header.UnwrapFileKey.
func (k *StanzaKey) Identity() (seal.Identity, error) { return seal.NewRescueIdentity(k) }

// Wipe zeroes the shared secret. It may be called more than once.
func (k *StanzaKey) Wipe() {
	clear(k.x)
	k.x = nil
}

// Package rescue is a tender's rescue key (解密失败补救方案): the key a bid's file key is also
// wrapped to (seal's "rescue-p256" stanza), so that a bid can still be opened when its bidder
// cannot decrypt it at the opening.
//
// The rescue key is a P-256 key pair made when the tender is set up. Its public half is
// published with the tender and bidders' tools seal to it. Its private half would let whoever
// holds it open every bid early, so it is never stored: Split draws the scalar in memory,
// splits it k-of-n among named supervisors (监督人员) with Feldman-verifiable Shamir secret
// sharing (cloudflare/circl), encrypts each share to its holder's certificate in seal's
// stanza format (as seal.WrapSecret does), and forgets the scalar. What Split returns (the public key, the public Feldman
// commitments and the encrypted shares) is safe to store and show: nobody can rebuild the key
// from it without k holders' private keys. No single insider, platform staff included, can
// open a bid before the deadline.
//
// Each holder checks their share when they receive it (VerifyShare): it decrypts with their
// certificate's key, belongs to this tender's key, and lies on the committed polynomial. So a
// holder knows at setup time, not at the opening, whether their share will work.
//
// # Threshold decryption
//
// At the opening the key is not rebuilt and no share leaves its holder (RESCUE.md, with test
// vectors). For one named bid, each holder's tool computes, on the holder's machine, a partial
// decryption D_i = s_i·E of each of the bid's rescue stanzas (E is the stanza's ephemeral
// point) and a Chaum–Pedersen proof that log_G(Y_i) = log_E(D_i), where Y_i = s_i·G follows
// from the public commitments (PartialDecrypt). The server checks each proof (VerifyPartial)
// and, with k of them for a stanza, computes s·E = Σ λ_i·D_i (CombinePartials): the ECDH
// secret of that stanza alone, opened with seal's ordinary key derivation. A partial is not a
// share: it opens only its own stanza, and fewer than k open nothing, so the server may keep
// partials until the stanza is open. k shares handed in for one bid used to rebuild the key
// that opened every bid of the tender, and left copies in the database; partials cannot.
//
// # Wiping
//
// Split, VerifyShare and PartialDecrypt zero every copy of secret material they create and can
// reach: the circl scalars, share plaintexts, byte buffers. Go cannot promise more. circl's P-256 arithmetic
// goes through math/big and reallocates scalar buffers; its SecretSharing keeps a private
// copy of the polynomial; crypto/ecdh keeps its own copy of a private key. None of these can
// be zeroed from outside, so they are dropped and left to the garbage collector. Callers
// wipe what they hold with Share.Wipe and StanzaKey.Wipe as soon as they are done.
package rescue

import (
	"bytes"
	"crypto/ecdh"
	"encoding/json"
	"fmt"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/secretsharing"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// Limits on a split.
const (
	// MinThreshold is the smallest k: with k = 1 every holder alone could open every bid.
	MinThreshold = 2
	// MaxHolders is the largest n. A tender has a handful of supervisors; the bound keeps
	// setup and verification time small and a share's index in one byte.
	MaxHolders = 32
)

// Holder is a supervisor (监督人员) named to hold a share of a tender's rescue key.
type Holder struct {
	// Principal is the supervisor's principal ID.
	Principal kaiping.ID
	// Certificate is the supervisor's registered certificate (数字证书); the share is
	// encrypted to its key (P-256, RSA or SM2, as seal supports). Checking its chain and
	// validity is the caller's job, as for any registered certificate.
	Certificate *smx509.Certificate
}

// Setup is what Split produces for a tender: the rescue public key and everything needed to
// deliver and check the shares. None of it is secret; it is stored with the tender.
type Setup struct {
	// PublicKey is the rescue key bidders' tools seal to (seal.NewRescueRecipient).
	PublicKey *ecdh.PublicKey
	// KeyID is seal.RescueKeyID(PublicKey): the recipient ID of the rescue stanzas.
	KeyID string
	// Commitments are the public Feldman commitments the shares are checked against.
	Commitments Commitments
	// Shares holds one encrypted share per holder, in the order the holders were given.
	Shares []EncryptedShare
}

// Threshold is k, the number of shares needed to rebuild the key.
func (s Setup) Threshold() int { return s.Commitments.Threshold() }

// setupJSON is Setup on the wire and in the database: the public key as its 65-byte
// uncompressed SEC 1 encoding (base64 in JSON).
type setupJSON struct {
	KeyID       string           `json:"key_id"`
	PublicKey   []byte           `json:"public_key"`
	Commitments Commitments      `json:"commitments"`
	Shares      []EncryptedShare `json:"shares"`
}

// MarshalJSON encodes the setup with the public key in uncompressed SEC 1 form.
func (s Setup) MarshalJSON() ([]byte, error) {
	if s.PublicKey == nil {
		return nil, errSetup("没有公钥")
	}
	return json.Marshal(setupJSON{KeyID: s.KeyID, PublicKey: s.PublicKey.Bytes(),
		Commitments: s.Commitments, Shares: s.Shares})
}

// UnmarshalJSON decodes a setup and checks that it is self-consistent: a valid P-256 public
// key, its key ID, commitments whose constant term is that key, and shares of that key. A
// setup that passes is safe to hand to VerifyShare, VerifyPartial and CombinePartials; a corrupted row fails here,
// at load time.
func (s *Setup) UnmarshalJSON(data []byte) error {
	var j setupJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	pub, err := ParsePublicKey(j.PublicKey)
	if err != nil {
		return err
	}
	id, _, err := parseSetup(j.Commitments, pub)
	if err != nil {
		return err
	}
	if j.KeyID != id {
		return errSetup("密钥标识与公钥不符")
	}
	for _, es := range j.Shares {
		if es.KeyID != id {
			return errSetup(fmt.Sprintf("第 %d 号份额属于另一个补救密钥", es.Index))
		}
	}
	*s = Setup{PublicKey: pub, KeyID: id, Commitments: j.Commitments, Shares: j.Shares}
	return nil
}

// ParsePublicKey decodes a rescue public key from its 65-byte uncompressed SEC 1 encoding
// (ecdh.PublicKey.Bytes), as stored with a tender.
func ParsePublicKey(b []byte) (*ecdh.PublicKey, error) {
	if len(b) != pointSize || b[0] != 0x04 {
		return nil, errSetup("公钥不是 65 字节的未压缩 P-256 点")
	}
	pub, err := ecdh.P256().NewPublicKey(b)
	if err != nil {
		return nil, errSetup("公钥不在 P-256 曲线上")
	}
	return pub, nil
}

// pointSize is an uncompressed SEC 1 P-256 point, 0x04 || X || Y: the one encoding this
// package accepts, so that equal points are equal bytes.
const pointSize = 65

// Commitments are a split's public Feldman commitments: C_j = a_j·G for each coefficient a_j
// of the secret polynomial f(x) = a_0 + a_1·x + … + a_{k-1}·x^{k-1}, where a_0 is the rescue
// private key, so C_0 is the rescue public key. A share (i, f(i)) is genuine exactly when
// f(i)·G = Σ C_j·i^j, which anyone holding the share can check without learning anything
// about the other shares.
type Commitments struct {
	// Points are C_0 … C_{k-1}, each a 65-byte uncompressed SEC 1 P-256 point.
	Points [][]byte `json:"points"`
}

// Threshold is k: the number of points, one per coefficient of a degree k-1 polynomial.
// A holder's client shows it, so the holder can check it against the k the tender announced.
func (c Commitments) Threshold() int { return len(c.Points) }

// EncryptedShare is one holder's share as delivered: encrypted to the holder's certificate.
// Only the holder's private key opens it; the server stores and forwards it.
type EncryptedShare struct {
	// Holder is the supervisor's principal ID.
	Holder kaiping.ID `json:"holder"`
	// Index is the share's index (its Shamir x-coordinate), 1 to n, also written inside the
	// encrypted share.
	Index int `json:"index"`
	// KeyID is the rescue key the share belongs to (Setup.KeyID), also written inside.
	KeyID string `json:"key_id"`
	// Stanza is the share encrypted to the holder's certificate, as seal.WrapSecret
	// encrypts a secret; its recipient ID is the certificate's fingerprint. In JSON it is
	// the stanza's text form.
	Stanza seal.Stanza `json:"stanza"`
}

// Certificate is the fingerprint of the certificate the share is encrypted to
// (identity.Fingerprint), for finding a holder's share by the certificate they log in with.
func (e EncryptedShare) Certificate() string { return e.Stanza.RecipientID() }

// parseSetup checks the public parameters every check of a share depends on and returns the
// key ID and the commitments as circl group elements.
func parseSetup(c Commitments, pub *ecdh.PublicKey) (string, secretsharing.SecretCommitment, error) {
	if pub == nil || pub.Curve() != ecdh.P256() {
		return "", nil, errSetup("公钥应为 P-256 公钥")
	}
	id, err := seal.RescueKeyID(pub)
	if err != nil {
		return "", nil, errSetup("公钥无法编码")
	}
	k := len(c.Points)
	if k < MinThreshold || k > MaxHolders {
		return "", nil, errSetup(fmt.Sprintf("承诺值应有 %d 至 %d 个，收到 %d 个", MinThreshold, MaxHolders, k))
	}
	// C_0 is the public key itself: comparing the encodings checks that these commitments
	// are of the key bidders seal to, and not of some other split.
	if !bytes.Equal(c.Points[0], pub.Bytes()) {
		return "", nil, errSetup("承诺值的常数项与公布的补救公钥不符")
	}
	points := make(secretsharing.SecretCommitment, k)
	for j, b := range c.Points {
		// ecdh's parser rejects the point at infinity and points off the curve. An identity
		// commitment would mean a zero coefficient, possibly a lower threshold than k.
		if len(b) != pointSize || b[0] != 0x04 {
			return "", nil, errSetup(fmt.Sprintf("第 %d 个承诺值不是 65 字节的未压缩 P-256 点", j))
		}
		if _, err := ecdh.P256().NewPublicKey(b); err != nil {
			return "", nil, errSetup(fmt.Sprintf("第 %d 个承诺值不在 P-256 曲线上", j))
		}
		points[j] = group.P256.NewElement()
		if err := points[j].UnmarshalBinary(b); err != nil {
			return "", nil, errSetup(fmt.Sprintf("第 %d 个承诺值无法解码", j))
		}
	}
	return id, points, nil
}

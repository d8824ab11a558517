package rescue

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/secretsharing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// Split makes a tender's rescue key and shares it k-of-n among holders (n = len(holders)):
// it draws a fresh P-256 private scalar from rand, derives the public key, splits the scalar
// with Feldman-verifiable Shamir sharing, encrypts share i (1 to n) to holders[i-1]'s
// certificate with seal's certificate recipient (the stanza seal.WrapSecret makes, which the
// holder opens with seal.UnwrapSecret), and zeroes the scalar and the shares. Nothing it
// returns lets anyone rebuild the key without k holders' private keys.
//
// Bad parameters are rescue.threshold (k below MinThreshold or above n),
// rescue.holder_count (n below MinThreshold, above MaxHolders, or not len(holders)),
// rescue.holder_invalid, rescue.duplicate_holder (a principal or a certificate twice, which
// would let one person hold two shares) and rescue.holder_certificate (no certificate, or a
// key seal cannot encrypt to). They are all checked before any key exists.
func Split(rand io.Reader, k, n int, holders []Holder) (setup Setup, err error) {
	switch {
	case k < MinThreshold:
		return Setup{}, errThreshold(k, n)
	case n < MinThreshold || n > MaxHolders || n != len(holders):
		return Setup{}, errHolderCount(n, len(holders))
	case k > n:
		return Setup{}, errThreshold(k, n)
	}
	recipients, err := checkHolders(holders)
	if err != nil {
		return Setup{}, err
	}

	// circl's secretsharing draws the polynomial's coefficients with group.RandomScalar,
	// which panics if the reader fails. Turn that one panic back into an error.
	rr := &recordingReader{r: rand}
	defer func() {
		if rr.err != nil {
			if p := recover(); p != nil {
				setup, err = Setup{}, kaiping.Internal("rescue.Split", fmt.Errorf("random source: %w", rr.err))
			}
		}
	}()

	secret, pub, err := newSecret(rr)
	if err != nil {
		return Setup{}, err
	}
	defer wipeScalar(secret)
	keyID, err := seal.RescueKeyID(pub)
	if err != nil {
		return Setup{}, kaiping.Internal("rescue.Split", err)
	}

	// circl's threshold t is the polynomial degree: any t+1 = k shares rebuild the secret.
	ss := secretsharing.New(rr, uint(k-1), secret)
	shares := ss.Share(uint(n))
	defer func() {
		for _, sh := range shares {
			wipeShare(sh)
		}
	}()
	commitments, err := encodeCommitments(ss.CommitSecret(), k, pub)
	if err != nil {
		return Setup{}, err
	}

	setup = Setup{PublicKey: pub, KeyID: keyID, Commitments: commitments,
		Shares: make([]EncryptedShare, n)}
	for i, sh := range shares {
		es, err := encryptShare(rr, recipients[i], holders[i].Principal, keyID, i+1, sh.Value)
		if err != nil {
			return Setup{}, err
		}
		setup.Shares[i] = es
	}
	return setup, nil
}

// checkHolders validates the holders and returns the seal recipient of each certificate.
func checkHolders(holders []Holder) ([]seal.Recipient, error) {
	recipients := make([]seal.Recipient, len(holders))
	principals := make(map[kaiping.ID]bool, len(holders))
	certs := make(map[string]bool, len(holders))
	for i, h := range holders {
		if !h.Principal.Valid() {
			return nil, errHolderInvalid(i)
		}
		if principals[h.Principal] {
			return nil, errDuplicateHolder(i, "用户编号")
		}
		principals[h.Principal] = true
		if h.Certificate == nil {
			return nil, errHolderCertificate(h, nil)
		}
		r, err := seal.NewCertRecipient(h.Certificate)
		if err != nil {
			return nil, errHolderCertificate(h, err)
		}
		if certs[r.RecipientID()] {
			return nil, errDuplicateHolder(i, "证书")
		}
		certs[r.RecipientID()] = true
		recipients[i] = r
	}
	return recipients, nil
}

// maxScalarTries bounds rejection sampling of the private scalar; 32 random bytes are out of
// range with probability about 2^-32, so a working source never runs out.
const maxScalarTries = 64

// newSecret draws the private scalar: 32 bytes from rand, redrawn while zero or not below the
// group order (as seal draws its ephemeral keys; ecdh.P256().GenerateKey ignores its reader
// since Go 1.26). The public key comes from crypto/ecdh, the code bidders' tools and seal use.
func newSecret(rand io.Reader) (group.Scalar, *ecdh.PublicKey, error) {
	var b [scalarSize]byte
	defer clear(b[:])
	for range maxScalarTries {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, nil, kaiping.Internal("rescue.Split", fmt.Errorf("random source: %w", err))
		}
		priv, err := ecdh.P256().NewPrivateKey(b[:])
		if err != nil {
			continue
		}
		s := group.P256.NewScalar()
		if err := s.UnmarshalBinary(b[:]); err != nil {
			return nil, nil, kaiping.Internal("rescue.Split", err)
		}
		return s, priv.PublicKey(), nil
	}
	return nil, nil, kaiping.Internal("rescue.Split", errors.New("random source keeps giving out-of-range scalars"))
}

// encodeCommitments serialises circl's commitments and checks them against the public key.
// C_0 is circl's a_0·G and pub is crypto/ecdh's: checking they encode alike here catches any
// disagreement between the two libraries at setup, not at an opening.
func encodeCommitments(c secretsharing.SecretCommitment, k int, pub *ecdh.PublicKey) (Commitments, error) {
	// circl drops zero top coefficients (probability 2^-256), which would lower k.
	if len(c) != k {
		return Commitments{}, kaiping.Internal("rescue.Split", fmt.Errorf("%d commitments for k=%d", len(c), k))
	}
	out := Commitments{Points: make([][]byte, k)}
	for j, e := range c {
		b, err := e.MarshalBinary()
		if err != nil || len(b) != pointSize {
			return Commitments{}, kaiping.Internal("rescue.Split", fmt.Errorf("commitment %d: %d bytes, %v", j, len(b), err))
		}
		out.Points[j] = b
	}
	if !bytes.Equal(out.Points[0], pub.Bytes()) {
		return Commitments{}, kaiping.Internal("rescue.Split", errors.New("commitment C_0 is not the public key"))
	}
	return out, nil
}

// encryptShare wraps share (index, value) to the holder's recipient.
func encryptShare(rand io.Reader, r seal.Recipient, holder kaiping.ID, keyID string, index int, value group.Scalar) (EncryptedShare, error) {
	v, err := value.MarshalBinary()
	defer clear(v)
	if err != nil {
		return EncryptedShare{}, kaiping.Internal("rescue.Split", err)
	}
	plain, err := Share{KeyID: keyID, Index: index, Value: v}.marshal()
	defer clear(plain)
	if err != nil {
		return EncryptedShare{}, kaiping.Internal("rescue.Split", err)
	}
	st, err := r.Wrap(rand, plain)
	if err != nil {
		return EncryptedShare{}, kaiping.Internal("rescue.Split", fmt.Errorf("share %d for %s: %w", index, holder, err))
	}
	return EncryptedShare{Holder: holder, Index: index, KeyID: keyID, Stanza: st}, nil
}

// recordingReader remembers the first error of the reader it wraps, so that Split can tell
// a panic caused by the random source from any other.
type recordingReader struct {
	r   io.Reader
	err error
}

// Read reads from the wrapped reader, keeping its first error.
func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

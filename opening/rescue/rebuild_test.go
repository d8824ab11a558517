package rescue

import (
	"crypto/ecdh"
	"errors"
	"sync/atomic"

	"github.com/cloudflare/circl/secretsharing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// This file is compiled into tests only. Production code never rebuilds the rescue key: the
// opening hall combines partial decryptions of one stanza (CombinePartials). The tests rebuild
// the whole scalar here to check a split, and that k partials give the same secret as the
// whole key would.

// Combine rebuilds a rescue key from holders' shares. It first checks every
// share as VerifyShare does (key ID, index, Feldman check against commitments, whose constant
// term must be pub) and refuses the first bad one as rescue.share_invalid naming its index
// (a *ShareError in the chain). Shares with the same index count once. With fewer than k
// distinct shares it is rescue.not_enough_shares. The rebuilt key is checked against pub.
//
// Combine zeroes its own copies of the shares and the scalar; the caller still owns and
// wipes shares. The returned key is the whole rescue private key: the caller must call
// Key.Wipe as soon as the bids it is needed for are unwrapped.
func Combine(shares []Share, c Commitments, pub *ecdh.PublicKey) (*Key, error) {
	keyID, points, err := parseSetup(c, pub)
	if err != nil {
		return nil, err
	}
	k := len(points)
	var distinct []secretsharing.Share
	defer func() {
		for _, sh := range distinct {
			wipeShare(sh)
		}
	}()
	seen := make(map[int]bool, len(shares))
	for _, s := range shares {
		sh, err := verifyShare(s, keyID, points)
		if err != nil {
			wipeShare(sh)
			return nil, err
		}
		// Two shares with one index that both pass the Feldman check have the same value
		// (f(i)·G fixes f(i)), so a repeat adds nothing. circl's Recover panics on repeats.
		if seen[s.Index] {
			wipeShare(sh)
			continue
		}
		seen[s.Index] = true
		distinct = append(distinct, sh)
	}
	if len(distinct) < k {
		return nil, errNotEnough(len(distinct), k)
	}

	secret, err := secretsharing.Recover(uint(k-1), distinct[:k])
	if err != nil {
		return nil, kaiping.Internal("rescue.Combine", err)
	}
	defer wipeScalar(secret)
	b, err := secret.MarshalBinary()
	defer clear(b)
	if err != nil {
		return nil, kaiping.Internal("rescue.Combine", err)
	}
	priv, err := ecdh.P256().NewPrivateKey(b)
	if err != nil {
		return nil, kaiping.Internal("rescue.Combine", err)
	}
	// Verified shares cannot rebuild another key; this guards the code, not the input.
	if !priv.PublicKey().Equal(pub) {
		return nil, kaiping.Internal("rescue.Combine", errors.New("rebuilt key does not match the public key"))
	}
	key := &Key{id: keyID, pub: pub}
	key.priv.Store(priv)
	return key, nil
}

// Key is a rebuilt rescue private key. It is a seal.ECDHer, so seal.NewRescueIdentity (or
// Identity) turns it into what unwraps a bid's rescue stanza. It is safe for concurrent use.
//
// Call Wipe as soon as it is no longer needed. After Wipe every ECDH fails with
// rescue.key_wiped.
type Key struct {
	id   string
	pub  *ecdh.PublicKey
	priv atomic.Pointer[ecdh.PrivateKey]
}

var _ seal.ECDHer = (*Key)(nil)

// KeyID is the rescue key's recipient ID (seal.RescueKeyID).
func (k *Key) KeyID() string { return k.id }

// PublicKey is the rescue public key. It stays available after Wipe.
func (k *Key) PublicKey() *ecdh.PublicKey { return k.pub }

// ECDH returns the shared secret with peer (an ephemeral key from a rescue stanza).
func (k *Key) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	priv := k.priv.Load()
	if priv == nil {
		return nil, errKeyWiped()
	}
	return priv.ECDH(peer)
}

// Identity returns the seal identity that unwraps this tender's rescue stanzas, for
// seal.Header.UnwrapFileKey.
func (k *Key) Identity() (seal.Identity, error) { return seal.NewRescueIdentity(k) }

// Wipe makes the key unusable and lets go of the private key. It is best effort: Combine
// has already zeroed every copy of the scalar it made, and the one left, inside the
// crypto/ecdh private key, cannot be zeroed from outside the standard library; Wipe drops
// the only reference to it. Wipe may be called more than once.
func (k *Key) Wipe() { k.priv.Store(nil) }

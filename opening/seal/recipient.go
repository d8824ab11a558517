package seal

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Recipient can wrap a secret (an envelope's file key, or any short secret) into a stanza
// that only the holder of the matching private key can unwrap.
type Recipient interface {
	// RecipientID is the identifier written as the stanza's first argument.
	RecipientID() string
	// Wrap wraps secret (1 to MaxSecretSize bytes) into a stanza, drawing randomness from
	// rand.
	Wrap(rand io.Reader, secret []byte) (Stanza, error)
}

// Identity is a private key that can unwrap the stanzas addressed to it: a bidder's
// certificate key (a key file or a PKCS#11 token), or a tender's rescue key once the
// supervisors have put it back together.
type Identity interface {
	// RecipientID is the identifier of the stanzas this identity can unwrap.
	RecipientID() string
	// Unwrap returns the secret in s. A stanza that this key cannot open is seal.wrong_key.
	Unwrap(s Stanza) ([]byte, error)
}

// ECDHer is a P-256 private key that can do ECDH without revealing itself, as a PKCS#11
// token can (CKM_ECDH1_DERIVE). *ecdh.PrivateKey implements it.
type ECDHer interface {
	// ECDH returns the shared secret with peer: the x-coordinate of the shared point,
	// 32 bytes for P-256.
	ECDH(peer *ecdh.PublicKey) ([]byte, error)
	// PublicKey is the key's public half.
	PublicKey() *ecdh.PublicKey
}

// Fingerprint is a certificate's recipient identifier: the lowercase hex SHA-256 of its DER
// encoding, the same value identity.Fingerprint registers a certificate under.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// RescueKeyID is a rescue key's recipient identifier: the lowercase hex SHA-256 of the DER
// SubjectPublicKeyInfo (RFC 5480) of the P-256 public key.
func RescueKeyID(pub *ecdh.PublicKey) (string, error) {
	if pub == nil || pub.Curve() != ecdh.P256() {
		return "", errRecipientUnsupported("补救密钥必须是 P-256 公钥")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", errRecipientUnsupported("补救密钥无法编码：" + err.Error())
	}
	return Fingerprint(der), nil
}

// certAlg is how a certificate's key wraps: which stanza type.
func certAlg(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		// By bits, not bytes: a 2041- to 2047-bit modulus also takes 256 bytes.
		if n := k.N.BitLen(); n < 8*minRSABytes || n > 8*maxRSABytes {
			return "", errRecipientUnsupported(fmt.Sprintf("RSA 密钥长度 %d 位不在 2048 至 8192 位之间", k.N.BitLen()))
		}
		return TypeRSAOAEP, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return TypeX509P256, nil
		case sm2.P256():
			return TypeSM2, nil
		}
		return "", errRecipientUnsupported("椭圆曲线 " + k.Curve.Params().Name + " 不受支持（支持 P-256 与 SM2）")
	}
	return "", errRecipientUnsupported(fmt.Sprintf("证书公钥类型 %T 不受支持（支持 P-256、RSA 与 SM2）", pub))
}

// certRecipient wraps to the public key of an X.509 certificate.
type certRecipient struct {
	typ string
	fp  string
	pub crypto.PublicKey
}

// NewCertRecipient returns the recipient for a certificate's public key: P-256 (ECDH),
// RSA 2048 to 8192 bits (RSA-OAEP-SHA256) or SM2 (GB/T 32918.4). It does not check the
// certificate's chain, validity or key usage: which certificate a bidder may seal to is the
// caller's policy (identity verifies chains; a CA issuing SM2 dual certificates may want the
// encryption certificate here, not the signing one).
func NewCertRecipient(cert *smx509.Certificate) (Recipient, error) {
	if cert == nil {
		return nil, errRecipientUnsupported("没有证书")
	}
	typ, err := certAlg(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	pub := cert.PublicKey
	if typ == TypeX509P256 {
		if pub, err = cert.PublicKey.(*ecdsa.PublicKey).ECDH(); err != nil {
			return nil, errRecipientUnsupported("P-256 公钥无效")
		}
	}
	return &certRecipient{typ: typ, fp: Fingerprint(cert.Raw), pub: pub}, nil
}

// RecipientID is the certificate's fingerprint.
func (r *certRecipient) RecipientID() string { return r.fp }

// Wrap wraps secret with the stanza type of the certificate's key.
func (r *certRecipient) Wrap(rand io.Reader, secret []byte) (Stanza, error) {
	if err := checkSecret(secret); err != nil {
		return Stanza{}, err
	}
	switch r.typ {
	case TypeX509P256:
		return p256Wrap(rand, TypeX509P256, r.fp, infoX509P256, r.pub.(*ecdh.PublicKey), secret)
	case TypeRSAOAEP:
		return rsaWrap(rand, r.fp, r.pub.(*rsa.PublicKey), secret)
	default:
		return sm2Wrap(rand, r.fp, r.pub.(*ecdsa.PublicKey), secret)
	}
}

// certIdentity unwraps with the private key of a certificate.
type certIdentity struct {
	typ  string
	fp   string
	dh   ECDHer           // TypeX509P256
	dec  crypto.Decrypter // TypeRSAOAEP, TypeSM2
	rand io.Reader        // passed to dec.Decrypt; tokens ignore it
	// rsaSize is the modulus length in bytes (TypeRSAOAEP): the only body length RFC 8017
	// accepts, which crypto/rsa does not enforce.
	rsaSize int
}

// NewCertIdentity returns the identity of a certificate and its private key. For a P-256
// certificate the key is an ECDHer (such as *ecdh.PrivateKey, or a token's) or an
// *ecdsa.PrivateKey; for RSA and SM2 it is a crypto.Decrypter (*rsa.PrivateKey,
// *sm2.PrivateKey, or a token's). A key that is not the certificate's is seal.wrong_key.
func NewCertIdentity(cert *smx509.Certificate, key crypto.PrivateKey) (Identity, error) {
	if cert == nil {
		return nil, errRecipientUnsupported("没有证书")
	}
	typ, err := certAlg(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	id := &certIdentity{typ: typ, fp: Fingerprint(cert.Raw), rand: rand.Reader}
	mismatch := errWrongKey("私钥与证书不匹配")
	switch typ {
	case TypeX509P256:
		if k, ok := key.(*ecdsa.PrivateKey); ok {
			if key, err = k.ECDH(); err != nil {
				return nil, mismatch
			}
		}
		dh, ok := key.(ECDHer)
		if !ok {
			return nil, errWrongKey(fmt.Sprintf("P-256 证书需要能做 ECDH 的私钥，收到 %T", key))
		}
		want, _ := cert.PublicKey.(*ecdsa.PublicKey).ECDH()
		if pub := dh.PublicKey(); pub == nil || want == nil || !pub.Equal(want) {
			return nil, mismatch
		}
		id.dh = dh
	default:
		if k, ok := key.(*ecdsa.PrivateKey); ok && typ == TypeSM2 && k.Curve == sm2.P256() {
			// An SM2 key parsed by code that does not know SM2 keeps its scalar.
			//lint:ignore SA1019 an SM2 key has no other way to give its scalar
			if key, err = sm2.NewPrivateKeyFromInt(k.D); err != nil {
				return nil, mismatch
			}
		}
		dec, ok := key.(crypto.Decrypter)
		if !ok {
			return nil, errWrongKey(fmt.Sprintf("%s 证书需要能解密的私钥，收到 %T", typ, key))
		}
		pub, ok := dec.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(cert.PublicKey) {
			return nil, mismatch
		}
		id.dec = dec
		if typ == TypeRSAOAEP {
			id.rsaSize = cert.PublicKey.(*rsa.PublicKey).Size()
		}
	}
	return id, nil
}

// RecipientID is the certificate's fingerprint.
func (id *certIdentity) RecipientID() string { return id.fp }

// Unwrap opens a stanza of the certificate's type addressed to its fingerprint.
func (id *certIdentity) Unwrap(s Stanza) ([]byte, error) {
	if err := checkStanzaFor(s, id.typ, id.fp); err != nil {
		return nil, err
	}
	switch id.typ {
	case TypeX509P256:
		return p256Unwrap(s, infoX509P256, id.dh)
	case TypeRSAOAEP:
		return rsaUnwrap(s, id.dec, id.rand, id.rsaSize)
	default:
		return sm2Unwrap(s, id.dec, id.rand)
	}
}

// rescueRecipient wraps to a tender's rescue key.
type rescueRecipient struct {
	id  string
	pub *ecdh.PublicKey
}

// NewRescueRecipient returns the recipient for a tender's rescue key (解密失败补救方案): a
// P-256 public key, not a certificate, whose private half is split k-of-n among the
// supervisors and never exists whole before the deadline.
func NewRescueRecipient(pub *ecdh.PublicKey) (Recipient, error) {
	id, err := RescueKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &rescueRecipient{id: id, pub: pub}, nil
}

// RecipientID is the rescue key ID.
func (r *rescueRecipient) RecipientID() string { return r.id }

// Wrap wraps secret in a rescue-p256 stanza.
func (r *rescueRecipient) Wrap(rand io.Reader, secret []byte) (Stanza, error) {
	if err := checkSecret(secret); err != nil {
		return Stanza{}, err
	}
	return p256Wrap(rand, TypeRescueP256, r.id, infoRescueP256, r.pub, secret)
}

// rescueIdentity unwraps with the reassembled rescue key.
type rescueIdentity struct {
	id  string
	key ECDHer
}

// NewRescueIdentity returns the identity of a rescue private key, once the supervisors'
// shares have put it back together (or a token holding it).
func NewRescueIdentity(key ECDHer) (Identity, error) {
	if key == nil {
		return nil, errWrongKey("没有补救私钥")
	}
	id, err := RescueKeyID(key.PublicKey())
	if err != nil {
		return nil, err
	}
	return &rescueIdentity{id: id, key: key}, nil
}

// RecipientID is the rescue key ID.
func (id *rescueIdentity) RecipientID() string { return id.id }

// Unwrap opens a rescue-p256 stanza addressed to this key.
func (id *rescueIdentity) Unwrap(s Stanza) ([]byte, error) {
	if err := checkStanzaFor(s, TypeRescueP256, id.id); err != nil {
		return nil, err
	}
	return p256Unwrap(s, infoRescueP256, id.key)
}

// WrapSecret wraps a short secret (1 to MaxSecretSize bytes) to a certificate, in the same
// stanza format as an envelope's file key: for giving a supervisor a share of a rescue key,
// say. Store the stanza with MarshalText. The stanza says nothing about what the secret is
// for: bind it to its purpose (sign it, or keep it in a record that says) where it is kept.
func WrapSecret(rand io.Reader, cert *smx509.Certificate, secret []byte) (Stanza, error) {
	r, err := NewCertRecipient(cert)
	if err != nil {
		return Stanza{}, err
	}
	return r.Wrap(rand, secret)
}

// UnwrapSecret returns the secret WrapSecret wrapped in s, if id is its recipient.
func UnwrapSecret(s Stanza, id Identity) ([]byte, error) {
	if err := s.validate(0); err != nil {
		return nil, err
	}
	if s.RecipientID() != id.RecipientID() {
		return nil, errNoStanza([]string{id.RecipientID()})
	}
	return id.Unwrap(s)
}

func checkSecret(secret []byte) error {
	if len(secret) == 0 || len(secret) > MaxSecretSize {
		return errSecretSize(len(secret))
	}
	return nil
}

// checkStanzaFor checks that s is addressed to this identity and is of its key's type.
func checkStanzaFor(s Stanza, typ, id string) error {
	if s.RecipientID() != id {
		return errNoStanza([]string{id})
	}
	if s.Type != typ {
		return errMalformed(fmt.Sprintf("接收方段落类型 %s 与密钥类型 %s 不符", s.Type, typ))
	}
	return nil
}

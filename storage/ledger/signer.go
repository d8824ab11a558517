package ledger

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
)

// The signature algorithms a platform key may use.
const (
	// AlgEd25519 is Ed25519 (RFC 8032) over the checkpoint text: the default, and the
	// algorithm of C2SP signed notes, so standard note tooling can check our checkpoints.
	AlgEd25519 = "ed25519"
	// AlgSM2 is SM2 with SM3 and the default user ID 1234567812345678 (GB/T 32918.2-2016,
	// 国密), for centres whose rules require national cryptography. The signature is ASN.1 DER.
	AlgSM2 = "sm2"
)

// Signer is the platform key that signs checkpoints. Implementations must be safe for
// concurrent use: every transaction that appends to the ledger signs with it.
type Signer interface {
	// Algorithm is AlgEd25519 or AlgSM2.
	Algorithm() string
	// Sign signs msg (a checkpoint's text) as it is, without hashing it first.
	Sign(msg []byte) ([]byte, error)
	// PublicKeyPEM is the public half as a PKIX "PUBLIC KEY" PEM block, what verifiers load.
	PublicKeyPEM() ([]byte, error)
}

// Verifier checks checkpoint signatures against one public key.
type Verifier interface {
	// Algorithm is AlgEd25519 or AlgSM2.
	Algorithm() string
	// Verify reports whether sig is a valid signature of msg.
	Verify(msg, sig []byte) bool
}

// GenerateKeyPEM returns a new private key for alg as a PKCS#8 "PRIVATE KEY" PEM block, for
// the demo, tests and first-time setup. Production keys are made and kept by the centre.
func GenerateKeyPEM(alg string) ([]byte, error) {
	const op = "ledger.GenerateKeyPEM"
	var key any
	switch alg {
	case AlgEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, kaiping.Internal(op, err)
		}
		key = priv
	case AlgSM2:
		priv, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return nil, kaiping.Internal(op, err)
		}
		key = priv
	default:
		return nil, unknownAlgorithm(op, alg)
	}
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, kaiping.Internal(op, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseSigner loads a platform key from PEM: PKCS#8 ("PRIVATE KEY") holding an Ed25519 or
// SM2 key, or SEC 1 ("EC PRIVATE KEY", "SM2 PRIVATE KEY") holding an SM2 key, the form some
// Chinese CA tools export. Any other key is KindInvalid.
func ParseSigner(pemBytes []byte) (Signer, error) {
	const op = "ledger.ParseSigner"
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, badKey(op, fmt.Errorf("no PEM block"))
	}
	switch block.Type {
	case "PRIVATE KEY":
		key, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, badKey(op, err)
		}
		switch k := key.(type) {
		case ed25519.PrivateKey:
			return NewEd25519Signer(k)
		case *sm2.PrivateKey:
			return NewSM2Signer(k)
		default:
			return nil, badKey(op, fmt.Errorf("unsupported private key type %T (want Ed25519 or SM2)", key))
		}
	case "EC PRIVATE KEY", "SM2 PRIVATE KEY":
		k, err := smx509.ParseSM2PrivateKey(block.Bytes)
		if err != nil {
			return nil, badKey(op, err)
		}
		return NewSM2Signer(k)
	}
	return nil, badKey(op, fmt.Errorf("unsupported PEM block %q", block.Type))
}

// ParseVerifier loads a public key from a PKIX "PUBLIC KEY" PEM block (what
// Signer.PublicKeyPEM returns): Ed25519, or an EC key on the SM2 curve.
func ParseVerifier(pemBytes []byte) (Verifier, error) {
	const op = "ledger.ParseVerifier"
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, badKey(op, fmt.Errorf("no PUBLIC KEY PEM block"))
	}
	key, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, badKey(op, err)
	}
	switch k := key.(type) {
	case ed25519.PublicKey:
		return ed25519Verifier{k}, nil
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(k) {
			return sm2Verifier{k}, nil
		}
	}
	return nil, badKey(op, fmt.Errorf("unsupported public key type %T (want Ed25519 or SM2)", key))
}

// VerifierFor returns the verifier matching s, e.g. to check a ledger right after creating it.
func VerifierFor(s Signer) (Verifier, error) {
	p, err := s.PublicKeyPEM()
	if err != nil {
		return nil, fmt.Errorf("ledger.VerifierFor: %w", err)
	}
	return ParseVerifier(p)
}

// NewEd25519Signer returns a Signer for an Ed25519 private key.
func NewEd25519Signer(priv ed25519.PrivateKey) (Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, badKey("ledger.NewEd25519Signer", fmt.Errorf("private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize))
	}
	return ed25519Signer{priv}, nil
}

// NewSM2Signer returns a Signer for an SM2 private key; it signs with SM3 and the default UID.
func NewSM2Signer(priv *sm2.PrivateKey) (Signer, error) {
	if priv == nil || !sm2.IsSM2PublicKey(&priv.PublicKey) {
		return nil, badKey("ledger.NewSM2Signer", fmt.Errorf("not an SM2 key"))
	}
	return sm2Signer{priv}, nil
}

type ed25519Signer struct{ priv ed25519.PrivateKey }

func (ed25519Signer) Algorithm() string { return AlgEd25519 }

func (s ed25519Signer) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }

func (s ed25519Signer) PublicKeyPEM() ([]byte, error) {
	return publicKeyPEM("ledger.Ed25519Signer.PublicKeyPEM", s.priv.Public())
}

type ed25519Verifier struct{ pub ed25519.PublicKey }

func (ed25519Verifier) Algorithm() string { return AlgEd25519 }

func (v ed25519Verifier) Verify(msg, sig []byte) bool { return ed25519.Verify(v.pub, msg, sig) }

type sm2Signer struct{ priv *sm2.PrivateKey }

func (sm2Signer) Algorithm() string { return AlgSM2 }

// Sign hashes msg with SM3 after the Z value of the default UID, as GB/T 32918.2 requires;
// DefaultSM2SignerOpts tells gmsm that msg is the raw message, not a digest.
func (s sm2Signer) Sign(msg []byte) ([]byte, error) {
	sig, err := s.priv.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, kaiping.Internal("ledger.SM2Signer.Sign", err)
	}
	return sig, nil
}

func (s sm2Signer) PublicKeyPEM() ([]byte, error) {
	return publicKeyPEM("ledger.SM2Signer.PublicKeyPEM", &s.priv.PublicKey)
}

type sm2Verifier struct{ pub *ecdsa.PublicKey }

func (sm2Verifier) Algorithm() string { return AlgSM2 }

// Verify uses the default UID (nil), matching sm2Signer.
func (v sm2Verifier) Verify(msg, sig []byte) bool {
	return sm2.VerifyASN1WithSM2(v.pub, nil, msg, sig)
}

func publicKeyPEM(op string, pub any) ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, kaiping.Internal(op, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func badKey(op string, err error) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.bad_key",
		Message: "平台签名密钥格式错误或不受支持 (need an Ed25519 or SM2 key in PEM)", Op: op, Err: err}
}

func unknownAlgorithm(op, alg string) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: "ledger.bad_algorithm",
		Message: fmt.Sprintf("不支持的签名算法 %q (want %q or %q)", alg, AlgEd25519, AlgSM2), Op: op}
}

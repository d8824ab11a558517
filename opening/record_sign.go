package opening

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
)

// recordDomain separates record confirmations from anything else a certificate key signs
// (a login nonce above all), so neither can be replayed as the other.
const recordDomain = "KAIPING-RECORD-V1\n"

// RecordMessage is the exact byte string a bidder signs to confirm the record with digest.
func RecordMessage(digest string) []byte { return []byte(recordDomain + digest) }

// SignRecord signs RecordMessage(digest) with a certificate's key, with the algorithms of
// login (identity.SignLogin): SM2 with SM3 and the default user ID, ECDSA P-256 with
// SHA-256 (ASN.1), RSA PKCS#1 v1.5 with SHA-256. The signer may be a PKCS#11 token.
func SignRecord(signer crypto.Signer, digest string) ([]byte, error) {
	msg := RecordMessage(digest)
	if pub, ok := signer.Public().(*ecdsa.PublicKey); ok && pub.Curve == sm2.P256() {
		return signer.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	}
	sum := sha256.Sum256(msg)
	return signer.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// VerifyRecordSignature checks sig over RecordMessage(digest) with the public key of the
// certificate certDER: "hall.bad_signature" when it does not verify.
func VerifyRecordSignature(certDER []byte, digest string, sig []byte) error {
	cert, err := smx509.ParseCertificate(certDER)
	if err != nil {
		return kaiping.Internal("opening.VerifyRecordSignature", err)
	}
	msg := RecordMessage(digest)
	sum := sha256.Sum256(msg)
	ok := false
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case sm2.P256():
			ok = sm2.VerifyASN1WithSM2(k, nil, msg, sig)
		case elliptic.P256():
			ok = ecdsa.VerifyASN1(k, sum[:], sig)
		}
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	}
	if !ok {
		return kaiping.E(kaiping.KindInvalid, "hall.bad_signature", "签名验证失败：签名不是用本标段报名时登记的证书对开标记录摘要所作")
	}
	return nil
}

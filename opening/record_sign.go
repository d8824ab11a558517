package opening

import (
	"crypto"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/certsign"
)

// recordDomain separates record confirmations from anything else a certificate key signs
// (a login nonce above all), so neither can be replayed as the other.
const recordDomain = "KAIPING-RECORD-V1\n"

// RecordMessage is the exact byte string a bidder signs to confirm the record with digest.
func RecordMessage(digest string) []byte { return []byte(recordDomain + digest) }

// SignRecord signs RecordMessage(digest) with a certificate's key, with the algorithms of
// login (package certsign). The signer may be a PKCS#11 token.
func SignRecord(signer crypto.Signer, digest string) ([]byte, error) {
	return certsign.Sign(signer, RecordMessage(digest))
}

// VerifyRecordSignature checks sig over RecordMessage(digest) with the public key of the
// certificate certDER: "hall.bad_signature" when it does not verify.
func VerifyRecordSignature(certDER []byte, digest string, sig []byte) error {
	cert, err := smx509.ParseCertificate(certDER)
	if err != nil {
		return kaiping.Internal("opening.VerifyRecordSignature", err)
	}
	if ok, _ := certsign.Verify(cert.PublicKey, RecordMessage(digest), sig); !ok {
		return kaiping.E(kaiping.KindInvalid, "hall.bad_signature", "签名验证失败：签名不是用本标段报名时登记的证书对开标记录摘要所作")
	}
	return nil
}

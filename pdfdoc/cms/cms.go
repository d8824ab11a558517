// Package cms makes and checks detached CMS signatures (GB/T 35275 for SM2) over a
// document's bytes: how a committee member whose certificate is SM2 signs the evaluation
// report, over its canonical JSON, since no standard PDF reader checks an SM2 signature
// inside a PDF. RSA and ECDSA P-256 certificates are accepted too (SHA-256), so one check
// serves every member.
package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
)

// SignDetached signs content with signer, whose certificate is cert: a detached SignedData
// (the content is not inside) with signed attributes content-type, message-digest and
// signing-time (the signer's clock, which gmsm reads), SM3 with SM2 for an SM2 certificate
// (GB/T 35275 object identifiers), SHA-256 for RSA and ECDSA P-256. signer may be a PKCS#11
// token (UKEY): it is asked for one signature and never for its key.
//
// A certificate of another key type is KindInvalid "pdf.key_unsupported"; a signer whose
// key is not the certificate's, "pdf.key_mismatch"; a token that fails to sign,
// "pdf.sign_failed".
func SignDetached(content []byte, signer crypto.Signer, cert *smx509.Certificate) ([]byte, error) {
	var sd *pkcs7.SignedData
	var err error
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case sm2.P256():
			sd, err = pkcs7.NewSMSignedData(content)
		case elliptic.P256():
			if sd, err = pkcs7.NewSignedData(content); err == nil {
				sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
			}
		}
	case *rsa.PublicKey:
		if sd, err = pkcs7.NewSignedData(content); err == nil {
			sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
		}
	}
	if err != nil {
		return nil, kaiping.Internal("cms.SignDetached", err)
	}
	if sd == nil {
		return nil, kaiping.E(kaiping.KindInvalid, "pdf.key_unsupported", "分离式签名只支持 SM2、ECDSA P-256 或 RSA 证书")
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return nil, kaiping.E(kaiping.KindInvalid, "pdf.key_mismatch", "签名密钥与所给证书不匹配：请选择与证书对应的 UKEY 或密钥")
	}
	if err := sd.AddSigner(cert, signer, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.sign_failed", "签名设备未能完成签名：%v", err)
	}
	sd.Detach()
	out, err := sd.Finish()
	if err != nil {
		return nil, kaiping.Internal("cms.SignDetached", err)
	}
	return out, nil
}

// VerifyDetached checks that cms is one signer's detached signature of content: SM3 or
// SHA-256, the digest of content, a signature the certificate it carries verifies, a signing
// time within that certificate's validity. It returns that certificate and the signing
// time; whether the certificate is the member's is the caller's to compare, as with any
// signature.
//
// Anything else is KindInvalid "pdf.signature_invalid", saying why in Chinese: not a CMS,
// not detached, content changed, a signature the certificate does not verify.
func VerifyDetached(content, cms []byte) (*smx509.Certificate, time.Time, error) {
	fail := func(reason string) error {
		return kaiping.Errorf(kaiping.KindInvalid, "pdf.signature_invalid", "分离式签名验证失败：%s", reason)
	}
	p7, err := pkcs7.Parse(cms)
	if err != nil {
		return nil, time.Time{}, fail("签名数据无法解析为 CMS SignedData")
	}
	if len(p7.Content) > 0 {
		return nil, time.Time{}, fail("签名数据内含被签内容，不是分离式签名")
	}
	if len(p7.Signers) != 1 {
		return nil, time.Time{}, fail("签名数据应恰有 1 个签名者")
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		return nil, time.Time{}, fail("签名数据中没有签名者的证书")
	}
	if alg := p7.Signers[0].DigestAlgorithm.Algorithm; !alg.Equal(pkcs7.OIDDigestAlgorithmSM3) && !alg.Equal(pkcs7.OIDDigestAlgorithmSHA256) {
		return nil, time.Time{}, fail("摘要算法不是 SM3 或 SHA-256")
	}
	var at time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &at); err != nil {
		return nil, time.Time{}, fail("签名属性缺少签名时间")
	}
	p7.Content = content
	if err := p7.Verify(); err != nil {
		var mismatch *pkcs7.MessageDigestMismatchError
		var early *pkcs7.InvalidSigningTimeError
		switch {
		case errors.As(err, &mismatch):
			return nil, time.Time{}, fail("被签内容已被改动（摘要不符）")
		case errors.As(err, &early):
			return nil, time.Time{}, fail("签名时间不在证书有效期内")
		}
		return nil, time.Time{}, fail("签名值与签名数据所带的证书不符")
	}
	return cert, at, nil
}

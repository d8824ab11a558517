package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kaiping/kaiping"
)

// Object identifiers of the CMS a PDF signature holds (RFC 5652, RFC 5754, RFC 3279).
var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// SignDigest builds the detached CMS SignedData (/SubFilter /adbe.pkcs7.detached) over a
// document whose SHA-256 is digest (Prepared.Digest): SHA-256, signed attributes
// content-type, message-digest and signing-time (at), the signer's certificate. signer may
// be a PKCS#11 token (UKEY): it is asked for one signature of a SHA-256 digest and never
// for its key. This is the one step that must run where the key is, on the member's
// client; it needs the 32-byte digest only, not the PDF.
//
// cert must be RSA or ECDSA P-256 and match signer: otherwise KindInvalid
// "pdf.key_unsupported" (an SM2 certificate signs with package cms instead; no standard
// PDF reader checks SM2) or "pdf.key_mismatch"; a digest of another length is
// "pdf.digest_invalid", a zero time "pdf.time_missing", a token that fails
// "pdf.sign_failed".
func SignDigest(digest []byte, signer crypto.Signer, cert *x509.Certificate, at time.Time) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.digest_invalid", "待签名摘要应为 32 字节的 SHA-256，收到 %d 字节", len(digest))
	}
	if at.IsZero() {
		return nil, kaiping.E(kaiping.KindInvalid, "pdf.time_missing", "签名时间不能为空")
	}
	sigAlg, err := signatureAlgorithm(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, signer.Public()) {
		return nil, kaiping.E(kaiping.KindInvalid, "pdf.key_mismatch", "签名密钥与所给证书不匹配：请选择与证书对应的 UKEY 或密钥")
	}
	attrs, err := signedAttributes(digest, at)
	if err != nil {
		return nil, kaiping.Internal("pdfsign.SignDigest", err)
	}
	// The signature is over the DER SET OF the attributes (RFC 5652, 5.4).
	h := sha256.Sum256(attrs)
	sig, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, kaiping.Errorf(kaiping.KindInvalid, "pdf.sign_failed", "签名设备未能完成签名：%v", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algorithm(b, oidSHA256, true) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(cert.Raw) })
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerAndSerialNumber
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						algorithm(b, oidSHA256, true)
						// signedAttrs [0] IMPLICIT: the SET's content under another tag.
						b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							var set cryptobyte.String = attrs
							var content cryptobyte.String
							set.ReadASN1(&content, cbasn1.SET)
							b.AddBytes(content)
						})
						algorithm(b, sigAlg, sigAlg.Equal(oidRSA))
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, kaiping.Internal("pdfsign.SignDigest", err)
	}
	return out, nil
}

// algorithm adds an AlgorithmIdentifier, with NULL parameters where RSA and SHA-2 have
// them conventionally.
func algorithm(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if null {
			b.AddASN1NULL()
		}
	})
}

// signedAttributes is the DER SET OF content-type, signing-time and message-digest, sorted
// as DER sorts a SET OF: by encoding.
func signedAttributes(digest []byte, at time.Time) ([]byte, error) {
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) ([]byte, error) {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.Bytes()
	}
	when, err := asn1.Marshal(at.UTC().Truncate(time.Second)) // UTCTime up to 2049
	if err != nil {
		return nil, err
	}
	var parts [][]byte
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   func(*cryptobyte.Builder)
	}{
		{oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }},
		{oidSigningTime, func(b *cryptobyte.Builder) { b.AddBytes(when) }},
		{oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }},
	} {
		p, err := attr(a.oid, a.v)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	slices.SortFunc(parts, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, p := range parts {
			b.AddBytes(p)
		}
	})
	return b.Bytes()
}

// signatureAlgorithm is the CMS signature algorithm of a certificate's key: RSA PKCS#1 v1.5
// or ECDSA with SHA-256 on P-256, the two a standard PDF reader checks.
func signatureAlgorithm(pub any) (asn1.ObjectIdentifier, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return oidRSA, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return oidECDSASHA256, nil
		}
	}
	return nil, kaiping.E(kaiping.KindInvalid, "pdf.key_unsupported",
		"PDF 签名只支持 RSA 或 ECDSA P-256 证书；SM2 证书请对报告正本做 SM2 分离式签名（标准 PDF 阅读器无法验证 SM2 签名）")
}

func publicKeysEqual(a, b any) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

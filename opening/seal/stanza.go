package seal

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"strings"
)

// The stanza types of format version 1. A stanza's first argument is always its recipient
// identifier, so a client finds its own stanza without trying them all and the server can
// see from the header alone who can open an envelope.
const (
	// TypeX509P256 wraps to the P-256 key of an X.509 certificate: ephemeral-static ECDH,
	// HKDF-SHA256, AES-256-GCM. Arguments: certificate fingerprint, ephemeral public key.
	TypeX509P256 = "x509-p256"
	// TypeRSAOAEP wraps to the RSA key of an X.509 certificate with RSA-OAEP, SHA-256 and
	// MGF1-SHA-256, empty label. Argument: certificate fingerprint.
	TypeRSAOAEP = "rsa-oaep-sha256"
	// TypeSM2 wraps to the SM2 key of an X.509 certificate with SM2 public-key encryption
	// (GB/T 32918.4), ASN.1 DER ciphertext (GM/T 0009). Argument: certificate fingerprint.
	TypeSM2 = "sm2"
	// TypeRescueP256 wraps to a tender's rescue key (解密失败补救), a bare P-256 public key
	// whose private half is split among supervisors. Arguments: key ID, ephemeral public key.
	TypeRescueP256 = "rescue-p256"
)

// Stanza is one recipient's wrapped copy of a secret: the file key in an envelope header, or
// any short secret given to WrapSecret. Its text form is the same in both places:
//
//	-> TYPE ARG...
//	BASE64 BODY, 64 COLUMNS A LINE, THE LAST LINE SHORTER (POSSIBLY EMPTY)
type Stanza struct {
	Type string   // TypeX509P256, TypeRSAOAEP, TypeSM2, TypeRescueP256, or a later version's
	Args []string // for the known types, the recipient identifier first
	Body []byte   // the wrapped secret
}

// RecipientID is the recipient identifier of a stanza of a known type (a certificate
// fingerprint or a rescue key ID), "" for a type this version does not know.
func (s Stanza) RecipientID() string {
	if !knownType(s.Type) || len(s.Args) == 0 {
		return ""
	}
	return s.Args[0]
}

func knownType(t string) bool {
	return t == TypeX509P256 || t == TypeRSAOAEP || t == TypeSM2 || t == TypeRescueP256
}

// MarshalText encodes s in its text form, as it appears in a header.
func (s Stanza) MarshalText() ([]byte, error) {
	if err := s.validate(0); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	s.encode(&b)
	return b.Bytes(), nil
}

// UnmarshalText parses the text form of exactly one stanza, checking it as strictly as the
// header parser does (except the body length, which depends on the secret's length).
func (s *Stanza) UnmarshalText(text []byte) error {
	lr := newLineReader(bufio.NewReader(bytes.NewReader(text)), MaxHeaderSize)
	first, err := lr.line()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(first, stanzaPrefix) {
		return errMalformed("接收方段落应以 \"-> \" 开头")
	}
	st, err := parseStanza(lr, first)
	if err != nil {
		return err
	}
	if lr.n != len(text) {
		return errMalformed("接收方段落之后还有多余内容")
	}
	if err := st.validate(0); err != nil {
		return err
	}
	*s = st
	return nil
}

const (
	stanzaPrefix = "-> "
	bodyColumns  = 64 // base64 characters per full body line, as in age
)

// encode writes the stanza line and its body lines.
func (s Stanza) encode(b *bytes.Buffer) {
	b.WriteString(stanzaPrefix)
	b.WriteString(s.Type)
	for _, a := range s.Args {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	b.WriteByte('\n')
	body := b64.EncodeToString(s.Body)
	for len(body) >= bodyColumns {
		b.WriteString(body[:bodyColumns])
		b.WriteByte('\n')
		body = body[bodyColumns:]
	}
	// The last line is always shorter than a full one, possibly empty: that is how a reader
	// knows the body has ended.
	b.WriteString(body)
	b.WriteByte('\n')
}

// parseStanza parses the stanza whose first line (starting "-> ") has been read, then its
// body lines. It checks the grammar, not the type's own rules.
func parseStanza(lr *lineReader, first string) (Stanza, error) {
	fields := strings.Split(first[len(stanzaPrefix):], " ")
	for _, f := range fields {
		if !validArg(f) {
			return Stanza{}, errMalformed("接收方段落的类型或参数为空或含非法字符")
		}
	}
	s := Stanza{Type: fields[0], Args: fields[1:]}
	var body []byte
	for {
		line, err := lr.line()
		if err != nil {
			return Stanza{}, err
		}
		if len(line) > bodyColumns {
			return Stanza{}, errMalformed("接收方段落的数据行过长")
		}
		chunk, ok := decodeB64(line)
		if !ok {
			return Stanza{}, errMalformed("接收方段落的数据不是规范的 base64")
		}
		body = append(body, chunk...)
		if len(line) < bodyColumns {
			break
		}
	}
	s.Body = body
	if s.Body == nil {
		s.Body = []byte{}
	}
	return s, nil
}

// validArg: a type or argument is one or more VCHARs (printable ASCII without space).
func validArg(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// b64 is standard base64 without padding; Strict rejects non-zero trailing bits, so every
// byte string has exactly one encoding.
var b64 = base64.RawStdEncoding.Strict()

// decodeB64 decodes canonical unpadded standard base64. The alphabet check comes first
// because the decoder silently skips CR and LF.
func decodeB64(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// Limits on the secret a stanza wraps.
const (
	// MaxSecretSize is the longest secret WrapSecret accepts. It fits RSA-OAEP-SHA256 with
	// a 2048-bit key (at most 190 bytes) with room to spare.
	MaxSecretSize = 128
	// ecdhTagSize is the AES-GCM tag the P-256 stanzas add to the secret.
	ecdhTagSize = 16
)

// validate checks a stanza's grammar and, for a known type, its arguments and body.
// secretLen is the length the wrapped secret must have (FileKeySize in a header), or 0
// for any length from 1 to MaxSecretSize.
func (s Stanza) validate(secretLen int) error {
	if !validArg(s.Type) {
		return errMalformed("接收方段落的类型为空或含非法字符")
	}
	for _, a := range s.Args {
		if !validArg(a) {
			return errMalformed("接收方段落的参数为空或含非法字符")
		}
	}
	bodyOK := func(n int) bool {
		if secretLen > 0 {
			return n == secretLen
		}
		return n >= 1 && n <= MaxSecretSize
	}
	switch s.Type {
	case TypeX509P256, TypeRescueP256:
		if len(s.Args) != 2 || !validHexID(s.Args[0]) {
			return errMalformed(s.Type + " 段落应有两个参数：64 位十六进制标识和临时公钥")
		}
		if _, err := parseEphemeral(s.Args[1]); err != nil {
			return err
		}
		if !bodyOK(len(s.Body) - ecdhTagSize) {
			return errMalformed(s.Type + " 段落的数据长度不对")
		}
	case TypeRSAOAEP:
		if len(s.Args) != 1 || !validHexID(s.Args[0]) {
			return errMalformed(s.Type + " 段落应有一个参数：64 位十六进制证书指纹")
		}
		if len(s.Body) < minRSABytes || len(s.Body) > maxRSABytes {
			return errMalformed(s.Type + " 段落的数据长度不对")
		}
	case TypeSM2:
		if len(s.Args) != 1 || !validHexID(s.Args[0]) {
			return errMalformed(s.Type + " 段落应有一个参数：64 位十六进制证书指纹")
		}
		if len(s.Body) == 0 || len(s.Body) > maxSM2Bytes || s.Body[0] != 0x30 {
			return errMalformed(s.Type + " 段落的数据不是 ASN.1 编码的 SM2 密文")
		}
	}
	return nil
}

// validHexID: a fingerprint or key ID is 64 lowercase hex digits (a SHA-256).
func validHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// parseEphemeral decodes the ephemeral P-256 public key argument: the 65-byte uncompressed
// SEC 1 point, base64. The point is checked to be on the curve.
func parseEphemeral(arg string) (*ecdh.PublicKey, error) {
	raw, ok := decodeB64(arg)
	if !ok || len(raw) != p256PointSize {
		return nil, errMalformed("临时公钥不是 65 字节的未压缩 P-256 点")
	}
	pub, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return nil, errMalformed("临时公钥不在 P-256 曲线上")
	}
	return pub, nil
}

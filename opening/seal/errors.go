package seal

import (
	"fmt"

	"github.com/kaiping/kaiping"
)

// Stable error codes. Every error this package returns for bad input is a *kaiping.Error
// carrying one of these codes and a message in Simplified Chinese; I/O errors from the
// caller's readers and writers are passed through, wrapped with the operation.
const (
	CodeNotEnvelope          = "seal.not_envelope"          // not a sealed bid file at all
	CodeUnsupportedVersion   = "seal.unsupported_version"   // a sealed bid file of another format version
	CodeHeaderMalformed      = "seal.header_malformed"      // the header breaks the grammar or a limit
	CodeUnsupportedSuite     = "seal.unsupported_suite"     // a payload cipher suite this version does not know
	CodeHeaderMAC            = "seal.header_mac"            // the header was altered after sealing
	CodeWrongKey             = "seal.wrong_key"             // the key given does not open this envelope
	CodeNoStanza             = "seal.no_stanza"             // no stanza for this recipient
	CodeChunkAuth            = "seal.chunk_auth"            // a payload chunk failed authentication
	CodeTruncated            = "seal.truncated"             // the payload ends early
	CodeTrailingData         = "seal.trailing_data"         // bytes after the final chunk
	CodePayloadMalformed     = "seal.payload_malformed"     // authentic but non-canonical payload (empty final chunk)
	CodeNotCiphertext        = "seal.not_ciphertext"        // a stored chunk compresses: not ciphertext (Screen, without the key)
	CodeBindingInvalid       = "seal.binding_invalid"       // tender, section, bidder or kind missing or malformed
	CodeBindingMismatch      = "seal.binding_mismatch"      // the envelope belongs to another tender, bidder or kind
	CodeRecipientUnsupported = "seal.recipient_unsupported" // a certificate or key this format cannot wrap to
	CodeRecipientDuplicate   = "seal.recipient_duplicate"   // the same recipient twice
	CodeNoRecipients         = "seal.no_recipients"         // sealing to nobody, or to too many
	CodeSecretSize           = "seal.secret_size"           // WrapSecret given an empty or too long secret
)

// ChunkError locates a payload failure. It is the Err of the *kaiping.Error returned for
// seal.chunk_auth, seal.truncated, seal.trailing_data and seal.payload_malformed, so callers
// (and logs) can name the chunk: errors.As(err, &ce). Screen's seal.not_ciphertext carries one too.
type ChunkError struct {
	// Index is the chunk, counted from 0. For seal.truncated it is the first chunk missing.
	Index uint64
	// Offset is where that chunk starts in the envelope, in bytes from the first header byte.
	Offset int64
}

// Error says which chunk, for logs; the *kaiping.Error around it carries the message.
func (e *ChunkError) Error() string {
	return fmt.Sprintf("chunk %d at offset %d", e.Index, e.Offset)
}

func errNotEnvelope() error {
	return kaiping.E(kaiping.KindInvalid, CodeNotEnvelope, "不是密封投标文件")
}

func errUnsupportedVersion(line string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeUnsupportedVersion,
		"密封投标文件的格式版本不受支持：%q（本系统支持 %s）", clip(line), magic)
}

// errMalformed reports a header that breaks the grammar; why is a short Chinese phrase.
func errMalformed(why string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeHeaderMalformed, "密封文件头格式错误：%s", why)
}

func errUnsupportedSuite(s string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeUnsupportedSuite,
		"不支持的加密套件 %q（支持 %s、%s）", clip(s), AES256GCM, SM4GCM)
}

func errHeaderMAC() error {
	return kaiping.E(kaiping.KindInvalid, CodeHeaderMAC, "密封文件头校验失败：文件头在密封之后被改动")
}

func errWrongKey(why string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeWrongKey, "密钥错误：%s", why)
}

func errNoStanza(ids []string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeNoStanza,
		"密封文件中没有此证书或密钥的密钥封装（标识 %v）", ids)
}

func chunkErr(code, msg string, index uint64, offset int64) error {
	return &kaiping.Error{Kind: kaiping.KindInvalid, Code: code, Message: msg,
		Err: &ChunkError{Index: index, Offset: offset}}
}

func errChunkAuth(index uint64, offset int64) error {
	return chunkErr(CodeChunkAuth, fmt.Sprintf(
		"密封文件数据块 #%d（从 0 起计，偏移 %d 字节）校验失败：内容被改动、调换顺序、截断或来自其他密封文件",
		index, offset), index, offset)
}

func errTruncated(index uint64, offset int64) error {
	return chunkErr(CodeTruncated, fmt.Sprintf(
		"密封文件不完整：从数据块 #%d（从 0 起计，偏移 %d 字节）起缺失", index, offset), index, offset)
}

func errTrailingData(index uint64, offset int64) error {
	return chunkErr(CodeTrailingData, fmt.Sprintf(
		"密封文件在结尾数据块 #%d（偏移 %d 字节）之后还有多余数据", index, offset), index, offset)
}

func errEmptyFinalChunk(index uint64, offset int64) error {
	return chunkErr(CodePayloadMalformed, fmt.Sprintf(
		"密封文件数据块 #%d（偏移 %d 字节）是空的结尾块，不符合格式规范", index, offset), index, offset)
}

func errBindingInvalid(why string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeBindingInvalid, "密封信息不完整或格式错误：%s", why)
}

func errRecipientUnsupported(why string) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeRecipientUnsupported, "不支持的接收方：%s", why)
}

func errSecretSize(n int) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeSecretSize,
		"要封装的秘密应为 1 至 %d 字节，收到 %d 字节", MaxSecretSize, n)
}

// clip keeps attacker-chosen text in messages short.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

package token

import (
	"net/url"
	"os"
	"strings"

	"github.com/kaiping/kaiping"
)

// Config says which key on which token (UKEY, 数字证书介质) to use.
type Config struct {
	// Module is the path of the PKCS#11 library the UKEY vendor ships (the 驱动, a .so or
	// .dll), e.g. /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel is the token's label. Empty picks the only token plugged in.
	TokenLabel string
	// PIN is the user PIN (UKEY 口令).
	PIN string
	// KeyLabel (CKA_LABEL) and KeyID (CKA_ID) select the private key; either, both or
	// neither (then the token must hold exactly one private key).
	KeyLabel string
	KeyID    []byte
}

// ParseURI reads the subset of RFC 7512 PKCS#11 URIs a bidder needs, with or without the
// "pkcs11:" scheme: path attributes token, object, id and type (only "private"), and query
// attributes module-path, pin-value and pin-source (a file holding the PIN, as a path or a
// file: URI). Values are percent-encoded; id is raw bytes ("id=%01%02"). For the compact
// form, attributes may be separated by ';' or '&' in either part, e.g.
//
//	token=CFCA;object=sign?module-path=/usr/lib/libukey.so&pin-source=/run/pin
//
// Any other attribute is refused rather than ignored, so a URI meant to select a key by an
// attribute this package does not read never silently selects another key.
func ParseURI(s string) (Config, error) {
	var cfg Config
	rest, _ := strings.CutPrefix(strings.TrimSpace(s), "pkcs11:")
	seen := map[string]bool{}
	for _, attr := range strings.FieldsFunc(rest, func(r rune) bool { return r == ';' || r == '&' || r == '?' }) {
		name, raw, ok := strings.Cut(attr, "=")
		if !ok || name == "" {
			return Config{}, errURI("属性 %q 应为 名称=值 的形式", attr)
		}
		if seen[name] {
			return Config{}, errURI("属性 %s 出现了不止一次", name)
		}
		seen[name] = true
		val, err := url.PathUnescape(raw)
		if err != nil {
			return Config{}, errURI("属性 %s 的值 %q 不是合法的百分号编码", name, raw)
		}
		switch name {
		case "token":
			cfg.TokenLabel = val
		case "object":
			cfg.KeyLabel = val
		case "id":
			cfg.KeyID = []byte(val)
		case "type":
			if val != "private" {
				return Config{}, errURI("type=%s 不受支持：这里只需要私钥（type=private）", val)
			}
		case "module-path":
			cfg.Module = val
		case "pin-value":
			cfg.PIN = val
		case "pin-source":
			pin, err := readPINSource(val)
			if err != nil {
				return Config{}, err
			}
			cfg.PIN = pin
		default:
			return Config{}, errURI("不支持的属性 %s（支持 token、object、id、type、module-path、pin-value、pin-source）", name)
		}
	}
	if seen["pin-value"] && seen["pin-source"] {
		return Config{}, errURI("pin-value 与 pin-source 只能给一个")
	}
	return cfg, nil
}

// readPINSource reads the PIN from a file named by a path or a file: URI. One trailing
// newline is dropped: editors and `echo` add it, and no PIN ends with one.
func readPINSource(src string) (string, error) {
	path := src
	if u, err := url.Parse(src); err == nil && u.Scheme == "file" {
		path = u.Path
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeURI,
			Message: "无法读取 PIN 文件 " + path, Err: err}
	}
	pin := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return pin, nil
}

func errURI(format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeURI, "PKCS#11 URI 格式错误："+format, args...)
}

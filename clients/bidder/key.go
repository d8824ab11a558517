package bidder

import (
	"crypto"
	"fmt"
	"os"

	"github.com/kaiping/kaiping/identity/devpki"
)

// KeySource names where the bidder's private key is: on a PKCS#11 token (PKCS11, a
// pkcs11: URI, with an optional module and PIN file) or in a PEM key file (KeyFile).
type KeySource struct {
	PKCS11, PKCS11Module, PKCS11PINFile string
	KeyFile                             string
}

// OpenKey opens the private key src names: a key on a PKCS#11 token, which never leaves the
// token, or a PEM key file. The returned func releases it (logs out of the token).
func OpenKey(src KeySource) (crypto.Signer, func(), error) {
	if uri := src.PKCS11; uri != "" {
		return openToken(uri, src)
	}
	path := src.KeyFile
	if path == "" {
		return nil, nil, fmt.Errorf("请用 --key 指定私钥文件，或用 --pkcs11 指定 UKEY 中的私钥 (a private key is required)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("读取私钥 --key: %w", err)
	}
	k, err := devpki.ParseKeyPEM(b)
	if err != nil {
		return nil, nil, fmt.Errorf("私钥 %s 无法解析: %w", path, err)
	}
	return k, func() {}, nil
}

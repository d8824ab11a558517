//go:build !cgo

package bidder

import (
	"crypto"
	"errors"
)

// openToken refuses: this binary was built without cgo (make cross), and PKCS#11 loads the
// UKEY vendor's library through cgo.
func openToken(string, KeySource) (crypto.Signer, func(), error) {
	return nil, nil, errors.New("此版本的 kaiping 不支持 UKEY（PKCS#11，需 cgo 编译）：请使用 --key 私钥文件，或使用本机编译的版本 (built without PKCS#11)")
}

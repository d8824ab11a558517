package bidder

import (
	"bytes"
	"crypto/ecdh"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// Recipients are the bidder's own certificate and, where the tender has a rescue plan,
// the tender's rescue key.
func Recipients(t opening.Tender, leaf *smx509.Certificate) ([]seal.Recipient, error) {
	me, err := seal.NewCertRecipient(leaf)
	if err != nil {
		return nil, err
	}
	to := []seal.Recipient{me}
	if t.Rescue.Enabled {
		pub, err := ecdh.P256().NewPublicKey(t.Rescue.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("项目的补救公钥无效: %w", err)
		}
		r, err := seal.NewRescueRecipient(pub)
		if err != nil {
			return nil, err
		}
		if r.RecipientID() != t.Rescue.KeyID {
			return nil, fmt.Errorf("项目的补救公钥与其标识 %s 不符，拒绝加密", t.Rescue.KeyID)
		}
		to = append(to, r)
	}
	return to, nil
}

// LeafCertificate is the first certificate of a PEM chain.
func LeafCertificate(chain []byte) (*smx509.Certificate, error) {
	block, _ := pem.Decode(chain)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("证书文件不是 PEM 编码的证书")
	}
	return smx509.ParseCertificate(block.Bytes)
}

// OpenPlaintext opens the plaintext to seal. A summary (开标一览表) is first read and
// checked with opening.ParseSummary, the very parser the opening hall applies after
// decryption: a value that does not parse as its field's type would otherwise be sealed,
// submitted and receipted, and only fail at the opening, when it is too late to correct. So
// it is refused here, before anything is written or uploaded.
func OpenPlaintext(path string, kind seal.EnvelopeKind, fields []opening.SummaryField) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if kind != seal.Summary {
		return f, nil
	}
	defer f.Close()
	// One byte over the bound tells a summary the hall would refuse from one that fits.
	b, err := io.ReadAll(io.LimitReader(f, opening.MaxSummaryBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > opening.MaxSummaryBytes {
		return nil, fmt.Errorf("开标一览表 %s 超过 %d 字节，未加密", path, opening.MaxSummaryBytes)
	}
	if _, err := opening.ParseSummary(fields, b); err != nil {
		return nil, fmt.Errorf("开标一览表 %s 未通过检查，未加密: %w", path, err)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// SealFile seals in to out for the recipients, bound to b, in the tender's suite. It writes
// beside out and renames at the end: an interrupted run leaves no half-sealed file under the
// name the bidder will submit.
func SealFile(out string, in io.Reader, b seal.Binding, to []seal.Recipient, suite seal.Suite) (*seal.Sealed, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".sealing-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	sealed, err := seal.Seal(tmp, in, b, to, seal.WithSuite(suite))
	if err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, err
	}
	return sealed, nil
}

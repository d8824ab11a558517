package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/smx509"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

func bidSealCommand() *cli.Command {
	return &cli.Command{
		Name: "seal",
		Usage: "在本机加密投标文件（对本人证书及项目补救公钥加密） seal a bid file locally; " +
			"the plaintext never leaves this machine",
		Flags: append(serverFlags(), tenderFlag, sectionFlag,
			&cli.StringFlag{Name: "kind", Value: "summary", Usage: "信封 envelope: summary | technical | commercial"},
			&cli.StringFlag{Name: "in", Required: true, Usage: "明文投标文件 plaintext bid file"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "加密后的文件 sealed file to write"},
		),
		Action: bidSeal,
	}
}

// bidSeal fetches what the envelope must be bound to (tender, section, the bidder's own ID,
// the suite and the rescue key) and seals the file locally.
func bidSeal(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	t, sec, err := s.tender(ctx, cmd)
	if err != nil {
		return err
	}
	leaf, err := leafCertificate(s.cert)
	if err != nil {
		return err
	}
	to, err := sealRecipients(t, leaf)
	if err != nil {
		return err
	}
	kind := seal.EnvelopeKind(cmd.String("kind"))
	in, err := sealInput(cmd.String("in"), kind, t.SummaryFields)
	if err != nil {
		return err
	}
	defer in.Close()
	out := cmd.String("out")
	// Write beside the target and rename at the end: an interrupted run leaves no
	// half-sealed file under the name the bidder will submit.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".sealing-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	b := seal.Binding{Tender: t.ID, Section: sec.ID, Bidder: s.me.ID, Kind: kind}
	sealed, err := seal.Seal(tmp, in, b, to, seal.WithSuite(seal.Suite(t.Suite)))
	if err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Printf("已加密：%s（%s，%d 字节）\n", out, t.Suite, sealed.Size)
	return nil
}

// sealInput opens the plaintext to seal. A summary (开标一览表) is first read and checked
// with opening.ParseSummary, the very parser the opening hall applies after decryption: a
// value that does not parse as its field's type would otherwise be sealed, submitted and
// receipted, and only fail at the opening, when it is too late to correct. So it is refused
// here, before anything is written or uploaded.
func sealInput(path string, kind seal.EnvelopeKind, fields []opening.SummaryField) (io.ReadCloser, error) {
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

// sealRecipients are the bidder's own certificate and, where the tender has a rescue plan,
// the tender's rescue key.
func sealRecipients(t opening.Tender, leaf *smx509.Certificate) ([]seal.Recipient, error) {
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

// leafCertificate is the first certificate of a PEM chain.
func leafCertificate(chain []byte) (*smx509.Certificate, error) {
	block, _ := pem.Decode(chain)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("证书文件不是 PEM 编码的证书")
	}
	return smx509.ParseCertificate(block.Bytes)
}

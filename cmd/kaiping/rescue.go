package main

import (
	"context"
	"crypto/ecdh"
	"fmt"
	"net/http"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
)

// rescueCommand is `kaiping rescue ...`, the supervisors' side of a tender's rescue plan
// (解密失败补救方案).
func rescueCommand() *cli.Command {
	return &cli.Command{
		Name:  "rescue",
		Usage: "补救密钥份额（监督人员） rescue key shares, for supervisors",
		Commands: []*cli.Command{{
			Name: "verify-share",
			Usage: "取回本人的补救密钥份额并在本机校验：能用本人证书解开、属于该项目的补救公钥、与公开承诺一致 " +
				"fetch your share and check it locally",
			Flags:  append(serverFlags(), tenderFlag),
			Action: rescueVerifyShare,
		}},
	}
}

func rescueVerifyShare(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	var sh opening.RescueShare
	if err := s.api.Do(ctx, http.MethodGet, "/api/v1/tenders/"+cmd.String("tender")+"/rescue/share", nil, &sh); err != nil {
		return err
	}
	// The public key is checked against the tender's published one, not only the copy that
	// came with the share.
	var t opening.Tender
	if err := s.api.Do(ctx, http.MethodGet, "/api/v1/tenders/"+cmd.String("tender"), nil, &t); err != nil {
		return err
	}
	if t.Rescue.KeyID != sh.KeyID {
		return fmt.Errorf("份额所属的补救密钥 %s 与项目公布的 %s 不符", sh.KeyID, t.Rescue.KeyID)
	}
	pub, err := ecdh.P256().NewPublicKey(t.Rescue.PublicKey)
	if err != nil {
		return fmt.Errorf("项目公布的补救公钥无效: %w", err)
	}
	leaf, err := leafCertificate(s.cert)
	if err != nil {
		return err
	}
	id, err := seal.NewCertIdentity(leaf, s.key)
	if err != nil {
		return err
	}
	share, err := rescue.VerifyShare(sh.Share, id, sh.Commitments, pub)
	if err != nil {
		return err
	}
	share.Wipe()
	fmt.Printf("份额有效：项目 %s 补救密钥 %s，第 %d 份（共 %d 份，开启需 %d 份）\n", t.Code, sh.KeyID, sh.Share.Index, sh.Holders, sh.Threshold)
	return nil
}

package main

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"fmt"
	"net/http"

	"github.com/emmansun/gmsm/smx509"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
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
		}, {
			Name: "submit-share",
			Usage: "开标解密窗口内，为某投标人的投标文件提交本人的补救密钥份额（在本机解开并校验后经 TLS 提交）" +
				"hand in your share for one bidder's bid during the decrypt window",
			Flags: append(serverFlags(), tenderFlag, sectionFlag,
				&cli.StringFlag{Name: "bidder", Required: true, Usage: "投标人 ID 或名称 the bidder's ID or name"}),
			Action: rescueSubmitShare,
		}},
	}
}

func rescueVerifyShare(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	leaf, err := leafCertificate(s.cert)
	if err != nil {
		return err
	}
	share, sh, t, err := holderShare(ctx, s.api, cmd.String("tender"), leaf, s.key)
	if err != nil {
		return err
	}
	share.Wipe()
	fmt.Printf("份额有效：项目 %s 补救密钥 %s，第 %d 份（共 %d 份，开启需 %d 份）\n", t.Code, sh.KeyID, sh.Share.Index, sh.Holders, sh.Threshold)
	return nil
}

// holderShare fetches a supervisor's share of the tender's rescue key and checks it on this
// machine: it opens with the holder's own certificate key (a key file or a token), belongs
// to the rescue key the tender published (not only the copy that came with the share), and
// lies on the committed polynomial.
func holderShare(ctx context.Context, api *apiclient.Client, tender string, leaf *smx509.Certificate, key crypto.Signer) (rescue.Share, opening.RescueShare, opening.Tender, error) {
	var sh opening.RescueShare
	var t opening.Tender
	if err := api.Do(ctx, http.MethodGet, "/api/v1/tenders/"+tender+"/rescue/share", nil, &sh); err != nil {
		return rescue.Share{}, sh, t, err
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/tenders/"+tender, nil, &t); err != nil {
		return rescue.Share{}, sh, t, err
	}
	if t.Rescue.KeyID != sh.KeyID {
		return rescue.Share{}, sh, t, fmt.Errorf("份额所属的补救密钥 %s 与项目公布的 %s 不符", sh.KeyID, t.Rescue.KeyID)
	}
	pub, err := ecdh.P256().NewPublicKey(t.Rescue.PublicKey)
	if err != nil {
		return rescue.Share{}, sh, t, fmt.Errorf("项目公布的补救公钥无效: %w", err)
	}
	id, err := seal.NewCertIdentity(leaf, key)
	if err != nil {
		return rescue.Share{}, sh, t, err
	}
	share, err := rescue.VerifyShare(sh.Share, id, sh.Commitments, pub)
	return share, sh, t, err
}

// rescueSubmitShare checks the supervisor's share locally and hands it in for one bidder's
// bid; the server combines the shares once the threshold is reached, opens the bid's
// envelopes through the same verification as a bidder's key and wipes the key.
func rescueSubmitShare(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	leaf, err := leafCertificate(s.cert)
	if err != nil {
		return err
	}
	hall := sectionPath(cmd, "/hall")
	bidder, name, err := resolveBidder(ctx, s.api, hall, cmd.String("bidder"))
	if err != nil {
		return err
	}
	share, _, _, err := holderShare(ctx, s.api, cmd.String("tender"), leaf, s.key)
	if err != nil {
		return err
	}
	p, err := submitShare(ctx, s.api, hall, bidder, share)
	if err != nil {
		return err
	}
	fmt.Printf("已为「%s」提交第 %d 号份额：已收到 %d 份，开启需 %d 份\n", name, share.Index, p.Shares, p.Threshold)
	if len(p.Opened) > 0 {
		fmt.Printf("份额已够：补救密钥已合成、用后即毁，开启了 %d 份投标文件，正在逐块验证\n", len(p.Opened))
	}
	return nil
}

// submitShare hands a checked share in for a bidder's bid and wipes it.
func submitShare(ctx context.Context, api *apiclient.Client, hall string, bidder kaiping.ID, share rescue.Share) (opening.RescueProgress, error) {
	defer share.Wipe()
	var p opening.RescueProgress
	err := api.Do(ctx, http.MethodPost, hall+"/rescue-shares", opening.RescueShareRequest{Bidder: bidder, Share: share}, &p)
	return p, err
}

// resolveBidder turns a bidder's ID or exact name into its ID, from the hall's board.
func resolveBidder(ctx context.Context, api *apiclient.Client, hall, ref string) (kaiping.ID, string, error) {
	var board opening.BoardView
	if err := api.Do(ctx, http.MethodGet, hall+"/board", nil, &board); err != nil {
		return "", "", err
	}
	for _, b := range board.Board {
		if string(b.Bidder) == ref || b.BidderName == ref {
			return b.Bidder, b.BidderName, nil
		}
	}
	if id := kaiping.ID(ref); id.Valid() {
		return id, ref, nil
	}
	return "", "", fmt.Errorf("本标段投标文件集合中没有投标人「%s」", ref)
}

package main

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"

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
			Name: "decrypt-share",
			Usage: "开标解密窗口内，用本人份额在本机对某投标人投标文件的补救段落做部分解密，只提交部分解密值及其证明，份额不离开本机 " +
				"compute partial decryptions of one bidder's bid with your share, locally, and hand in only those",
			Flags: append(serverFlags(), tenderFlag, sectionFlag,
				&cli.StringFlag{Name: "bidder", Required: true, Usage: "投标人 ID 或名称 the bidder's ID or name"}),
			Action: rescueDecryptShare,
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

// rescueDecryptShare checks the supervisor's share locally, computes partial decryptions of
// the named bidder's rescue stanzas with it on this machine and hands in only those; the
// server opens the bid once k holders have, through the same verification as a bidder's key.
func rescueDecryptShare(ctx context.Context, cmd *cli.Command) error {
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
	p, err := decryptForBid(ctx, s.api, hall, bidder, share)
	if err != nil {
		return err
	}
	fmt.Printf("已为「%s」提交第 %d 号份额的部分解密值（份额未离开本机）：已有 %d 位持有人提交，开启需 %d 位\n", name, share.Index, p.Shares, p.Threshold)
	if len(p.Opened) > 0 {
		fmt.Printf("部分解密值已够：开启了 %d 份投标文件，正在逐块验证\n", len(p.Opened))
	}
	return nil
}

// decryptForBid fetches the E points of a bidder's rescue stanzas, computes D_i = s_i·E and
// its proof for each on this machine (rescue.PartialDecrypt), hands in only those, and
// wipes the share. The share itself is never sent.
func decryptForBid(ctx context.Context, api *apiclient.Client, hall string, bidder kaiping.ID, share rescue.Share) (opening.RescueProgress, error) {
	defer share.Wipe()
	var p opening.RescueProgress
	var st opening.RescueStanzas
	if err := api.Do(ctx, http.MethodGet, hall+"/rescue-stanzas?bidder_id="+url.QueryEscape(string(bidder)), nil, &st); err != nil {
		return p, err
	}
	if st.KeyID != share.KeyID || st.Index != share.Index {
		return p, fmt.Errorf("服务器所列的补救密钥 %s 第 %d 号份额与本人的第 %d 号份额不符", st.KeyID, st.Index, share.Index)
	}
	req := opening.RescuePartialsRequest{Bidder: bidder}
	for _, e := range st.Envelopes {
		part, err := rescue.PartialDecrypt(rand.Reader, share, e.Envelope, e.Ephemeral)
		if err != nil {
			return p, err
		}
		req.Partials = append(req.Partials, part)
	}
	err := api.Do(ctx, http.MethodPost, hall+"/rescue-partials", req, &p)
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

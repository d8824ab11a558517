// Package holder is the rescue-key holder's (a supervisor's) side of the rescue: fetching
// and checking the holder's share of a tender's rescue key on this machine, and handing in
// only partial decryptions made with it; the share itself never leaves the machine.
package holder

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/opening/seal"
)

// Share fetches a supervisor's share of the tender's rescue key and checks it on this
// machine: it opens with the holder's own certificate key (a key file or a token), belongs
// to the rescue key the tender published (not only the copy that came with the share), and
// lies on the committed polynomial.
func Share(ctx context.Context, api *apiclient.Client, tender string, leaf *smx509.Certificate, key crypto.Signer) (rescue.Share, opening.RescueShare, opening.Tender, error) {
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

// DecryptForBid fetches the E points of a bidder's rescue stanzas, computes D_i = s_i·E and
// its proof for each on this machine (rescue.PartialDecrypt), hands in only those, and
// wipes the share. The share itself is never sent.
func DecryptForBid(ctx context.Context, api *apiclient.Client, hall string, bidder kaiping.ID, share rescue.Share) (opening.RescueProgress, error) {
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

// ResolveBidder turns a bidder's ID or exact name into its ID, from the hall's board.
func ResolveBidder(ctx context.Context, api *apiclient.Client, hall, ref string) (kaiping.ID, string, error) {
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

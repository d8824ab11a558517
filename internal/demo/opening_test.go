package demo

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/opening"
)

// checkDemoOpening checks what the demo's opening printed against the server: the hall
// closed with all five bidders' confirmations and the objection answered, the record archived
// and downloadable from the printed address with the printed bidder's session, and the hall
// pages' links logging in as that bidder and as the host.
func checkDemoOpening(t *testing.T, w *demoWorld, printed string) {
	ctx := context.Background()
	for _, want := range []string{"主持人即可开启签到", "UKEY 损坏", "补救私钥从未合成", "公布开标记录", "开标记录摘要", "已归档",
		"提出异议", "当场答复", "签名确认", "开标结束"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the demo did not print %q", want)
		}
	}

	links := regexp.MustCompile(`(http://\S+)/hall/(bidder|host)\.html\?tender=([0-9a-f-]+)&section=BD1#token=(\S+)`).FindAllStringSubmatch(printed, -1)
	if len(links) != 2 {
		t.Fatalf("the demo printed %d hall links, want the bidder's and the host's", len(links))
	}
	clients := map[string]*apiclient.Client{}
	for _, l := range links {
		token, err := url.QueryUnescape(l[4])
		if err != nil {
			t.Fatal(err)
		}
		c := apiclient.New(w.base)
		c.Token = token
		var me kaiping.Principal
		role := map[string]kaiping.Role{"bidder": kaiping.RoleBidder, "host": kaiping.RoleHost}[l[2]]
		if err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil || !me.Has(role) || l[1] != w.base {
			t.Errorf("the %s link (%s) logs in as %+v, %v", l[2], l[1], me, err)
		}
		clients[l[2]] = c
	}
	hall := "/api/v1/tenders/" + links[0][3] + "/sections/BD1/hall"
	var board opening.BoardView
	if err := clients["host"].Do(ctx, http.MethodGet, hall+"/board", nil, &board); err != nil {
		t.Fatal(err)
	}
	confirmed := 0
	for _, b := range board.Board {
		if b.Confirmed != nil {
			confirmed++
		}
	}
	if board.State != opening.HallClosed || confirmed != 5 || len(board.Board) != 5 || len(board.Objections) != 1 || board.Objections[0].Answer == "" {
		t.Errorf("the demo's hall: %s, %d of %d confirmed, objections %+v", board.State, confirmed, len(board.Board), board.Objections)
	}
	var pr opening.PublishedRecord
	if err := clients["bidder"].Do(ctx, http.MethodGet, hall+"/record", nil, &pr); err != nil || !strings.Contains(printed, pr.Digest) {
		t.Errorf("the record's digest %s is not in what the demo printed (%v)", pr.Digest, err)
	}
	pdfURL := regexp.MustCompile(`http://\S+/record\.pdf`).FindString(printed)
	req, _ := http.NewRequest(http.MethodGet, pdfURL, nil)
	req.Header.Set("Authorization", "Bearer "+clients["bidder"].Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pdf bytes.Buffer
	_, _ = pdf.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
		t.Errorf("the printed PDF address %q: %s, %q…", pdfURL, resp.Status, pdf.Bytes()[:min(pdf.Len(), 8)])
	}
}

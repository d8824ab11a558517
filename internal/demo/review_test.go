package demo

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
)

// demoPublicLink is the printed public page of a publication.
var demoPublicLink = regexp.MustCompile(`(http://\S+)/public/publication\.html\?id=([0-9a-f-]+)`)

// checkDemoReview checks the review the demo ran: its story printed; the closed session
// recomputed from the ledger with every signature checked, as `kaiping evaluation verify`
// does; and the candidates public without a login.
func checkDemoReview(t *testing.T, w *demoWorld, printed string, session kaiping.ID) {
	ctx := context.Background()
	for _, want := range []string{"最高投标限价", "初步评审", "书面澄清", "以数字证书签名", "详细评审", "须纠正的问题", "评分表退回",
		"第 1 名中标候选人", "生成评标报告", "嵌入 PDF", "书面说明不同意见", "结束评标会议", "中标候选人公示", "evaluation verify"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the demo did not print %q", want)
		}
	}
	verifier, err := app.LoadVerifier(w.setup.Config, "")
	if err != nil {
		t.Fatal(err)
	}
	check, err := app.VerifyEvaluation(ctx, w.setup.Config, verifier, session)
	if err != nil {
		t.Fatalf("evaluation verify after the demo: %v", err)
	}
	if check.Sections != 1 || check.Bids != len(demoOpeningPrices) || check.Signatures != 7 || check.PDFSignatures+check.CMS != 7 {
		t.Errorf("verify checked %+v, want 1 section, %d bids and 7 signatures (in the PDF or as CMS)", *check, len(demoOpeningPrices))
	}
	link := demoPublicLink.FindStringSubmatch(printed)
	if link == nil {
		t.Fatal("no public publication link printed")
	}
	resp, err := http.Get(w.base + "/api/v1/public/publications/" + link[2])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), demoBidders[1].name) {
		t.Errorf("the public publication without login: %s %s", resp.Status, body)
	}
}

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kaiping/kaiping/opening"
)

// TestRescueDecryptShareCommand: two supervisors rescue 丙's bid with `kaiping rescue
// decrypt-share`, each checking its share and computing partial decryptions on its own
// machine: refused before the window, twice from one holder, from a bidder holding none,
// and for a bidder not in the set; the second holder's partials open the bid, by name or
// by ID. No share value reaches the database.
func TestRescueDecryptShareCommand(t *testing.T) {
	w := mustHallCLIWorld(t)
	ctx := context.Background()
	zhang, li := w.supervisors[0], w.supervisors[1]
	lost := w.bidders[2]
	if _, err := w.as(t, zhang, "rescue", "decrypt-share", "--bidder", string(lost.ID)); err == nil || !strings.Contains(err.Error(), "hall.window_not_open") {
		t.Errorf("a share before the window: %v", err)
	}
	w.mustMove(t, opening.HallCheckingIn)
	w.mustMove(t, opening.HallDecrypting)
	w.mustUnlock(t, w.bidders[0], w.bidders[1])
	out, err := w.as(t, zhang, "rescue", "decrypt-share", "--bidder", lost.Name)
	if err != nil || !strings.Contains(out, "已有 1 位持有人提交，开启需 2 位") {
		t.Fatalf("the first share: %v\n%s", err, out)
	}
	if _, err := w.as(t, zhang, "rescue", "decrypt-share", "--bidder", lost.Name); err == nil || !strings.Contains(err.Error(), "hall.share_duplicate") {
		t.Errorf("the same share twice: %v", err)
	}
	if _, err := w.as(t, w.bidders[0], "rescue", "decrypt-share", "--bidder", lost.Name); err == nil {
		t.Error("a bidder handed in a share")
	}
	if _, err := w.as(t, li, "rescue", "decrypt-share", "--bidder", "不存在的公司"); err == nil || !strings.Contains(err.Error(), "没有投标人") {
		t.Errorf("a bidder not in the set: %v", err)
	}
	out, err = w.as(t, li, "rescue", "decrypt-share", "--bidder", string(lost.ID))
	if err != nil || !strings.Contains(out, "开启了 1 份投标文件") {
		t.Fatalf("the second share: %v\n%s", err, out)
	}
	w.waitDecrypted(t)
	var via string
	if err := w.a.DB.Pool.QueryRow(ctx, `SELECT via FROM hall_envelopes WHERE bidder_id = $1`, lost.ID).Scan(&via); err != nil || via != "rescue" {
		t.Errorf("丙's envelope opened via %q, %v", via, err)
	}
	var partials int
	if err := w.a.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM hall_rescue_partials`).Scan(&partials); err != nil || partials != 0 {
		t.Errorf("%d partials kept after the rescue, %v", partials, err)
	}
}

package app

import (
	"context"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
)

// TestVerifyEvaluation runs `kaiping evaluation verify` on a session the committee took
// through the review, the report and every member's signature over the app's routes: the
// evaluation is recomputed from the ledger and every signature checks; once one stored
// signature's digest is changed, the verification names it.
func TestVerifyEvaluation(t *testing.T) {
	rw := mustReviewWorld(t)
	rw.mustClosed(t)
	ctx := context.Background()
	cfg := rw.setup.Config
	v, err := LoadVerifier(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	check, err := VerifyEvaluation(ctx, cfg, v, rw.sess.ID)
	if err != nil {
		t.Fatalf("verify the closed session: %v", err)
	}
	// Five members' marks of 3 bids, 2 items in each stage; four ECDSA members signed the PDF,
	// KF-01 (SM2) a detached CMS.
	if check.Sections != 1 || check.Bids != 3 || check.Marks != 60 || check.Signatures != len(reviewCodes) || check.PDFSignatures != 4 ||
		check.CMS != 1 || check.Digest == "" {
		t.Errorf("check %+v, want 1 section, 3 bids, 60 marks, %d signatures (4 in the PDF, 1 CMS)", *check, len(reviewCodes))
	}

	tag, err := rw.DB.Pool.Exec(ctx, `UPDATE eval_report_signatures SET digest = $1
		WHERE session_id = $2 AND member_id = $3`, strings.Repeat("a", 64), rw.sess.ID, rw.byCode[reviewChair].ID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("tamper with the chair's signature: %v (%d rows)", err, tag.RowsAffected())
	}
	_, err = VerifyEvaluation(ctx, cfg, v, rw.sess.ID)
	if kaiping.CodeOf(err) != "verify.signature_digest" {
		t.Errorf("verify after tampering: %v, want verify.signature_digest", err)
	}
}

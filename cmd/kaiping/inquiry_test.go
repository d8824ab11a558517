package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity/certsign"
)

// TestInquiryCommands: `kaiping inquiry sign` signs an answer with the bidder's SM2 key file
// on this machine and prints the signature the web page takes, good for that inquiry, text
// and decision only; `list` logs in and lists none; `answer` signs and sends, and the server's
// refusal of an inquiry that is not the bidder's comes back with its code. (The answer's
// happy path on a session in review: internal/evaltest TestInquiryKinds and the page test
// TestInquiryBidderPage.)
func TestInquiryCommands(t *testing.T) {
	w := mustBidWorld(t)
	id := kaiping.NewID()
	text := "确认按大写金额修正为 12,340,000.00 元。\n"
	file := filepath.Join(w.dir, "answer.txt")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "inquiry", "sign", "--cert", w.cert, "--key", w.key, "--inquiry", string(id), "--text-file", file, "--decision", "confirm")
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("sign printed %q: %v", out, err)
	}
	chain, _ := os.ReadFile(w.cert)
	leaf, err := bidder.LeafCertificate(chain)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(id kaiping.ID, text string, d evaluation.InquiryDecision) bool {
		ok, _ := certsign.Verify(leaf.PublicKey, evaluation.InquiryAnswerMessage(id, evaluation.TextDigest(text), d), sig)
		return ok
	}
	if !verify(id, text, evaluation.DecisionConfirm) {
		t.Fatal("the printed signature does not verify over the answer")
	}
	if verify(id, text, evaluation.DecisionRefuse) || verify(id, strings.TrimSpace(text), evaluation.DecisionConfirm) || verify(kaiping.NewID(), text, evaluation.DecisionConfirm) {
		t.Error("the signature verifies for another decision, text or inquiry")
	}
	if _, err := run(t, "inquiry", "sign", "--cert", w.cert, "--key", w.key, "--inquiry", string(id), "--text-file", filepath.Join(w.dir, "none.txt")); err == nil {
		t.Error("sign without its text file succeeded")
	}

	server := []string{"--server", w.base, "--cert", w.cert, "--key", w.key}
	if out := mustRun(t, append([]string{"inquiry", "list"}, server...)...); !strings.Contains(out, "没有向您发出书面请求") {
		t.Errorf("list: %s", out)
	}
	_, err = run(t, append([]string{"inquiry", "answer", "--inquiry", string(id), "--text-file", file, "--decision", "confirm"}, server...)...)
	if err == nil || !strings.Contains(err.Error(), "inquiry.not_found") {
		t.Errorf("answering an inquiry that is not the bidder's: %v", err)
	}
}

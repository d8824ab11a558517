package evaltest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// TestVerifyDrawDetectsTampering re-runs a draw from its record after changing one thing at a
// time, as someone with write access to the database might: each change is named.
func TestVerifyDrawDetectsTampering(t *testing.T) {
	s := mustScene(t)
	ctx := context.Background()
	d := s.mustDraw(t)
	ms, err := s.Store.Members(ctx, d.ID)
	must(t, err)
	_, err = s.Service.Release(ctx, s.Actor(s.Host), d.ID, ms[0].Expert, evaluation.MemberDeclined, "电话告知有回避情形")
	must(t, err)
	clean, err := s.Store.DrawRecord(ctx, d.ID)
	must(t, err)
	if _, err := evaluation.VerifyDraw(clean); err != nil {
		t.Fatalf("untouched record: %v", err)
	}
	entry := func(rec *evaluation.DrawRecord, action string) *evaluation.LedgerEntry {
		for i := range rec.Entries {
			if rec.Entries[i].Action == action {
				return &rec.Entries[i]
			}
		}
		t.Fatalf("no %s entry", action)
		return nil
	}
	other := sha256.Sum256([]byte("a seed chosen after the fact"))
	tests := []struct {
		name string
		edit func(*evaluation.DrawRecord)
		code string
	}{
		{"seed reveal does not match the commitment", func(r *evaluation.DrawRecord) {
			entry(r, "draw.reveal").Detail, _ = json.Marshal(evaluation.RevealDetail{Seed: hex.EncodeToString(other[:])})
			r.Draw.Seed = hex.EncodeToString(other[:])
		}, "draw.seed_mismatch"},
		{"commitment rewritten to fit another seed", func(r *evaluation.DrawRecord) {
			e := entry(r, "draw.commit")
			e.Detail = bytes.Replace(e.Detail, []byte(d.Commitment), []byte(draw.Commitment(other[:])), 1)
		}, "draw.seed_mismatch"},
		{"database seed differs from the ledger", func(r *evaluation.DrawRecord) { r.Draw.Seed = hex.EncodeToString(other[:]) }, "draw.seed_mismatch"},
		{"snapshot edited", func(r *evaluation.DrawRecord) {
			r.Snapshot = bytes.Replace(r.Snapshot, []byte("\t410400\t"), []byte("\t410200\t"), 1)
		}, "draw.snapshot_mismatch"},
		{"exclusions edited", func(r *evaluation.DrawRecord) { r.Exclusions = []byte("[]") }, "draw.exclusions_mismatch"},
		{"rules edited", func(r *evaluation.DrawRecord) { r.Draw.Rules.MinOutside = 0 }, "draw.rules_mismatch"},
		{"result reordered", func(r *evaluation.DrawRecord) {
			e := entry(r, "draw.result")
			var res evaluation.ResultDetail
			must(t, json.Unmarshal(e.Detail, &res))
			res.Members[0], res.Members[1] = res.Members[1], res.Members[0]
			e.Detail, _ = json.Marshal(res)
		}, "draw.result_mismatch"},
		{"replacement swapped", func(r *evaluation.DrawRecord) {
			e := entry(r, "draw.replace")
			var rep evaluation.ReplaceDetail
			must(t, json.Unmarshal(e.Detail, &rep))
			rep.Replacement.Position++
			e.Detail, _ = json.Marshal(rep)
		}, "draw.replacement_mismatch"},
		{"member row swapped for another expert", func(r *evaluation.DrawRecord) { r.Members[1].Expert = s.experts["KF06"].ID }, "draw.members_mismatch"},
		{"declined member shown as accepted", func(r *evaluation.DrawRecord) {
			for i := range r.Members {
				if r.Members[i].State == evaluation.MemberDeclined {
					r.Members[i].State = evaluation.MemberAccepted
				}
			}
		}, "draw.members_mismatch"},
		{"snapshot before commitment", func(r *evaluation.DrawRecord) {
			r.Entries[0].Seq, r.Entries[1].Seq = r.Entries[1].Seq, r.Entries[0].Seq
		}, "draw.ledger_order"},
		{"reveal missing", func(r *evaluation.DrawRecord) {
			r.Entries = slices.DeleteFunc(r.Entries, func(e evaluation.LedgerEntry) bool { return e.Action == "draw.reveal" })
		}, "draw.verify_incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := clean
			rec.Entries = slices.Clone(clean.Entries)
			for i := range rec.Entries {
				rec.Entries[i].Detail = slices.Clone(clean.Entries[i].Detail)
			}
			rec.Snapshot = slices.Clone(clean.Snapshot)
			rec.Members = slices.Clone(clean.Members)
			rec.Draw.Rules.Quotas = slices.Clone(clean.Draw.Rules.Quotas)
			tt.edit(&rec)
			_, err := evaluation.VerifyDraw(rec)
			if kaiping.CodeOf(err) != tt.code {
				t.Fatalf("verify: %v, want %s", err, tt.code)
			}
		})
	}
}

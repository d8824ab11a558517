package evaluation

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// VerifyReport is what re-running a draw established.
type VerifyReport struct {
	Draw           kaiping.ID    `json:"draw"`
	Tender         kaiping.ID    `json:"tender"`
	Status         DrawStatus    `json:"status"`
	Commitment     string        `json:"commitment"`
	Seed           string        `json:"seed"`
	SnapshotDigest string        `json:"snapshot_digest"`
	SnapshotSize   int           `json:"snapshot_size"`
	Excluded       int           `json:"excluded"`
	Initial        []draw.Member `json:"initial"`
	Replacements   int           `json:"replacements"`
	Current        []draw.Member `json:"current"`
	Entries        []int64       `json:"ledger_entries"`
}

func tampered(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, code, format, args...)
}

// VerifyDraw re-runs a draw from its record and checks that everything agrees: the seed
// hashes to the commitment made before the snapshot ("draw.seed_mismatch"), the stored
// snapshot and exclusions have the ledgered digests ("draw.snapshot_mismatch",
// "draw.exclusions_mismatch"), the pick from seed + snapshot + ledgered rules gives exactly
// the ledgered committee ("draw.result_mismatch") and every replacement the next one of the
// same sequence ("draw.replacement_mismatch"), and the database's members are those
// ("draw.members_mismatch"). Each failure is KindInvalid with a message naming what differs.
// It does not check the ledger entries' signatures; the caller proves their inclusion.
func VerifyDraw(rec DrawRecord) (VerifyReport, error) {
	rep := VerifyReport{Draw: rec.Draw.ID, Tender: rec.Draw.Tender, Status: rec.Draw.Status}
	var (
		commit                 CommitDetail
		snap                   SnapshotDetail
		result                 *ResultDetail
		fail                   *FailDetail
		seedHex                string
		reps                   []ReplaceDetail
		commitAt, snapAt, pick int64 = -1, -1, -1
		revealAt               int64 = -1
	)
	for _, e := range rec.Entries {
		rep.Entries = append(rep.Entries, e.Seq)
		var err error
		switch e.Action {
		case ActionDrawCommit:
			err = once(&commitAt, e.Seq, e.Detail, &commit)
		case ActionDrawSnapshot:
			err = once(&snapAt, e.Seq, e.Detail, &snap)
		case ActionDrawResult:
			result = &ResultDetail{}
			err = once(&pick, e.Seq, e.Detail, result)
		case ActionDrawFail:
			fail = &FailDetail{}
			err = once(&pick, e.Seq, e.Detail, fail)
		case ActionDrawReveal:
			var r RevealDetail
			err = once(&revealAt, e.Seq, e.Detail, &r)
			seedHex = r.Seed
		case ActionDrawReplace:
			var r ReplaceDetail
			err = json.Unmarshal(e.Detail, &r)
			reps = append(reps, r)
		}
		if err != nil {
			return rep, tampered("draw.ledger_format", "审计日志第 %d 条（%s）无法解析：%v", e.Seq, e.Action, err)
		}
	}
	switch {
	case commitAt < 0:
		return rep, tampered("draw.verify_incomplete", "审计日志中没有该抽取的种子承诺（draw.commit）")
	case snapAt < 0 || revealAt < 0 || pick < 0:
		return rep, kaiping.Errorf(kaiping.KindConflict, "draw.verify_incomplete", "该抽取尚未完成（状态 %s），没有可复核的结果", rec.Draw.Status)
	case !(commitAt < snapAt && snapAt < pick && snapAt < revealAt):
		return rep, tampered("draw.ledger_order", "审计日志顺序错误：种子承诺（第 %d 条）须早于专家库快照（第 %d 条），快照须早于抽取结果与种子揭示", commitAt, snapAt)
	}
	rep.Commitment, rep.Seed = commit.Commitment, seedHex
	rep.SnapshotDigest, rep.SnapshotSize, rep.Excluded = snap.Digest, snap.Size, snap.Excluded

	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		return rep, tampered("draw.seed_mismatch", "审计日志中揭示的种子不是十六进制")
	}
	if err := draw.CheckReveal(commit.Commitment, seed); err != nil {
		return rep, err
	}
	if rec.Draw.Commitment != commit.Commitment || rec.Draw.Seed != seedHex {
		return rep, tampered("draw.seed_mismatch", "数据库中的承诺值或种子与审计日志不一致（数据库种子 %q，日志种子 %q）", rec.Draw.Seed, seedHex)
	}
	if d := draw.Digest(rec.Snapshot); d != snap.Digest {
		return rep, tampered("draw.snapshot_mismatch", "存储的专家库快照摘要 %s 与审计日志中的 %s 不符", d, snap.Digest)
	}
	if d := draw.Digest(rec.Exclusions); d != snap.ExclusionsDigest {
		return rep, tampered("draw.exclusions_mismatch", "存储的回避名单摘要 %s 与审计日志中的 %s 不符", d, snap.ExclusionsDigest)
	}
	if !reflect.DeepEqual(rec.Draw.Rules, commit.Rules) {
		return rep, tampered("draw.rules_mismatch", "数据库中的抽取规则与审计日志中承诺时的规则不一致")
	}
	s, err := draw.DecodeSnapshot(rec.Snapshot)
	if err != nil {
		return rep, err
	}
	if len(s.Entries) != snap.Size {
		return rep, tampered("draw.snapshot_mismatch", "快照有 %d 名专家，审计日志记为 %d 名", len(s.Entries), snap.Size)
	}
	dr, err := draw.New(seed, s, commit.Rules)
	if err != nil {
		return rep, err
	}
	initial, err := dr.Initial()
	if fail != nil {
		var short *draw.ShortageError
		if !errors.As(err, &short) || !reflect.DeepEqual(short.Shortfalls, fail.Shortfalls) {
			return rep, tampered("draw.result_mismatch", "审计日志记载抽取失败（%s），复算结果不同：%v", fail.Message, err)
		}
		return rep, nil
	}
	if err != nil {
		return rep, tampered("draw.result_mismatch", "审计日志记载抽取成功，复算失败：%v", err)
	}
	if i := firstDifference(initial, result.Members); i >= 0 {
		return rep, tampered("draw.result_mismatch", "复算的第 %d 名专家与审计日志不符（复算 %s，日志 %s）", i+1, memberAt(initial, i), memberAt(result.Members, i))
	}
	rep.Initial = initial
	for i, r := range reps {
		m, ok, err := dr.Replace(string(r.Out))
		if err != nil || ok != (r.Replacement != nil) || ok && m != *r.Replacement {
			want := "无人递补"
			if r.Replacement != nil {
				want = r.Replacement.Expert
			}
			got := "无人递补"
			if ok {
				got = m.Expert
			}
			return rep, tampered("draw.replacement_mismatch", "第 %d 次递补复算为 %s，审计日志为 %s", i+1, got, want)
		}
	}
	rep.Replacements = len(reps)
	rep.Current = dr.Active()
	return rep, checkMembers(rec.Members, initial, reps)
}

// once decodes an entry that must appear once.
func once(at *int64, seq int64, detail []byte, v any) error {
	if *at >= 0 {
		return fmt.Errorf("重复出现（第 %d 条与第 %d 条）", *at, seq)
	}
	*at = seq
	return json.Unmarshal(detail, v)
}

func firstDifference(a, b []draw.Member) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func memberAt(ms []draw.Member, i int) string {
	if i >= len(ms) {
		return "（无）"
	}
	return fmt.Sprintf("%s@%d", ms[i].Expert, ms[i].Position)
}

// checkMembers compares the database's members with what the ledger says: the initial
// committee in round 0, then each replacement in its round, and the states of those who left.
func checkMembers(stored []Member, initial []draw.Member, reps []ReplaceDetail) error {
	type key struct {
		expert   string
		position int
		round    int
	}
	want := map[key]MemberState{}
	for _, m := range initial {
		want[key{m.Expert, m.Position, 0}] = MemberPending
	}
	left := map[string]MemberState{}
	for i, r := range reps {
		left[string(r.Out)] = r.Outcome
		if r.Replacement != nil {
			want[key{r.Replacement.Expert, r.Replacement.Position, i + 1}] = MemberPending
		}
	}
	if len(stored) != len(want) {
		return tampered("draw.members_mismatch", "数据库中有 %d 名抽取专家记录，审计日志为 %d 名", len(stored), len(want))
	}
	for _, m := range stored {
		k := key{string(m.Expert), m.Position, m.Round}
		if _, ok := want[k]; !ok {
			return tampered("draw.members_mismatch", "数据库中的专家 %s（序列位置 %d，第 %d 轮）不在审计日志中", m.Expert, m.Position, m.Round)
		}
		out, gone := left[string(m.Expert)]
		if gone && m.State != out || !gone && !m.State.current() {
			return tampered("draw.members_mismatch", "数据库中专家 %s 的状态 %s 与审计日志不符", m.Expert, m.State)
		}
	}
	return nil
}

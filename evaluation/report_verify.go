package evaluation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/scoring"
	"github.com/kaiping/kaiping/identity/certsign"
)

// ReportRecord is everything a session's report is checked from: the session, the tender's
// method, each section's bids as the opening recorded them, the session's ledger entries in
// order, the stored report and its signatures, and the certificates they name.
type ReportRecord struct {
	Session      Session
	Method       scoring.Method
	Bids         map[kaiping.ID][]RecordedBid
	Entries      []LedgerEntry
	Report       StoredReport
	Signatures   []ReportSignature
	Certificates map[string][]byte
}

// ReportCheck is what a verification checked.
type ReportCheck struct {
	Digest        string `json:"digest"`
	Sections      int    `json:"sections"`
	Bids          int    `json:"bids"`
	Marks         int    `json:"marks"`
	Signatures    int    `json:"signatures"`
	PDFSignatures int    `json:"pdf_signatures"`
	CMS           int    `json:"cms"`
}

func mismatch(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, code, format, args...)
}

// sectionReplay is a section's review as the ledger tells it.
type sectionReplay struct {
	rev     Review
	parts   map[[2]string][]Mark // (member, stage) → marks of the parts so far
	marks   map[[2]string][]Mark // (member, stage) → submitted marks
	summary string               // inputs digest of the last summary
}

// CheckReport recomputes every section's inputs, totals, ranks and candidates from the
// ledger and compares them with the report, then checks the report's digest and every
// member's signature; papers (nil: no PDF) checks the PDF and SM2 signatures. The error
// names the first mismatch.
func CheckReport(rec ReportRecord, papers ReportPapers) (ReportCheck, error) {
	check := ReportCheck{Digest: rec.Report.Digest}
	sum := sha256.Sum256(rec.Report.Body)
	if hex.EncodeToString(sum[:]) != rec.Report.Digest {
		return check, mismatch("verify.report_digest", "评标报告内容的摘要与登记的摘要 %s 不符：报告被改动", rec.Report.Digest)
	}
	var rep Report
	if err := json.Unmarshal(rec.Report.Body, &rep); err != nil {
		return check, mismatch("verify.report_format", "评标报告不是有效的 JSON：%v", err)
	}
	if a, b := mustJSON(rep.Method), mustJSON(rec.Method.Normalized()); !bytes.Equal(a, b) {
		return check, mismatch("verify.method", "评标报告所载评标办法与招标时的评标办法不一致")
	}
	sections, built, err := replayReview(rec.Entries, &check)
	if err != nil {
		return check, err
	}
	if built != rec.Report.Digest {
		return check, mismatch("verify.report_built", "审计日志记录的报告摘要 %s 与报告的摘要 %s 不符", built, rec.Report.Digest)
	}
	for _, rs := range rep.Sections {
		if err := verifySection(rec, rs, sections[string(rs.Section)], &check); err != nil {
			return check, err
		}
	}
	return check, verifySignatures(rec, papers, &check)
}

// replayReview reads the session's review and report entries into each section's review, and
// returns the digest of the last report built.
func replayReview(entries []LedgerEntry, check *ReportCheck) (map[string]*sectionReplay, string, error) {
	out := map[string]*sectionReplay{}
	built := ""
	for _, e := range entries {
		var d struct {
			Section  string       `json:"section"`
			Group    string       `json:"group"`
			Member   string       `json:"member"`
			Stage    string       `json:"stage"`
			Marks    []Mark       `json:"marks"`
			Digest   string       `json:"digest"`
			Decision *BidDecision `json:"decision"`
			Ceiling  int64        `json:"ceiling"`
			Downward *int64       `json:"downward"`
			Inputs   string       `json:"inputs_digest"`
		}
		if e.Action != ActionReportBuilt && !strings.HasPrefix(e.Action, "review.") {
			continue
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			return nil, "", mismatch("verify.entry", "审计日志第 %d 条（%s）无法解析：%v", e.Seq, e.Action, err)
		}
		if e.Action == ActionReportBuilt {
			built = d.Digest
			continue
		}
		if d.Section == "" {
			continue
		}
		s := out[d.Section]
		if s == nil {
			s = &sectionReplay{rev: Review{Group: d.Group, Stage: ReviewSummarized}, parts: map[[2]string][]Mark{}, marks: map[[2]string][]Mark{}}
			out[d.Section] = s
		}
		key := [2]string{d.Member, d.Stage}
		switch e.Action {
		case ActionReviewFacts:
			s.rev.Ceiling, s.rev.Downward = d.Ceiling, d.Downward
		case ActionReviewMarks:
			s.parts[key] = append(s.parts[key], d.Marks...)
		case ActionReviewSubmit:
			got := MarksDigest(s.parts[key])
			if got != d.Digest {
				return nil, "", mismatch("verify.marks_digest", "审计日志第 %d 条：评委 %s 提交的%s结果摘要与其各部分评分不符", e.Seq, d.Member, ReviewStage(d.Stage).Label())
			}
			s.marks[key], s.parts[key] = s.parts[key], nil
			check.Marks += len(s.marks[key])
		case ActionReviewReopenMark:
			delete(s.marks, key)
		case ActionReviewDecision:
			if d.Decision != nil {
				s.rev.Decisions = append(s.rev.Decisions, *d.Decision)
			}
		case ActionReviewSummary:
			s.summary = d.Inputs
		case ActionReviewReopen:
			s.summary = ""
		}
	}
	return out, built, nil
}

// verifySection recomputes one section from its replay and compares it with the report.
func verifySection(rec ReportRecord, rs ReportSection, s *sectionReplay, check *ReportCheck) error {
	if s == nil || s.summary == "" {
		return mismatch("verify.no_summary", "审计日志中没有标段 %s 的评审汇总", rs.Code)
	}
	sess := rec.Session
	c := &reviewCase{sess: &sess, rev: &s.rev, method: rec.Method.Normalized(), bids: rec.Bids[rs.Section]}
	var marks []MemberMark
	for key, ms := range s.marks {
		for _, m := range ms {
			marks = append(marks, MemberMark{Member: kaiping.ID(key[0]), Mark: m})
		}
	}
	in := c.inputs(marks, true)
	if got := InputsDigest(in); got != s.summary || got != rs.InputsDigest {
		return mismatch("verify.inputs", "标段 %s：由审计日志重建的计算输入摘要 %s 与汇总时的 %s、报告中的 %s 不符", rs.Code, got, s.summary, rs.InputsDigest)
	}
	res, err := scoring.Compute(c.method, in)
	if err != nil {
		return mismatch("verify.compute", "标段 %s：无法由审计日志重新计算：%s", rs.Code, kaiping.MessageOf(err))
	}
	for i, o := range res.Bids {
		if i >= len(rs.Result.Bids) || !bytes.Equal(mustJSON(o), mustJSON(rs.Result.Bids[i])) {
			return mismatch("verify.result", "标段 %s：重新计算的第 %d 行（%s，得分 %s，排名 %d）与报告不符", rs.Code, i+1, o.Bidder, hundredths(o.Total), o.Rank)
		}
	}
	if len(res.Bids) != len(rs.Result.Bids) || !slices.Equal(res.Candidates, rs.Result.Candidates) {
		return mismatch("verify.candidates", "标段 %s：重新计算的中标候选人 %v 与报告中的 %v 不符", rs.Code, res.Candidates, rs.Result.Candidates)
	}
	for i, cand := range rs.Candidates {
		if i >= len(res.Candidates) || string(cand.Bidder) != res.Candidates[i] {
			return mismatch("verify.candidates", "标段 %s：报告所列第 %d 名中标候选人与计算结果不符", rs.Code, i+1)
		}
	}
	check.Sections++
	check.Bids += len(res.Bids)
	return nil
}

// verifySignatures checks each member's signature over the report's digest with the
// certificate it names, its ledger entry, and the PDF and SM2 signatures.
func verifySignatures(rec ReportRecord, papers ReportPapers, check *ReportCheck) error {
	signed := map[string]bool{}
	for _, e := range rec.Entries {
		if e.Action == ActionReportSigned || e.Action == ActionReportRefused {
			var d struct{ Member, Digest string }
			_ = json.Unmarshal(e.Detail, &d)
			signed[d.Member+"|"+d.Digest] = true
		}
	}
	var pdfSigners [][]byte
	for _, g := range rec.Signatures {
		name := string(g.Member)
		if m, err := rec.Session.member(g.Member); err == nil {
			name = m.Name
		}
		if g.Digest != rec.Report.Digest {
			return mismatch("verify.signature_digest", "评委 %s 签署的摘要 %s 不是评标报告当前的摘要：报告在其签署后被改动", name, g.Digest)
		}
		if !signed[string(g.Member)+"|"+g.Digest] {
			return mismatch("verify.signature_ledger", "评委 %s 的签署在审计日志中没有记录", name)
		}
		if g.Kind == SignatureRefused {
			continue
		}
		der, ok := rec.Certificates[g.Certificate]
		if !ok {
			return mismatch("verify.certificate", "评委 %s 签署所用证书 %s 未在平台登记", name, g.Certificate)
		}
		cert, err := smx509.ParseCertificate(der)
		if err != nil {
			return mismatch("verify.certificate", "评委 %s 的证书无法解析：%v", name, err)
		}
		if ok, _ := certsign.Verify(cert.PublicKey, ReportMessage(rec.Session.ID, g.Member, g.Digest, g.Dissent), g.Signature); !ok {
			return mismatch("verify.signature", "评委 %s 对评标报告摘要的签名验证失败", name)
		}
		check.Signatures++
		switch {
		case len(g.CMS) > 0 && papers != nil:
			if err := papers.VerifyCMS(rec.Report.Body, g.CMS, der); err != nil {
				return mismatch("verify.cms", "评委 %s 的 SM2 CMS 签名验证失败：%s", name, kaiping.MessageOf(err))
			}
			check.CMS++
		case g.PDFRevision > 0:
			pdfSigners = append(pdfSigners, der)
		}
	}
	if papers == nil || len(rec.Report.PDF) == 0 {
		return nil
	}
	got, err := papers.PDFSigners(rec.Report.PDF)
	if err != nil {
		return mismatch("verify.pdf", "评标报告 PDF 的签名验证失败：%s", kaiping.MessageOf(err))
	}
	if len(got) != len(pdfSigners) {
		return mismatch("verify.pdf", "评标报告 PDF 中有 %d 个有效签名，应为 %d 个", len(got), len(pdfSigners))
	}
	for i := range got {
		if !bytes.Equal(got[i], pdfSigners[i]) {
			return mismatch("verify.pdf", "评标报告 PDF 的第 %d 个签名不是第 %d 位签署评委的证书所签", i+1, i+1)
		}
	}
	check.PDFSignatures = len(got)
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("evaluation: %v", err))
	}
	return b
}

// ReportRecord gathers what CheckReport needs for session id from the store and the
// opening's records.
func (s *Service) ReportRecord(ctx context.Context, id kaiping.ID) (ReportRecord, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return ReportRecord{}, err
	}
	rec := ReportRecord{Session: sess, Bids: map[kaiping.ID][]RecordedBid{}, Certificates: map[string][]byte{}}
	facts, err := s.store.TenderFacts(ctx, sess.Tender)
	if err != nil {
		return rec, err
	}
	if facts.Method == nil {
		return rec, reviewConflict("review.no_method", "该项目招标时未载明评标办法")
	}
	rec.Method = *facts.Method
	if s.records == nil {
		return rec, kaiping.E(kaiping.KindUnavailable, "review.records_unavailable", "本平台未配置开标记录服务")
	}
	for _, g := range sess.Groups {
		for _, sec := range g.Sections {
			if rec.Bids[sec.ID], err = s.records.RecordedBids(ctx, sec.ID); err != nil {
				return rec, err
			}
		}
	}
	if rec.Entries, err = s.store.SessionEntries(ctx, id); err != nil {
		return rec, err
	}
	if rec.Report, err = s.store.StoredReport(ctx, id); err != nil {
		return rec, err
	}
	if rec.Signatures, err = s.store.ReportSignatures(ctx, id); err != nil {
		return rec, err
	}
	for _, g := range rec.Signatures {
		m, err := sess.member(g.Member)
		if err != nil || g.Certificate == "" {
			continue
		}
		if der, err := s.store.PrincipalCertificate(ctx, m.Principal, g.Certificate); err == nil {
			rec.Certificates[g.Certificate] = der
		}
	}
	return rec, nil
}

package evaluation

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/certsign"
)

// The ledger actions (and session event kinds) of the report.
const (
	ActionReportBuilt    = "report.built"
	ActionReportSigned   = "report.signed"
	ActionReportRefused  = "report.refused"
	ActionReportArchived = "report.archived"
)

// ReportPapers renders the report's PDF and checks the members' signatures on it (Papers is
// the platform's).
type ReportPapers interface {
	// Render sets the report in a PDF.
	Render(r Report, digest string) ([]byte, error)
	// PDFDigest prepares a member's incremental signature in field on pdf, dated at, and
	// returns the digest the member's key signs (pdfsign.SignDigest on their side).
	PDFDigest(pdf []byte, field string, at time.Time) ([]byte, error)
	// AppendSignature appends the member's CMS over that digest to pdf, and checks it was
	// made with certDER.
	AppendSignature(pdf []byte, field string, at time.Time, cms, certDER []byte) ([]byte, error)
	// VerifyCMS checks a detached CMS over content made with certDER (SM2).
	VerifyCMS(content, cms, certDER []byte) error
	// PDFSigners verifies every signature of a PDF and returns the signers' certificates
	// (DER) in the order they signed.
	PDFSigners(pdf []byte) ([][]byte, error)
}

// ReportArchive keeps the closed session's report files under the compliance lock.
type ReportArchive interface {
	// Archive stores body under key, locked for the retention period from at; an object
	// already there with the same content is not an error (a retried close).
	Archive(ctx context.Context, key string, body []byte, contentType string, at time.Time) (ArchivedFile, error)
}

// ReportWith has the report rendered as a PDF and checked by papers, and archived at close
// by archive. Without papers the report has no PDF and members sign its digest only;
// without archive, Close answers "report.archive_unavailable".
func (s *Service) ReportWith(papers ReportPapers, archive ReportArchive) {
	s.papers, s.archive = papers, archive
}

// ReportMessage is what a member signs for the report: a domain string, the session, the
// member, the report's digest and the digest of their dissent ("" when they agree), so a
// signature can be replayed for no other report, member or stance.
func ReportMessage(session, member kaiping.ID, digest, dissent string) []byte {
	d := ""
	if dissent != "" {
		sum := sha256.Sum256([]byte(dissent))
		d = hex.EncodeToString(sum[:])
	}
	return []byte("kaiping evaluation report signature v1\n" + string(session) + "\n" + string(member) + "\n" + digest + "\n" + d)
}

// BuildReport builds the session's report from the summaries, once the session is signing
// and before anyone signed, renders its PDF and stores both.
func (s *Service) BuildReport(ctx context.Context, a kaiping.Actor, id kaiping.ID) (StoredReport, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return StoredReport{}, err
	}
	facts, err := s.store.TenderFacts(ctx, sess.Tender)
	if err != nil {
		return StoredReport{}, err
	}
	if facts.Method == nil {
		return StoredReport{}, reviewConflict("review.no_method", "该项目招标时未载明评标办法")
	}
	reviews, err := s.store.Reviews(ctx, id)
	if err != nil {
		return StoredReport{}, err
	}
	var inputs []reportInput
	for _, g := range sess.Groups {
		for _, sec := range g.Sections {
			i := slices.IndexFunc(reviews, func(r Review) bool { return r.Section == sec.ID })
			if i < 0 || reviews[i].Summary == nil {
				return StoredReport{}, reviewConflict("review.not_summarized", "%s 标段 %s 尚未完成评审汇总", g.Name, sec.Code)
			}
			if s.records == nil {
				return StoredReport{}, kaiping.E(kaiping.KindUnavailable, "review.records_unavailable", "本平台未配置开标记录服务")
			}
			bids, err := s.records.RecordedBids(ctx, sec.ID)
			if err != nil {
				return StoredReport{}, err
			}
			inputs = append(inputs, reportInput{section: sec, bids: bids, review: reviews[i]})
		}
	}
	minutes, err := s.clarificationMinutes(ctx, id, a.At)
	if err != nil {
		return StoredReport{}, err
	}
	rep := buildReport(sess, facts.Tenderer, facts.Method.Normalized(), inputs, minutes, a.At)
	body, digest, err := rep.Canonical()
	if err != nil {
		return StoredReport{}, err
	}
	stored := StoredReport{Session: id, Digest: digest, Body: body, BuiltAt: a.At}
	if s.papers != nil {
		if stored.PDF, err = s.papers.Render(rep, digest); err != nil {
			return StoredReport{}, err
		}
	}
	return s.store.ChangeReport(ctx, a, id, func(l *ReportLock) (ReportWrite, error) {
		if err := l.Session.require("生成评标报告", SessionSigning); err != nil {
			return ReportWrite{}, err
		}
		if len(l.Signatures) > 0 {
			return ReportWrite{}, reviewConflict("report.signing_started", "已有评委签署评标报告，不能重新生成")
		}
		if l.Session.Version != sess.Version {
			return ReportWrite{}, kaiping.E(kaiping.KindConflict, "session.changed", "评标会议状态刚刚发生变化，请刷新后重试")
		}
		return ReportWrite{Report: &stored, Changes: []SessionChange{change(ActionReportBuilt, map[string]any{"digest": digest, "pdf": len(stored.PDF)})}}, nil
	})
}

// clarificationMinutes are the report's section 10: every written request that went out and
// its answer, with the bidder's name and never the member who asked.
func (s *Service) clarificationMinutes(ctx context.Context, id kaiping.ID, now time.Time) ([]ReportClarification, error) {
	qs, err := s.InquiryMinutes(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]ReportClarification, 0, len(qs))
	for _, q := range qs {
		rc := ReportClarification{Section: q.Section, Bidder: q.Bidder, BidderName: q.BidderName, Kind: q.Kind.Label(),
			Question: q.Question, State: q.StateAt(now).Label(), AskedAt: q.CreatedAt}
		if q.SentAt != nil {
			rc.AskedAt = *q.SentAt
		}
		if q.Answer != nil {
			rc.Answer, rc.AnsweredAt = q.Answer.Text, &q.Answer.At
		}
		out = append(out, rc)
	}
	return out, nil
}

// SignReportRequest is a member's signature of the report: over ReportMessage, and, when the
// platform renders PDFs, an RSA or ECDSA member's CMS over the digest PDFSigning gave them for
// the current PDF revision (PDFRevision, PDFTime), or an SM2 member's detached CMS over the
// report's canonical bytes.
type SignReportRequest struct {
	Digest       string    `json:"digest"`
	Certificate  string    `json:"certificate"`
	Signature    []byte    `json:"signature"`
	Dissent      string    `json:"dissent"`
	PDFSignature []byte    `json:"pdf_signature,omitempty"`
	PDFRevision  int       `json:"pdf_revision"`
	PDFTime      time.Time `json:"pdf_time"`
	CMS          []byte    `json:"cms,omitempty"`
}

const maxDissentRunes = 5000

// SignReport records a member's signature (and dissent) of the report's current digest.
func (s *Service) SignReport(ctx context.Context, a kaiping.Actor, id kaiping.ID, req SignReportRequest) (ReportSignature, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return ReportSignature{}, err
	}
	m, err := sess.acting(a.Principal)
	if err != nil {
		return ReportSignature{}, err
	}
	req.Dissent = strings.TrimSpace(req.Dissent)
	if utf8.RuneCountInString(req.Dissent) > maxDissentRunes {
		return ReportSignature{}, reviewInvalid("report.dissent_too_long", "不同意见不能超过 %d 字", maxDissentRunes)
	}
	der, err := s.store.PrincipalCertificate(ctx, a.Principal, req.Certificate)
	if err != nil {
		return ReportSignature{}, err
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return ReportSignature{}, kaiping.Internal("evaluation.SignReport", err)
	}
	if ok, _ := certsign.Verify(cert.PublicKey, ReportMessage(id, m.ID, req.Digest, req.Dissent), req.Signature); !ok {
		return ReportSignature{}, reviewInvalid("report.bad_signature", "签名验证失败：签名不是用您登记的证书对本评标报告摘要所作")
	}
	var out ReportSignature
	_, err = s.store.ChangeReport(ctx, a, id, func(l *ReportLock) (ReportWrite, error) {
		if err := l.Session.require("签署评标报告", SessionSigning); err != nil {
			return ReportWrite{}, err
		}
		if l.Report == nil {
			return ReportWrite{}, errReportNotBuilt()
		}
		if req.Digest != l.Report.Digest {
			return ReportWrite{}, reviewConflict("report.changed", "所签摘要不是当前评标报告的摘要：报告已变化，请重新读取后签署")
		}
		if slices.ContainsFunc(l.Signatures, func(g ReportSignature) bool { return g.Member == m.ID }) {
			return ReportWrite{}, reviewConflict("report.signed_twice", "您已签署本评标报告")
		}
		sig := ReportSignature{Member: m.ID, Kind: SignatureSigned, Digest: req.Digest, Certificate: req.Certificate,
			Signature: req.Signature, Dissent: req.Dissent, At: a.At}
		if req.Dissent != "" {
			sig.Kind = SignatureDissent
		}
		w := ReportWrite{Signature: &sig}
		if err := s.checkPapers(l, &sig, &w, req, cert, der); err != nil {
			return ReportWrite{}, err
		}
		w.Changes = []SessionChange{change(ActionReportSigned, map[string]any{"member": m.ID, "kind": sig.Kind,
			"digest": req.Digest, "pdf_revision": sig.PDFRevision, "dissent": sig.Dissent})}
		out = sig
		return w, nil
	})
	return out, err
}

// checkPapers checks the member's PDF signature (RSA, ECDSA) or CMS (SM2) when the platform
// renders PDFs, and moves the report's PDF on to the new revision.
func (s *Service) checkPapers(l *ReportLock, sig *ReportSignature, w *ReportWrite, req SignReportRequest, cert *smx509.Certificate, der []byte) error {
	if s.papers == nil {
		return nil
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); ok && pub.Curve == sm2.P256() {
		if len(req.CMS) == 0 {
			return reviewInvalid("report.cms_required", "SM2 证书须同时提交对评标报告的 CMS 分离签名")
		}
		if err := s.papers.VerifyCMS(l.Report.Body, req.CMS, der); err != nil {
			return err
		}
		sig.CMS = req.CMS
		return nil
	}
	if len(req.PDFSignature) == 0 {
		return reviewInvalid("report.pdf_required", "须同时提交对评标报告 PDF 的电子签名")
	}
	if req.PDFRevision != l.Report.PDFRevision {
		return reviewConflict("report.pdf_moved", "评标报告 PDF 已有其他评委签署（当前第 %d 版），请重新取得待签摘要后签署", l.Report.PDFRevision)
	}
	next, err := s.papers.AppendSignature(l.Report.PDF, SignatureField(sig.Member), req.PDFTime, req.PDFSignature, der)
	if err != nil {
		return err
	}
	rep := *l.Report
	rep.PDF, rep.PDFRevision = next, l.Report.PDFRevision+1
	sig.PDFRevision = rep.PDFRevision
	w.Report = &rep
	return nil
}

// PDFSigning is what a member's client signs for the report's PDF: the digest of the
// prepared incremental signature on the current revision, with the time it carries.
type PDFSigning struct {
	Revision int       `json:"pdf_revision"`
	Field    string    `json:"field"`
	Time     time.Time `json:"pdf_time"`
	Digest   []byte    `json:"digest"`
}

// PDFSigningFor prepares a's signature on the report's current PDF revision.
func (s *Service) PDFSigningFor(ctx context.Context, a kaiping.Actor, id kaiping.ID) (PDFSigning, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return PDFSigning{}, err
	}
	m, err := sess.acting(a.Principal)
	if err != nil {
		return PDFSigning{}, err
	}
	if s.papers == nil {
		return PDFSigning{}, kaiping.E(kaiping.KindNotFound, "report.no_pdf", "本平台未生成评标报告 PDF")
	}
	rep, err := s.store.StoredReport(ctx, id)
	if err != nil {
		return PDFSigning{}, err
	}
	sigs, err := s.store.ReportSignatures(ctx, id)
	if err != nil {
		return PDFSigning{}, err
	}
	if slices.ContainsFunc(sigs, func(g ReportSignature) bool { return g.Member == m.ID }) {
		return PDFSigning{}, reviewConflict("report.signed_twice", "您已签署本评标报告")
	}
	out := PDFSigning{Revision: rep.PDFRevision, Field: SignatureField(m.ID), Time: a.At}
	out.Digest, err = s.papers.PDFDigest(rep.PDF, out.Field, out.Time)
	return out, err
}

func errReportNotBuilt() error {
	return kaiping.E(kaiping.KindConflict, "report.not_built", "评标报告尚未生成")
}

// RefusalRequest is the host's record that a member refused to sign without a reason.
type RefusalRequest struct {
	Member kaiping.ID `json:"member_id"`
	Note   string     `json:"note"`
}

// RecordRefusal records that a member refused to sign the report without a written reason:
// it counts as agreement (12号令 Art 43) and the report's record says so.
func (s *Service) RecordRefusal(ctx context.Context, a kaiping.Actor, id kaiping.ID, req RefusalRequest) (ReportSignature, error) {
	var out ReportSignature
	_, err := s.store.ChangeReport(ctx, a, id, func(l *ReportLock) (ReportWrite, error) {
		if err := l.Session.require("记录拒签", SessionSigning); err != nil {
			return ReportWrite{}, err
		}
		if l.Report == nil {
			return ReportWrite{}, errReportNotBuilt()
		}
		m, err := l.Session.member(req.Member)
		if err != nil {
			return ReportWrite{}, err
		}
		if !m.sitting() {
			return ReportWrite{}, reviewConflict("report.not_sitting", "%s 已不在评标委员会中", m.Name)
		}
		if slices.ContainsFunc(l.Signatures, func(g ReportSignature) bool { return g.Member == m.ID }) {
			return ReportWrite{}, reviewConflict("report.signed_twice", "%s 已签署本评标报告", m.Name)
		}
		note := strings.TrimSpace(req.Note)
		if note == "" || utf8.RuneCountInString(note) > maxReviewTextRunes {
			return ReportWrite{}, reviewInvalid("report.refusal_note", "须写明拒签的经过（不超过 %d 字）", maxReviewTextRunes)
		}
		out = ReportSignature{Member: m.ID, Kind: SignatureRefused, Digest: l.Report.Digest, Dissent: note, At: a.At}
		return ReportWrite{Signature: &out, Changes: []SessionChange{change(ActionReportRefused, map[string]any{
			"member": m.ID, "digest": l.Report.Digest, "note": note})}}, nil
	})
	return out, err
}

// unsigned names the sitting members who have neither signed nor been recorded refusing.
func unsigned(sess *Session, sigs []ReportSignature) []string {
	var out []string
	for _, m := range sess.Members {
		if m.sitting() && !slices.ContainsFunc(sigs, func(g ReportSignature) bool { return g.Member == m.ID }) {
			out = append(out, m.Name)
		}
	}
	return out
}

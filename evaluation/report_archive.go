package evaluation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kaiping/kaiping"
)

// archiveReport stores the signed report's files under the compliance lock, once every
// sitting member has answered it, and records where (report.archived). A report already
// archived at its current PDF revision is not archived again, so a close that failed after
// archiving can be retried.
func (s *Service) archiveReport(ctx context.Context, a kaiping.Actor, id kaiping.ID) (StoredReport, error) {
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return StoredReport{}, err
	}
	if err := sess.require("结束", SessionSigning); err != nil {
		return StoredReport{}, err
	}
	rep, err := s.store.StoredReport(ctx, id)
	if err != nil {
		return StoredReport{}, err
	}
	sigs, err := s.store.ReportSignatures(ctx, id)
	if err != nil {
		return StoredReport{}, err
	}
	if missing := unsigned(&sess, sigs); len(missing) > 0 {
		return StoredReport{}, reviewConflict("report.unsigned", "以下评委尚未签署评标报告：%s", strings.Join(missing, "、"))
	}
	if rep.Archive != nil {
		return rep, nil
	}
	if s.archive == nil {
		return StoredReport{}, kaiping.E(kaiping.KindUnavailable, "report.archive_unavailable", "本平台未配置评标报告归档存储")
	}
	sigJSON, err := json.Marshal(sigs)
	if err != nil {
		return StoredReport{}, kaiping.Internal("evaluation.archiveReport", err)
	}
	prefix := fmt.Sprintf("evaluation/%s/%s/", sess.Tender, id)
	files := []struct {
		name, contentType string
		body              []byte
	}{{"report.json", "application/json", rep.Body}, {"signatures.json", "application/json", sigJSON}}
	if len(rep.PDF) > 0 {
		files = append(files, struct {
			name, contentType string
			body              []byte
		}{"report.pdf", "application/pdf", rep.PDF})
	}
	for _, g := range sigs {
		if len(g.CMS) > 0 {
			files = append(files, struct {
				name, contentType string
				body              []byte
			}{"signatures/" + string(g.Member) + ".p7s", "application/pkcs7-signature", g.CMS})
		}
	}
	archived := ReportArchived{At: a.At}
	for _, f := range files {
		obj, err := s.archive.Archive(ctx, prefix+f.name, f.body, f.contentType, a.At)
		if err != nil {
			return StoredReport{}, err
		}
		archived.Objects = append(archived.Objects, obj)
	}
	return s.store.ChangeReport(ctx, a, id, func(l *ReportLock) (ReportWrite, error) {
		if err := l.Session.require("结束", SessionSigning); err != nil {
			return ReportWrite{}, err
		}
		if l.Report == nil || l.Report.Digest != rep.Digest || l.Report.PDFRevision != rep.PDFRevision || len(l.Signatures) != len(sigs) {
			return ReportWrite{}, kaiping.E(kaiping.KindConflict, "session.changed", "评标报告刚刚发生变化，请刷新后重试")
		}
		next := *l.Report
		next.Archive = &archived
		return ReportWrite{Report: &next, Changes: []SessionChange{change(ActionReportArchived, map[string]any{
			"digest": rep.Digest, "objects": archived.Objects})}}, nil
	})
}

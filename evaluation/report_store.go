package evaluation

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
)

// ReportStore keeps the sessions' reports and the members' signatures.
type ReportStore interface {
	// StoredReport returns the session's report ("report.not_built" before it is built).
	StoredReport(ctx context.Context, session kaiping.ID) (StoredReport, error)
	// ReportSignatures lists the members' signatures, refusals and dissents of the report.
	ReportSignatures(ctx context.Context, session kaiping.ID) ([]ReportSignature, error)
	// SessionEntries lists the ledger entries whose subject is the session, in order.
	SessionEntries(ctx context.Context, session kaiping.ID) ([]LedgerEntry, error)
	// ChangeReport locks the session, loads its report (nil if none) and signatures, runs
	// decide and applies what it returns with one ledger entry and event per change, in one
	// transaction. A refusal of decide writes nothing.
	ChangeReport(ctx context.Context, a kaiping.Actor, session kaiping.ID, decide func(*ReportLock) (ReportWrite, error)) (StoredReport, error)
}

// StoredReport is a report as stored: its canonical bytes and digest, and its PDF's latest
// revision (every member's PDF signature appended so far).
type StoredReport struct {
	Session     kaiping.ID `json:"session_id"`
	Digest      string     `json:"digest"`
	Body        []byte     `json:"-"`
	PDF         []byte     `json:"-"`
	PDFRevision int        `json:"pdf_revision"`
	BuiltAt     time.Time  `json:"built_at"`
	// Archive lists the files stored under the compliance lock at close.
	Archive *ReportArchived `json:"archive,omitempty"`
}

// ReportArchived is where the closed session's report files were archived.
type ReportArchived struct {
	Objects []ArchivedFile `json:"objects"`
	At      time.Time      `json:"at"`
}

// ArchivedFile is one archived object with its digest.
type ArchivedFile struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// The kinds of a member's answer to the report.
const (
	SignatureSigned  = "signed"  // 签字同意
	SignatureDissent = "dissent" // 签字并书面说明不同意见及理由
	SignatureRefused = "refused" // 拒绝签字且未说明理由：视为同意（12号令 Art 43）
)

// ReportSignature is a member's answer to the report: a signature over its digest (with a
// dissent, if any), or the host's record that they refused to sign without a reason.
type ReportSignature struct {
	Member      kaiping.ID `json:"member_id"`
	Kind        string     `json:"kind"`
	Digest      string     `json:"digest"`
	Certificate string     `json:"certificate,omitempty"`
	Signature   []byte     `json:"signature,omitempty"`
	Dissent     string     `json:"dissent,omitempty"`
	// CMS is an SM2 member's detached CMS over the report's canonical bytes.
	CMS []byte `json:"cms,omitempty"`
	// PDFRevision is the PDF revision the member's PDF signature made (0: none).
	PDFRevision int       `json:"pdf_revision"`
	At          time.Time `json:"at"`
	LedgerSeq   int64     `json:"ledger_seq"`
}

// ReportLock is what a report rule decides on inside ChangeReport's transaction.
type ReportLock struct {
	Session    *Session
	Report     *StoredReport
	Signatures []ReportSignature
}

// ReportWrite is what ChangeReport applies besides the changes: the report stored or
// replaced, a signature added.
type ReportWrite struct {
	Changes   []SessionChange
	Report    *StoredReport
	Signature *ReportSignature
}

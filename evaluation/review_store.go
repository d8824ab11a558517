package evaluation

import (
	"context"

	"github.com/kaiping/kaiping"
)

// ReviewStore keeps the sections' reviews, the members' marks and their submissions.
type ReviewStore interface {
	// Reviews lists the session's section reviews that exist (a section's review is made by
	// its first change).
	Reviews(ctx context.Context, session kaiping.ID) ([]Review, error)
	// Marks lists every stored mark of the section, of every member and stage.
	Marks(ctx context.Context, session, section kaiping.ID) ([]MemberMark, error)
	// SessionMarks lists, by section, the marks of every section of the session whose member
	// submitted their stage: what the computation counts, drafts left out. Each mark has its
	// member, bidder, item and value, not its reason or page (the computation reads neither).
	SessionMarks(ctx context.Context, session kaiping.ID) (map[kaiping.ID][]MemberMark, error)
	// Submissions lists the section's submissions.
	Submissions(ctx context.Context, session, section kaiping.ID) ([]Submission, error)
	// Origins lists the network addresses the section's bidders submitted and unlocked from,
	// from the ledger.
	Origins(ctx context.Context, section kaiping.ID) ([]Origin, error)
	// ChangeReview locks the session, loads the section's review (a new one of group in the
	// initial stage if there is none) and its submissions, runs decide and applies what it
	// returns in the same transaction: the marks saved, the submission recorded or taken
	// back, the review written back and one ledger entry and event per change. A refusal of
	// decide writes nothing.
	ChangeReview(ctx context.Context, a kaiping.Actor, session, section kaiping.ID, group string, decide func(*ReviewLock) (ReviewWrite, error)) (Review, error)
}

// ReviewLock is what a review rule decides on inside ChangeReview's transaction.
type ReviewLock struct {
	Session     *Session
	Review      *Review
	Submissions []Submission
	// Marks reads the section's stored marks inside the transaction.
	Marks func() ([]MemberMark, error)
}

// ReviewWrite is what ChangeReview applies besides the changes.
type ReviewWrite struct {
	Changes []SessionChange
	// Save are marks of Member for Stage to store (drafts: saving writes no ledger entry).
	Save *MarkSave
	// Submit records a submission; its LedgerSeq is the entry of its review.submit change.
	Submit *Submission
	// Unsubmit takes back Member's submission of Stage.
	Unsubmit *Submission
}

// MarkSave is a member's marks of one stage to store, replacing earlier ones of the same
// bidder and item.
type MarkSave struct {
	Member kaiping.ID
	Stage  ReviewStage
	Marks  []Mark
}

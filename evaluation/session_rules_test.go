package evaluation

import (
	"fmt"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
)

var t0 = time.Date(2026, 6, 2, 9, 0, 0, 0, kaiping.BeijingTime)

// committee is a session of one group of n members, all ready, the last k of them the
// tenderer's representatives.
func committee(n, k int, government bool) *Session {
	s := &Session{ID: kaiping.NewID(), State: SessionCheckingIn, GovernmentProcurement: government,
		Groups: []Group{{ID: "G1", Name: "第一评标小组", Size: n, VoteRound: 1}}}
	for i := range n {
		kind := MemberDrawn
		if i >= n-k {
			kind = MemberRepresentative
		}
		s.Members = append(s.Members, SessionMember{ID: kaiping.ID(fmt.Sprintf("m%d", i)), Kind: kind, Group: "G1", Accepted: true,
			Confirmed: &Confirmation{}, Pledge: &Pledge{}, Declared: &Declaration{}})
	}
	return s
}

func mustVote(t *testing.T, s *Session, voter, candidate int) []SessionChange {
	t.Helper()
	out, err := s.vote(&s.Members[voter], s.Members[candidate].ID, t0)
	if err != nil {
		t.Fatalf("vote %d → %d: %v", voter, candidate, err)
	}
	return out
}

func TestChairNeedsAMajorityOfTheCommittee(t *testing.T) {
	s := committee(5, 0, false)
	// 2-2-1: nobody has more than half; a new round starts and the old votes do not count.
	for voter, cand := range []int{0, 0, 1, 1, 2} {
		out := mustVote(t, s, voter, cand)
		if voter < 4 && len(out) != 1 {
			t.Fatalf("round closed early after %d votes", voter+1)
		}
		if voter == 4 && out[len(out)-1].Type != ActionSessionRevote {
			t.Fatalf("last vote of a split round: %v", out[len(out)-1].Type)
		}
	}
	if g := s.Groups[0]; g.Chair != "" || g.VoteRound != 2 {
		t.Fatalf("after a split: chair %q, round %d", g.Chair, g.VoteRound)
	}
	// 3 of 5 is a majority.
	for voter, cand := range []int{0, 0, 0, 1, 1} {
		mustVote(t, s, voter, cand)
	}
	if g := s.Groups[0]; g.Chair != s.Members[0].ID || g.VoteRound != 2 {
		t.Fatalf("chair %q in round %d", g.Chair, g.VoteRound)
	}
	if _, err := s.vote(&s.Members[4], s.Members[0].ID, t0); kaiping.CodeOf(err) != "session.chair_elected" {
		t.Fatalf("vote after the election: %v", err)
	}
}

func TestRepresentativeMayNotChairGovernmentProcurement(t *testing.T) {
	for _, government := range []bool{true, false} {
		s := committee(5, 1, government)
		_, err := s.vote(&s.Members[0], s.Members[4].ID, t0)
		if got := kaiping.CodeOf(err); government && got != "session.candidate_representative" || !government && err != nil {
			t.Errorf("government procurement %v: voting for the representative: %v", government, err)
		}
	}
}

func TestVoteOfAReplacedMemberIsVoid(t *testing.T) {
	s := committee(5, 0, false)
	mustVote(t, s, 0, 1)
	mustVote(t, s, 1, 1)
	out, err := s.remove(&s.Members[0], "擅离职守", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Groups[0].Votes) != 1 || out[len(out)-1].Type != ActionSessionVoteVoid {
		t.Fatalf("votes after the voter left: %v; changes %v", s.Groups[0].Votes, out)
	}
	// The four left cannot elect while the committee is short of a member.
	for voter := 2; voter < 5; voter++ {
		mustVote(t, s, voter, 1)
	}
	if s.Groups[0].Chair != "" {
		t.Fatal("a chair was elected by a committee short of a member")
	}
}

func TestExtensionDueWhenMoreThanAThirdAsk(t *testing.T) {
	s := committee(7, 0, false)
	s.State = SessionInReview
	for i := range 3 {
		out, err := s.requestExtension(&s.Members[i], "资料量大", t0)
		if err != nil {
			t.Fatal(err)
		}
		// 2 of 7 is not more than a third; 3 of 7 is.
		due := len(out) == 2 && out[1].Type == ActionSessionExtensionDue
		if due != (i == 2) {
			t.Fatalf("after %d requests: due %v", i+1, due)
		}
	}
	if _, err := s.requestExtension(&s.Members[0], "再次申请", t0); kaiping.CodeOf(err) != "session.extension_already_requested" {
		t.Fatalf("second request: %v", err)
	}
	out, err := s.requestExtension(&s.Members[3], "资料量大", t0)
	if err != nil || len(out) != 1 {
		t.Fatalf("fourth request: %v, %d changes (the host was told once)", err, len(out))
	}
}

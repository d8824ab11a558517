package evaluation

import (
	"testing"

	"github.com/kaiping/kaiping"
)

// TestReviewOfAnotherGroup: a member of one group can neither mark, chair nor read the review
// of a section another group of the same session evaluates.
func TestReviewOfAnotherGroup(t *testing.T) {
	s := &Session{ID: kaiping.NewID(), State: SessionInReview, Groups: []Group{
		{ID: "G1", Chair: "a1", Sections: []GroupSection{{ID: "s1", Code: "BD1"}}},
		{ID: "G2", Chair: "b1", Sections: []GroupSection{{ID: "s2", Code: "BD2"}}}}}
	for _, m := range []struct{ id, group string }{{"a1", "G1"}, {"b1", "G2"}} {
		s.Members = append(s.Members, SessionMember{ID: kaiping.ID(m.id), Principal: kaiping.ID("p-" + m.id), Group: m.group,
			Accepted: true, Confirmed: &Confirmation{}, Pledge: &Pledge{}, Declared: &Declaration{}})
	}
	c := &reviewCase{sess: s, rev: &Review{Section: "s1", Group: "G1", Stage: ReviewInitial}}
	if _, err := c.reviewer("p-a1"); err != nil {
		t.Fatalf("G1's member on G1's section: %v", err)
	}
	for name, check := range map[string]func() error{
		"mark":  func() error { _, err := c.reviewer("p-b1"); return err },
		"chair": func() error { _, err := c.chair("p-b1"); return err },
		"read":  func() error { _, err := c.viewer("p-b1"); return err },
	} {
		if err := check(); kaiping.CodeOf(err) != "review.other_group" {
			t.Errorf("G2's chair tries to %s G1's section: %v, want review.other_group", name, err)
		}
	}
	if _, err := s.groupOf("s3"); kaiping.CodeOf(err) != "review.section_not_in_session" {
		t.Errorf("a section the session does not evaluate: %v", err)
	}
}

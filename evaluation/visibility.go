package evaluation

import (
	"context"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation/draw"
)

// sealed is the refusal to show a committee before its result is public.
func sealed() error {
	return kaiping.E(kaiping.KindForbidden, "draw.identities_sealed",
		"评标结果公示前，评标委员会专家名单保密，招标人和投标人不得查看")
}

// Viewer is who asks to see a committee: the principal, and whether it is staff assigned
// to the draw's tender (its evaluation host or a supervisor), as the route's duty check
// found.
type Viewer struct {
	Principal kaiping.Principal
	Assigned  bool
}

// canSeeMembers decides, on the object, whether v may see who was drawn in d: everyone once
// the result is public; before that only the staff assigned to the tender, and none of
// them if they belong to the tenderer or a bidder (an agent's host who is the tenderer's
// own staff, a bidder who also holds a staff role).
func (s *Service) canSeeMembers(ctx context.Context, v Viewer, d Draw) error {
	if d.PublishedAt != nil {
		return nil
	}
	if !v.Assigned {
		return sealed()
	}
	p := v.Principal
	facts, err := s.store.TenderFacts(ctx, d.Tender)
	if err != nil {
		return err
	}
	interested := map[string]bool{draw.NormalizeOrg(facts.Tenderer): true}
	for _, b := range facts.Bidders {
		interested[draw.NormalizeOrg(b)] = true
	}
	for _, name := range []string{p.Name, p.Org} {
		if n := draw.NormalizeOrg(name); n != "" && interested[n] {
			return sealed()
		}
	}
	return nil
}

// Members returns the draw's members if v may see them.
func (s *Service) Members(ctx context.Context, v Viewer, id kaiping.ID) ([]Member, error) {
	d, err := s.store.Draw(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.canSeeMembers(ctx, v, d); err != nil {
		return nil, err
	}
	return s.store.Members(ctx, id)
}

// Assignments returns the draw's seat assignments if v may see who was drawn.
func (s *Service) Assignments(ctx context.Context, v Viewer, id kaiping.ID) ([]SeatAssignment, error) {
	d, err := s.store.Draw(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.canSeeMembers(ctx, v, d); err != nil {
		return nil, err
	}
	return s.store.Assignments(ctx, id)
}

package opening

import (
	"context"

	"github.com/kaiping/kaiping"
)

// Service runs tenders, registration and the blacklist.
type Service struct {
	store Store
	clock kaiping.Clock
}

// NewService returns a Service on store, telling time by clock.
func NewService(store Store, clock kaiping.Clock) *Service {
	return &Service{store: store, clock: clock}
}

// CreateTender validates t and stores it on behalf of actor a.
func (s *Service) CreateTender(ctx context.Context, a kaiping.Actor, t Tender) (Tender, error) {
	if err := t.Validate(a.At); err != nil {
		return Tender{}, err
	}
	t.ID = kaiping.NewID()
	t.CreatedBy = a.Principal
	t.CreatedAt = a.At
	if err := s.store.CreateTender(ctx, a, t); err != nil {
		return Tender{}, err
	}
	return t, nil
}

// Register registers bidder a.Principal for a section of a tender with the certificate
// fingerprint its bids will be sealed to. Registration closes at the bid deadline.
func (s *Service) Register(ctx context.Context, a kaiping.Actor, bidderName string, tenderID kaiping.ID, sectionRef, fingerprint string) (Registration, error) {
	t, err := s.store.Tender(ctx, tenderID)
	if err != nil {
		return Registration{}, err
	}
	sec, err := t.Section(sectionRef)
	if err != nil {
		return Registration{}, err
	}
	if !a.At.Before(t.Deadline) {
		return Registration{}, kaiping.E(kaiping.KindTooLate, "register.deadline_passed", "投标截止时间已过，不能再报名")
	}
	r := Registration{Tender: t.ID, Section: sec.ID, Bidder: a.Principal, BidderName: bidderName, Certificate: fingerprint, At: a.At}
	if err := s.store.Register(ctx, a, r); err != nil {
		return Registration{}, err
	}
	return r, nil
}

// AddBlacklist puts a bidder on the blacklist.
func (s *Service) AddBlacklist(ctx context.Context, a kaiping.Actor, b BlacklistEntry) (BlacklistEntry, error) {
	if err := b.Validate(); err != nil {
		return BlacklistEntry{}, err
	}
	b.ID = kaiping.NewID()
	b.CreatedBy = a.Principal
	b.CreatedAt = a.At
	if err := s.store.AddBlacklist(ctx, a, b); err != nil {
		return BlacklistEntry{}, err
	}
	return b, nil
}

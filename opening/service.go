package opening

import (
	"context"
	"crypto/rand"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/rescue"
)

// Service runs tenders, registration and the blacklist.
type Service struct {
	store Store
	clock kaiping.Clock
	// certs checks the certificate a bidder registers with (CheckCertificatesWith).
	certs CertificateChecker
}

// CertificateChecker refuses a principal's registered certificate that was revoked, on the
// platform or by its CA (identity.Service is one).
type CertificateChecker interface {
	CheckCertificate(ctx context.Context, principal kaiping.ID, fingerprint string) error
}

// CheckCertificatesWith has every registration's certificate checked by c.
func (s *Service) CheckCertificatesWith(c CertificateChecker) { s.certs = c }

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
	var setup *rescue.Setup
	if t.Rescue.Enabled {
		holders, err := s.store.RescueHolders(ctx, t.Rescue.Holders, a.At)
		if err != nil {
			return Tender{}, err
		}
		// The private key exists only inside Split, for the time it takes to split it.
		sp, err := rescue.Split(rand.Reader, t.Rescue.Threshold, len(holders), holders)
		if err != nil {
			return Tender{}, err
		}
		setup = &sp
		t.Rescue.KeyID, t.Rescue.PublicKey = sp.KeyID, sp.PublicKey.Bytes()
	}
	if err := s.store.CreateTender(ctx, a, t, setup); err != nil {
		return Tender{}, err
	}
	return t, nil
}

// RescueShare is what a rescue key holder (a supervisor) fetches to check their share:
// the tender's public rescue parameters and their own encrypted share.
type RescueShare struct {
	Tender      kaiping.ID            `json:"tender_id"`
	KeyID       string                `json:"key_id"`
	PublicKey   []byte                `json:"public_key"`
	Threshold   int                   `json:"threshold"`
	Holders     int                   `json:"holders"`
	Commitments rescue.Commitments    `json:"commitments"`
	Share       rescue.EncryptedShare `json:"share"`
}

// RescueShare returns a.Principal's share of the tender's rescue key. Anyone who is not one
// of its holders gets rescue.not_holder.
func (s *Service) RescueShare(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID) (RescueShare, error) {
	setup, err := s.store.RescueSetup(ctx, tenderID)
	if err != nil {
		return RescueShare{}, err
	}
	for _, sh := range setup.Shares {
		if sh.Holder == a.Principal {
			return RescueShare{Tender: tenderID, KeyID: setup.KeyID, PublicKey: setup.PublicKey.Bytes(),
				Threshold: setup.Threshold(), Holders: len(setup.Shares), Commitments: setup.Commitments, Share: sh}, nil
		}
	}
	return RescueShare{}, kaiping.E(kaiping.KindForbidden, "rescue.not_holder", "您不是本项目补救密钥的持有人")
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
	if err := kaiping.Synchronised(s.clock); err != nil {
		return Registration{}, err
	}
	if !a.At.Before(t.Deadline) {
		return Registration{}, kaiping.E(kaiping.KindTooLate, "register.deadline_passed", "投标截止时间已过，不能再报名")
	}
	if s.certs != nil {
		// The bids will be sealed to it: a revoked certificate would carry them.
		if err := s.certs.CheckCertificate(ctx, a.Principal, fingerprint); err != nil {
			return Registration{}, err
		}
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

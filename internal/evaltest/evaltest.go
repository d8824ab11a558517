// Package evaltest runs the evaluation domain on real stores for tests. It builds fixtures on
// a real PostgreSQL database (principals, a tender with registered bidders, venues with seats,
// experts) and the evaluation service on the real store and ledger, standing on a manual
// clock. The tests of the evaluation service that need the database live beside it, outside
// evaluation/, so that the domain package never imports a driver, not even from its tests;
// the `kaiping draw verify` test shares it too.
package evaltest

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/scoring"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
)

// T0 is where every Env's clock starts: 2026-06-01 08:00 Beijing time.
var T0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Origin is the test ledger's name.
const Origin = "ggzy.example.gov.cn/kaiping/ledger"

// Env is a migrated database with the evaluation service on it.
type Env struct {
	// URL is the database's, for what needs a connection of its own (LISTEN).
	URL     string
	DB      *postgres.DB
	Ledger  *ledger.Ledger
	Store   *postgres.EvaluationStore
	Clock   *kaiping.ManualClock
	Notices *Notices
	Service *evaluation.Service
	// Admin, Host and Supervisor are principals holding those roles.
	Admin, Host, Supervisor kaiping.Principal
	// Bidders are the bidders Tender registered, by name.
	Bidders map[string]kaiping.Principal

	// Staff answers who is assigned to which tender (for the routes' duty checks).
	Staff *postgres.OpeningStore

	identity *postgres.IdentityStore
	opening  *opening.Service
}

// New migrates the database at url and builds the service with cfg, signing the ledger with
// signer under origin (nil: a fresh Ed25519 key under Origin).
func New(tb testing.TB, url string, signer ledger.Signer, origin string, cfg evaluation.Config) *Env {
	tb.Helper()
	ctx := context.Background()
	if _, err := postgres.Migrate(ctx, url); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	db, err := postgres.Open(ctx, url, 40)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(db.Close)
	if signer == nil {
		pem, err := ledger.GenerateKeyPEM(ledger.AlgEd25519)
		if err != nil {
			tb.Fatal(err)
		}
		if signer, err = ledger.ParseSigner(pem); err != nil {
			tb.Fatal(err)
		}
		origin = Origin
	}
	e := &Env{URL: url, DB: db, Ledger: ledger.New(signer, origin), Clock: kaiping.NewManualClock(T0), Notices: &Notices{},
		Bidders: map[string]kaiping.Principal{}}
	e.Store = postgres.NewEvaluationStore(db, e.Ledger)
	e.identity = postgres.NewIdentityStore(db, e.Ledger)
	e.Staff = postgres.NewOpeningStore(db, e.Ledger)
	e.opening = opening.NewService(e.Staff, e.Clock)
	e.Service = evaluation.NewService(e.Store, e.Notices, e.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	e.Admin = e.Principal(tb, "交易中心系统管理员", "某市公共资源交易中心", kaiping.RoleAdmin)
	e.Host = e.Principal(tb, "评标室主持人", "某市公共资源交易中心", kaiping.RoleHost)
	e.Supervisor = e.Principal(tb, "监督员", "某市住房和城乡建设局", kaiping.RoleSupervisor)
	return e
}

// Actor is p acting from a loopback address now.
func (e *Env) Actor(p kaiping.Principal) kaiping.Actor {
	return kaiping.Actor{Principal: p.ID, Address: netip.MustParseAddr("127.0.0.1"), At: e.Clock.Now()}
}

// Fingerprint is the stand-in certificate fingerprint registered to a principal's name.
func Fingerprint(p kaiping.Principal) string {
	sum := sha256.Sum256([]byte("cert:" + string(p.ID)))
	return hex.EncodeToString(sum[:])
}

// Principal registers a principal with a stand-in certificate.
func (e *Env) Principal(tb testing.TB, name, org string, roles ...kaiping.Role) kaiping.Principal {
	tb.Helper()
	p := kaiping.Principal{ID: kaiping.NewID(), Name: name, Org: org, Roles: roles}
	err := e.identity.CreatePrincipal(context.Background(), kaiping.SystemActor(e.Clock.Now()), p, identity.RegisteredCertificate{
		Fingerprint: Fingerprint(p), Subject: "CN=" + name, Issuer: "CN=test CA", Serial: string(p.ID)[:8],
		NotAfter: e.Clock.Now().AddDate(1, 0, 0), DER: []byte(p.ID),
	})
	if err != nil {
		tb.Fatalf("principal %s: %v", name, err)
	}
	return p
}

// Tender creates a tender of tenderer whose bid deadline is 10 minutes from now, assigns
// Host as its evaluation host and Supervisor as its supervisor, and registers a bidder
// principal for each of bidders (named so, with the roles bidder).
func (e *Env) Tender(tb testing.TB, code, tenderer string, bidders ...string) opening.Tender {
	tb.Helper()
	ctx := context.Background()
	t, err := e.opening.CreateTender(ctx, e.Actor(e.Host), opening.Tender{
		Code: code, Title: tenderer + "教学楼建设工程施工", Tenderer: tenderer, Deadline: e.Clock.Now().Add(10 * time.Minute),
		SummaryFields: []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
		Sections:      []opening.Section{{Code: "BD1", Name: "一标段"}},
		Method:        ReviewMethod(),
	})
	if err != nil {
		tb.Fatalf("tender: %v", err)
	}
	e.Assign(tb, t.ID, e.Host, kaiping.DutyEvaluationHost)
	e.Assign(tb, t.ID, e.Supervisor, kaiping.DutySupervisor)
	for _, b := range bidders {
		p := e.Principal(tb, b, "", kaiping.RoleBidder)
		e.Bidders[b] = p
		if _, err := e.opening.Register(ctx, e.Actor(p), p.Name, t.ID, "BD1", Fingerprint(p)); err != nil {
			tb.Fatalf("register %s: %v", b, err)
		}
	}
	return t
}

// Assign makes p staff of the tender with duty d, on the administrator's say.
func (e *Env) Assign(tb testing.TB, tender kaiping.ID, p kaiping.Principal, d kaiping.Duty) {
	tb.Helper()
	if _, err := e.opening.Assign(context.Background(), e.Actor(e.Admin), tender, opening.AssignRequest{Principal: p.ID, Duty: d}); err != nil {
		tb.Fatalf("assign %s as %s: %v", p.Name, d, err)
	}
}

// Venue adds a venue with seats A01, A02, ...
func (e *Env) Venue(tb testing.TB, code, name string, lat, lon float64, canHost bool, seats int) evaluation.Venue {
	tb.Helper()
	ctx := context.Background()
	v, err := e.Service.CreateVenue(ctx, e.Actor(e.Admin), evaluation.Venue{
		Code: code, Name: name, City: code[:6], Address: name + "评标区", Lat: lat, Lon: lon, CanHost: canHost,
	})
	if err != nil {
		tb.Fatalf("venue %s: %v", code, err)
	}
	for i := range seats {
		if _, err := e.Service.CreateSeat(ctx, e.Actor(e.Admin), v.ID, evaluation.Seat{
			Code: fmt.Sprintf("A%02d", i+1), Equipment: []string{"camera", "dual_screen", "id_reader"},
		}); err != nil {
			tb.Fatalf("seat: %v", err)
		}
	}
	return v
}

// Expert adds an active expert living at the centre of city.
func (e *Env) Expert(tb testing.TB, code, name, employer, city string, specialties ...string) evaluation.Expert {
	tb.Helper()
	x, err := e.Service.CreateExpert(context.Background(), e.Actor(e.Admin), evaluation.Expert{
		Code: code, Name: name, Phone: "13800000000", Employer: employer, City: city,
		Titles: []string{"高级工程师"}, Specialties: specialties,
	})
	if err != nil {
		tb.Fatalf("expert %s: %v", code, err)
	}
	return x
}

// ExpertLogin gives expert x a login with the expert role.
func (e *Env) ExpertLogin(tb testing.TB, x evaluation.Expert) kaiping.Principal {
	tb.Helper()
	p := e.Principal(tb, x.Name, x.Employer, kaiping.RoleExpert)
	x.Principal = p.ID
	if _, err := e.Service.UpdateExpert(context.Background(), e.Actor(e.Admin), x.ID, x); err != nil {
		tb.Fatalf("link expert %s: %v", x.Code, err)
	}
	return p
}

// Signer is a login with a real certificate and its key, for what must be signed (the
// integrity pledge).
type Signer struct {
	kaiping.Principal
	Key         crypto.Signer
	Fingerprint string
}

// ca issues the certificates of CertifiedPrincipal.
var ca = sync.OnceValues(func() (*devpki.CA, error) { return devpki.NewCA(devpki.ECDSA, "evaltest CA", T0.AddDate(-1, 0, 0)) })

// CertifiedPrincipal registers a principal with a real ECDSA certificate.
func (e *Env) CertifiedPrincipal(tb testing.TB, name, org string, roles ...kaiping.Role) Signer {
	tb.Helper()
	authority, err := ca()
	if err != nil {
		tb.Fatal(err)
	}
	issued, err := authority.Issue(devpki.ECDSA, name, org, T0.AddDate(-1, 0, 0), T0.AddDate(2, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	p := kaiping.Principal{ID: kaiping.NewID(), Name: name, Org: org, Roles: roles}
	fp := identity.Fingerprint(issued.Cert.Raw)
	if err := e.identity.CreatePrincipal(context.Background(), kaiping.SystemActor(e.Clock.Now()), p, identity.RegisteredCertificate{
		Fingerprint: fp, Subject: issued.Cert.Subject.String(), Issuer: issued.Cert.Issuer.String(),
		Serial: issued.Cert.SerialNumber.Text(16), NotAfter: issued.Cert.NotAfter, DER: issued.Cert.Raw,
	}); err != nil {
		tb.Fatalf("principal %s: %v", name, err)
	}
	return Signer{Principal: p, Key: issued.Key, Fingerprint: fp}
}

// CertifiedExpert gives expert x a login with the expert role and a real certificate.
func (e *Env) CertifiedExpert(tb testing.TB, x evaluation.Expert) Signer {
	tb.Helper()
	s := e.CertifiedPrincipal(tb, x.Name, x.Employer, kaiping.RoleExpert)
	x.Principal = s.ID
	if _, err := e.Service.UpdateExpert(context.Background(), e.Actor(e.Admin), x.ID, x); err != nil {
		tb.Fatalf("link expert %s: %v", x.Code, err)
	}
	return s
}

// Notices records every notice sent, in order: a Notifier for tests.
type Notices struct {
	mu   sync.Mutex
	list []evaluation.Notice
}

// Notify records n.
func (n *Notices) Notify(_ context.Context, x evaluation.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, x)
	return nil
}

// All returns the notices so far.
func (n *Notices) All() []evaluation.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]evaluation.Notice(nil), n.list...)
}

// ReviewMethod is the evaluation method of the tenders Tender makes: 综合评估法 with two
// initial-review items, a subjective and an objective criterion, and the low-price base.
func ReviewMethod() *scoring.Method {
	return &scoring.Method{Kind: scoring.KindComprehensive,
		Review: []scoring.ReviewItem{{Code: "form", Name: "投标文件格式", Stage: scoring.StageForm},
			{Code: "licence", Name: "资质证书", Stage: scoring.StageQualification}},
		Criteria: []scoring.Group{{Code: "tech", Name: "技术部分", Items: []scoring.Item{
			{Code: "plan", Name: "施工方案", Max: 3000},
			{Code: "record", Name: "类似业绩", Max: 1000, Objective: true}}}},
		Price:      &scoring.PriceRule{Rule: scoring.PriceLowBase, Max: 6000},
		Candidates: 2}
}

// OpenedList stands in for what the opening decrypted, for tests that need only who has an
// opened bid in which section (the committee's inquiries): the envelopes it lists by section.
// It reads no bid; TestOpenedBids (cmd/kaiping/app) reads real ones.
type OpenedList map[kaiping.ID][]evaluation.OpenedEnvelope

var _ evaluation.OpenedBids = OpenedList{}

// Envelopes implements evaluation.OpenedBids.
func (o OpenedList) Envelopes(_ context.Context, section kaiping.ID) ([]evaluation.OpenedEnvelope, error) {
	return o[section], nil
}

// Open implements evaluation.OpenedBids: an OpenedList holds no bid to read.
func (o OpenedList) Open(context.Context, kaiping.Actor, kaiping.ID) (evaluation.OpenedEnvelope, io.ReadCloser, error) {
	return evaluation.OpenedEnvelope{}, nil, errors.New("evaltest.OpenedList reads no bid")
}

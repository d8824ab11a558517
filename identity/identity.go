// Package identity is who is who on the platform: principals with roles, their registered
// X.509 certificates (数字证书), and login by signing a server nonce with the certificate's key
// (SM2, ECDSA P-256 or RSA), which yields a short-lived session token.
package identity

import (
	"context"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// Store is what identity needs from persistence. Every method that changes state writes its
// ledger entry in the same transaction.
type Store interface {
	// CreatePrincipal stores p with its first certificate.
	CreatePrincipal(ctx context.Context, a kaiping.Actor, p kaiping.Principal, cert RegisteredCertificate) error
	// AddCertificate registers another certificate for an existing principal.
	AddCertificate(ctx context.Context, a kaiping.Actor, principal kaiping.ID, cert RegisteredCertificate) error
	// PrincipalByCertificate finds the principal a certificate fingerprint is registered to.
	PrincipalByCertificate(ctx context.Context, fingerprint string) (kaiping.Principal, error)
	// Principal returns one principal.
	Principal(ctx context.Context, id kaiping.ID) (kaiping.Principal, error)
	// Principals lists all principals, by name.
	Principals(ctx context.Context) ([]kaiping.Principal, error)
	// RecordLogin consumes nonce (once only: a second use is KindConflict "auth.nonce_replayed")
	// and records the login of principal with session id in the ledger.
	RecordLogin(ctx context.Context, a kaiping.Actor, nonce string, nonceExpires time.Time, session kaiping.ID, fingerprint string) error

	// Standing is how principal stands now: its current name and roles, whether it is
	// disabled, and whether the certificate fingerprint is registered to it and not revoked.
	// An unknown principal is KindNotFound.
	Standing(ctx context.Context, principal kaiping.ID, fingerprint string) (Standing, error)
	// SetDisabled disables or enables principal (ledgered); doing what is already so is a no-op.
	SetDisabled(ctx context.Context, a kaiping.Actor, principal kaiping.ID, disabled bool) error
	// SetRoles replaces principal's roles (ledgered, with the roles before and after).
	SetRoles(ctx context.Context, a kaiping.Actor, principal kaiping.ID, roles []kaiping.Role) error
	// RevokeCertificate revokes one of principal's certificates (ledgered); the row stays,
	// for who held which certificate when. Unknown or already revoked is KindNotFound.
	RevokeCertificate(ctx context.Context, a kaiping.Actor, principal kaiping.ID, fingerprint string) error

	// RecordFailedLogin keeps one refused login attempt (not in the ledger: see FailedLogin).
	RecordFailedLogin(ctx context.Context, f FailedLogin) error
	// RecentFailure returns the time of the n-th most recent failed login since since: from
	// address, and (signed ones only) with the certificate fingerprint. Zero where there
	// were fewer than n.
	RecentFailure(ctx context.Context, address, fingerprint string, nAddress, nCertificate int, since time.Time) (byAddress, byCertificate time.Time, err error)
}

// Standing is a principal as it stands at one moment (Store.Standing).
type Standing struct {
	Principal   kaiping.Principal `json:"principal"`
	Disabled    bool              `json:"disabled"`
	Certificate bool              `json:"certificate_valid"` // the fingerprint asked about is registered and not revoked
	// CertIssuer and CertSerial name that certificate to its CA's revocation list (the
	// issuer's DN and the serial in hexadecimal, as registered).
	CertIssuer string `json:"-"`
	CertSerial string `json:"-"`
}

// RegisteredCertificate is a certificate as stored against a principal.
type RegisteredCertificate struct {
	Fingerprint string
	Subject     string
	Issuer      string
	Serial      string
	NotAfter    time.Time
	DER         []byte
}

// Service logs principals in and manages them.
type Service struct {
	store      Store
	roots      *CARoots
	tokens     *Tokens
	clock      kaiping.Clock
	sessionTTL time.Duration
	nonceTTL   time.Duration
	standings  *standingCache
	throttle   Throttle
	// revocations are the CAs' revocation lists (WithRevocationLists); nil: none checked.
	revocations *RevocationLists
}

// Option tunes a Service.
type Option func(*Service)

// WithStatusCache sets how long a principal's standing (disabled, roles, certificate
// revoked) is believed without asking the store again: the longest a disabled principal's
// session keeps working on another replica. On the replica that made the change it ends at
// once. 0 asks the store on every request. Default DefaultStatusCacheTTL.
func WithStatusCache(ttl time.Duration) Option {
	return func(s *Service) { s.standings = newStandingCache(ttl, maxCachedStandings) }
}

// WithRevocationLists checks every certificate against its CA's revocation list: at login,
// at registration, and on every request made with a session (so a certificate the CA
// revokes stops at once, whatever its sessions).
func WithRevocationLists(r *RevocationLists) Option {
	return func(s *Service) { s.revocations = r }
}

// DefaultStatusCacheTTL is how long a standing is cached unless WithStatusCache says otherwise.
const DefaultStatusCacheTTL = 5 * time.Second

// NewService returns a Service. sessionTTL is how long a session token lives; nonceTTL how
// long a login challenge may be answered.
func NewService(store Store, roots *CARoots, tokens *Tokens, clock kaiping.Clock, sessionTTL, nonceTTL time.Duration, opts ...Option) *Service {
	s := &Service{store: store, roots: roots, tokens: tokens, clock: clock, sessionTTL: sessionTTL, nonceTTL: nonceTTL,
		standings: newStandingCache(DefaultStatusCacheTTL, maxCachedStandings), throttle: DefaultThrottle}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Challenge is a login nonce and when it stops being accepted.
type Challenge struct {
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Challenge issues a login nonce. It changes no state: the nonce is authenticated by its MAC
// and recorded only when used.
func (s *Service) Challenge() Challenge {
	exp := s.clock.Now().Add(s.nonceTTL).Truncate(time.Second)
	return Challenge{Nonce: s.tokens.NewNonce(exp), ExpiresAt: exp}
}

// Session is the result of a login.
type Session struct {
	Token     string            `json:"token"`
	ExpiresAt time.Time         `json:"expires_at"`
	Principal kaiping.Principal `json:"principal"`
}

// Login checks, in order: the attempt is not throttled (Throttle), the nonce is ours and
// fresh, the certificate chains to an accepted CA, is valid now and is a signing certificate,
// the signature over the nonce verifies with the certificate's key, the certificate is
// registered to a principal that is not disabled and has not revoked it, and the nonce has
// not been used before. Only then is the login recorded and a session token issued; a
// refusal is recorded as a FailedLogin.
func (s *Service) Login(ctx context.Context, a kaiping.Actor, chainPEM []byte, nonce string, signature []byte) (Session, error) {
	presented := presentedFingerprint(chainPEM)
	if err := s.checkThrottle(ctx, a, presented); err != nil {
		return Session{}, err
	}
	var signed bool
	var principal kaiping.ID
	sess, err := s.login(ctx, a, chainPEM, nonce, signature, &signed, &principal)
	if err != nil {
		s.recordFailure(ctx, a, presented, principal, signed, err)
	}
	return sess, err
}

// login is Login's checks; it sets *signed once the signature verified and *principal once
// the certificate's principal is known.
func (s *Service) login(ctx context.Context, a kaiping.Actor, chainPEM []byte, nonce string, signature []byte, signed *bool, principal *kaiping.ID) (Session, error) {
	now := s.clock.Now()
	nonceExpires, err := s.tokens.CheckNonce(nonce, now)
	if err != nil {
		return Session{}, err
	}
	cert, err := s.roots.VerifyChain(chainPEM, now)
	if err != nil {
		return Session{}, err
	}
	if err := verifyLoginSignature(cert.Cert.PublicKey, nonce, signature); err != nil {
		return Session{}, err
	}
	*signed = true
	if err := s.revocations.CheckCertificate(cert.Cert); err != nil {
		return Session{}, err
	}
	p, err := s.store.PrincipalByCertificate(ctx, cert.Fingerprint)
	if kaiping.IsKind(err, kaiping.KindNotFound) {
		return Session{}, kaiping.E(kaiping.KindForbidden, "auth.cert_unregistered", "该证书未在本平台登记，请联系交易中心办理")
	}
	if err != nil {
		return Session{}, err
	}
	*principal = p.ID
	st, err := s.store.Standing(ctx, p.ID, cert.Fingerprint)
	if err != nil {
		return Session{}, err
	}
	if err := st.refusal(); err != nil {
		return Session{}, err
	}
	p = st.Principal
	a.Principal = p.ID
	sid := kaiping.NewID()
	if err := s.store.RecordLogin(ctx, a, nonce, nonceExpires, sid, cert.Fingerprint); err != nil {
		return Session{}, err
	}
	exp := now.Add(s.sessionTTL).Truncate(time.Second)
	token := s.tokens.IssueSession(Claims{
		Session: sid, Principal: p.ID, Name: p.Name, Org: p.Org, Roles: p.Roles, Cert: cert.Fingerprint,
		Issued: now.Unix(), Expires: exp.Unix(),
	})
	return Session{Token: token, ExpiresAt: exp, Principal: p}, nil
}

// Authenticate implements httpapi.Authenticator with the session token, then checks how the
// principal stands now (see standing): a token says who logged in, not whether they still
// may. The principal returned has its current roles, not those it logged in with.
func (s *Service) Authenticate(ctx context.Context, token string) (kaiping.Principal, error) {
	c, err := s.tokens.CheckSession(token, s.clock.Now())
	if err != nil {
		return kaiping.Principal{}, err
	}
	if s.store == nil {
		// A Service without a store (route tests that issue their own tokens) has nothing
		// to check the claims against.
		return c.AsPrincipal(), nil
	}
	st, err := s.standing(ctx, c.Principal, c.Cert)
	if err != nil {
		return kaiping.Principal{}, err
	}
	if err := st.refusal(); err != nil {
		return kaiping.Principal{}, err
	}
	if err := s.revocations.Check(st.CertIssuer, st.CertSerial); err != nil {
		return kaiping.Principal{}, err
	}
	return st.Principal, nil
}

// CheckCertificate refuses principal's registered certificate fingerprint when it was
// revoked on the platform or its CA revokes it: a tender registration, and the bids sealed
// to it, must not rest on it. A fingerprint not registered to principal passes: the caller
// refuses it with its own code.
func (s *Service) CheckCertificate(ctx context.Context, principal kaiping.ID, fingerprint string) error {
	st, err := s.store.Standing(ctx, principal, fingerprint)
	switch {
	case err != nil:
		return err
	case st.CertIssuer == "":
		return nil
	case !st.Certificate:
		return kaiping.E(kaiping.KindForbidden, "auth.cert_revoked", "该证书已在本平台注销，不能用于报名")
	}
	return s.revocations.Check(st.CertIssuer, st.CertSerial)
}

// NewPrincipal is an admin's request to register a principal.
type NewPrincipal struct {
	Name        string         `json:"name" text:"line"`
	Org         string         `json:"org" text:"line"`
	Roles       []kaiping.Role `json:"roles"`
	Certificate string         `json:"certificate"` // PEM, the leaf first
}

// Register validates np, verifies its certificate against the accepted CAs, and stores the
// principal. The certificate must be valid now: registering an expired one helps nobody.
func (s *Service) Register(ctx context.Context, a kaiping.Actor, np NewPrincipal) (kaiping.Principal, error) {
	name := strings.TrimSpace(np.Name)
	if name == "" || len([]rune(name)) > 200 {
		return kaiping.Principal{}, kaiping.E(kaiping.KindInvalid, "principal.name", "名称不能为空，且不超过 200 字")
	}
	if err := checkRoles(np.Roles); err != nil {
		return kaiping.Principal{}, err
	}
	cert, err := s.roots.VerifyChain([]byte(np.Certificate), s.clock.Now())
	if err != nil {
		return kaiping.Principal{}, err
	}
	if err := s.revocations.CheckCertificate(cert.Cert); err != nil {
		return kaiping.Principal{}, err
	}
	p := kaiping.Principal{ID: kaiping.NewID(), Name: name, Org: strings.TrimSpace(np.Org), Roles: np.Roles}
	if err := s.store.CreatePrincipal(ctx, a, p, registered(cert)); err != nil {
		return kaiping.Principal{}, err
	}
	return p, nil
}

// checkRoles refuses an empty, unknown or repeated role.
func checkRoles(roles []kaiping.Role) error {
	if len(roles) == 0 {
		return kaiping.E(kaiping.KindInvalid, "principal.roles", "至少需要一个角色")
	}
	seen := map[kaiping.Role]bool{}
	for _, r := range roles {
		if !r.Valid() {
			return kaiping.Errorf(kaiping.KindInvalid, "principal.role_unknown", "未知角色：%s", r)
		}
		if seen[r] {
			return kaiping.Errorf(kaiping.KindInvalid, "principal.role_duplicate", "角色重复：%s", r)
		}
		seen[r] = true
	}
	return nil
}

// EnsureAdmin makes sure the principal holding certPEM exists with the admin role: the first
// administrator comes from configuration, since nobody exists yet to register it.
func (s *Service) EnsureAdmin(ctx context.Context, name, org string, certPEM []byte) (kaiping.Principal, error) {
	now := s.clock.Now()
	cert, err := s.roots.VerifyChain(certPEM, now)
	if err != nil {
		return kaiping.Principal{}, err
	}
	p, err := s.store.PrincipalByCertificate(ctx, cert.Fingerprint)
	if err == nil {
		if !p.Has(kaiping.RoleAdmin) {
			return kaiping.Principal{}, kaiping.E(kaiping.KindConflict, "bootstrap.not_admin",
				"配置的初始管理员证书已登记给一个非管理员用户")
		}
		return p, nil
	}
	if !kaiping.IsKind(err, kaiping.KindNotFound) {
		return kaiping.Principal{}, err
	}
	p = kaiping.Principal{ID: kaiping.NewID(), Name: name, Org: org, Roles: []kaiping.Role{kaiping.RoleAdmin}}
	if err := s.store.CreatePrincipal(ctx, kaiping.SystemActor(now), p, registered(cert)); err != nil {
		return kaiping.Principal{}, err
	}
	return p, nil
}

func registered(c Certificate) RegisteredCertificate {
	return RegisteredCertificate{
		Fingerprint: c.Fingerprint,
		Subject:     c.Cert.Subject.String(),
		Issuer:      c.Cert.Issuer.String(),
		Serial:      c.Cert.SerialNumber.Text(16),
		NotAfter:    c.Cert.NotAfter,
		DER:         c.Cert.Raw,
	}
}

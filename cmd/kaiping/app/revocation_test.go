package app

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
)

// TestRevocation: disabling a principal, changing its roles and revoking its certificate
// take effect on its next request on this replica, and within auth.status_cache_ttl on
// another; each change is ledgered; only an admin may make them, and not against itself.
func TestRevocation(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	admin := ta.mustLogin(t, ta.setup.Admin)
	var adminMe kaiping.Principal
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/me", nil, &adminMe); err != nil {
		t.Fatal(err)
	}
	cert := ta.mustRegister(t, admin, devpki.SM2, "某投标单位", kaiping.RoleBidder)
	bidder := ta.mustLogin(t, cert)
	var me kaiping.Principal
	if err := bidder.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil {
		t.Fatal(err)
	}
	id := string(me.ID)
	// Another replica: its own identity service (and cache) on the same database and clock.
	other, err := newIdentity(ctx, ta.setup.Config.Auth, ta.DB, ta.Ledger, ta.clock)
	if err != nil {
		t.Fatal(err)
	}
	otherSees := func() error { _, err := other.Authenticate(ctx, bidder.Token); return err }
	if err := otherSees(); err != nil {
		t.Fatalf("the other replica refuses a fresh session: %v", err)
	}
	do := func(method, path string, in any) func() error {
		return func() error { return admin.Do(ctx, method, path, in, nil) }
	}
	roles := func(rs ...kaiping.Role) identity.SetRolesRequest { return identity.SetRolesRequest{Roles: rs} }

	steps := []struct {
		name    string
		change  func() error
		code    string // the change's own error, "" = done
		session string // what the bidder's next request answers here ("" = served)
		ledger  string // the action ledgered by the change
	}{
		{"a bidder cannot disable anyone", func() error {
			return bidder.Do(ctx, http.MethodPost, "/api/v1/principals/"+string(adminMe.ID)+"/disable", nil, nil)
		}, "auth.role_forbidden", "", ""},
		{"an admin cannot disable itself", do("POST", "/api/v1/principals/"+string(adminMe.ID)+"/disable", nil), "principal.self_lockout", "", ""},
		{"an admin cannot drop its own admin role", do("PUT", "/api/v1/principals/"+string(adminMe.ID)+"/roles", roles(kaiping.RoleHost)), "principal.self_lockout", "", ""},
		{"disable", do("POST", "/api/v1/principals/"+id+"/disable", nil), "", "auth.principal_disabled", "principal.disable"},
		{"enable", do("POST", "/api/v1/principals/"+id+"/enable", nil), "", "", "principal.enable"},
		{"set roles", do("PUT", "/api/v1/principals/"+id+"/roles", roles(kaiping.RoleHost, kaiping.RoleSupervisor)), "", "", "principal.set_roles"},
		{"unknown role", do("PUT", "/api/v1/principals/"+id+"/roles", roles("king")), "principal.role_unknown", "", ""},
		{"unknown principal", do("POST", "/api/v1/principals/"+string(kaiping.NewID())+"/disable", nil), "principal.not_found", "", ""},
		{"revoke another's certificate", do("DELETE", "/api/v1/principals/"+string(adminMe.ID)+"/certificates/"+identity.Fingerprint(cert.Cert.Raw), nil), "principal.certificate_not_found", "", ""},
		{"revoke the certificate", do("DELETE", "/api/v1/principals/"+id+"/certificates/"+identity.Fingerprint(cert.Cert.Raw), nil), "", "auth.cert_revoked", "principal.revoke_certificate"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := ta.ledgerSize(t)
			if err := st.change(); apiCode(err) != st.code && !(st.code == "" && err == nil) {
				t.Fatalf("change: %v, want %q", err, st.code)
			}
			err := bidder.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me)
			if apiCode(err) != st.session && !(st.session == "" && err == nil) {
				t.Fatalf("the bidder's next request: %v, want %q", err, st.session)
			}
			after := ta.ledgerSize(t)
			if st.ledger == "" {
				if after != before {
					t.Fatalf("ledger grew by %d on a refused change", after-before)
				}
				return
			}
			var action, subject string
			if err := ta.DB.Pool.QueryRow(ctx, `SELECT action, subject FROM ledger_entries ORDER BY seq DESC LIMIT 1`).Scan(&action, &subject); err != nil {
				t.Fatal(err)
			}
			if after != before+1 || action != st.ledger || subject != id {
				t.Fatalf("ledger: %d new entries, last %s on %s; want one %s on %s", after-before, action, subject, st.ledger, id)
			}
			// The other replica learns it once its cache runs out, not before.
			if st.session != "" {
				if err := otherSees(); err != nil {
					t.Fatalf("the other replica refused within its cache time: %v", err)
				}
				ta.clock.Advance(identity.DefaultStatusCacheTTL)
				if err := otherSees(); kaiping.CodeOf(err) != st.session {
					t.Fatalf("the other replica after its cache time: %v, want %s", err, st.session)
				}
			} else if err := otherSees(); err != nil {
				ta.clock.Advance(identity.DefaultStatusCacheTTL)
				if err := otherSees(); err != nil {
					t.Fatalf("the other replica after its cache time: %v", err)
				}
			}
			if st.name == "set roles" && (!slices.Equal(me.Roles, []kaiping.Role{kaiping.RoleHost, kaiping.RoleSupervisor})) {
				t.Fatalf("after set roles the session has roles %v", me.Roles)
			}
		})
	}
	// A revoked certificate no longer logs in, and a disabled principal cannot either.
	if _, err := apiclient.New(ta.base).Login(ctx, cert.CertPEM(), cert.Key); apiCode(err) != "auth.cert_revoked" {
		t.Errorf("login with a revoked certificate: %v", err)
	}
	cert2 := ta.mustRegister(t, admin, devpki.ECDSA, "另一投标单位", kaiping.RoleBidder)
	second := ta.mustLogin(t, cert2)
	if err := second.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/principals/"+string(me.ID)+"/disable", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := apiclient.New(ta.base).Login(ctx, cert2.CertPEM(), cert2.Key); apiCode(err) != "auth.principal_disabled" {
		t.Errorf("login of a disabled principal: %v", err)
	}
}

package sso

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Issuer: "https://idp.example/realms/acme", ClientID: "console", ClientSecretFile: "/s", RedirectURL: "https://console.example/auth/callback",
		OrgClaim: "org", RoleClaim: "groups", GrantsFile: "/g", Lifetime: time.Hour, MaxSessions: 100}
	require.NoError(t, good.Validate())
	require.NoError(t, Config{}.Validate(), "no issuer: sign-on off, nothing required")
	for _, tc := range []struct {
		change  func(*Config)
		problem string
	}{
		{func(c *Config) { c.ClientID = "" }, "-console-oidc-client-id is required"},
		{func(c *Config) { c.GrantsFile = "" }, "-console-oidc-grants-file is required"},
		{func(c *Config) { c.Issuer = "http://idp.example" }, "-console-oidc-issuer \"http://idp.example\": https is required beyond loopback"},
		{func(c *Config) { c.RedirectURL = "/auth/callback" }, "-console-oidc-redirect-url \"/auth/callback\": want an absolute http(s) URL"},
		{func(c *Config) { c.Lifetime = 0 }, "-console-session-lifetime 0s: want 1s to 168h"},
		{func(c *Config) { c.MaxSessions = 0 }, "-console-max-sessions 0"},
	} {
		c := good
		tc.change(&c)
		require.ErrorContains(t, c.Validate(), tc.problem)
	}
	loopback := good
	loopback.Issuer = "http://127.0.0.1:5556"
	require.NoError(t, loopback.Validate(), "http on loopback")
	insecure := good
	insecure.Issuer, insecure.Insecure = "http://idp.internal", true
	require.NoError(t, insecure.Validate(), "http beyond loopback only with -insecure-plaintext")
}

func TestReadGrants(t *testing.T) {
	dir := t.TempDir()
	file := func(text string) string {
		p := filepath.Join(dir, "grants")
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	g, err := readGrants(file("# who may sign in\n\nacme:licence-admins:admin\nacme:design-leads:team-admin:design\n"))
	require.NoError(t, err)
	require.Equal(t, []Grant{{Org: "acme", Claim: "licence-admins", Role: auth.RoleAdmin},
		{Org: "acme", Claim: "design-leads", Role: auth.RoleTeamAdmin, Team: "design"}}, g)
	for text, problem := range map[string]string{
		"acme:admin\n":                 "line 1: want org:claim:role[:team]",
		"acme:admins:acme-admin-key\n": `unknown role "acme-admin-key"`,
		"acme:leads:team-admin\n":      "a team-admin needs a team id",
		"acme:staff:viewer:design\n":   "a viewer has no team",
		"*:staff:owner\n":              "organisation \"*\" must be an id",
		"acme:a:viewer:b:c\n":          "want org:claim:role[:team]",
		"# nobody\n":                   "no grants",
	} {
		_, err = readGrants(file(text))
		require.ErrorContains(t, err, problem, text)
	}
}

func TestMapClaims(t *testing.T) {
	grants := []Grant{{Org: "acme", Claim: "licence-admins", Role: auth.RoleAdmin}, {Org: "acme", Claim: "staff", Role: auth.RoleViewer}}
	g, why := mapClaims(claims{"org": "acme", "groups": []any{"staff", "licence-admins"}}, "org", "groups", grants, nil)
	require.Empty(t, why)
	require.Equal(t, auth.RoleAdmin, g.Role, "the first grant in the file wins")
	_, why = mapClaims(claims{"groups": "staff"}, "org", "groups", grants, nil)
	require.Equal(t, `your account names no organisation (claim "org")`, why)
	_, why = mapClaims(claims{"org": "acme", "groups": []any{1, true}}, "org", "groups", grants, nil)
	require.Equal(t, `your account names no role (claim "groups") and no grant names its e-mail address`, why)
	_, why = mapClaims(claims{"org": "acme", "groups": "contractors"}, "org", "groups", grants, nil)
	require.Equal(t, `organisation "acme" with role "contractors" has no access to this console`, why)
}

// staticGrants are API grants held in memory, oldest first.
type staticGrants []*v1.RoleGrant

func (s staticGrants) Live(org string) []*v1.RoleGrant {
	var out []*v1.RoleGrant
	for _, g := range s {
		if g.GetOrgId() == org {
			out = append(out, g)
		}
	}
	return out
}
func (s staticGrants) IsLive(org, id string) bool {
	return slices.ContainsFunc(s, func(g *v1.RoleGrant) bool { return g.GetOrgId() == org && g.GetGrantId() == id })
}
func (staticGrants) OnEnd(func(org, id string)) {}

// API grants: the file's line first, then an e-mail grant (the verified
// address only, in any case) before a role-claim grant.
func TestMapClaimsWithAPIGrants(t *testing.T) {
	file := []Grant{{Org: "acme", Claim: "licence-admins", Role: auth.RoleAdmin}}
	api := staticGrants{
		{GrantId: "000000000001", OrgId: "acme", Claim: v1.GrantClaim_GRANT_CLAIM_ROLE, ClaimValue: "staff", Role: "viewer"},
		{GrantId: "000000000002", OrgId: "acme", Claim: v1.GrantClaim_GRANT_CLAIM_EMAIL, ClaimValue: "ann@acme.example", Role: "team-admin", RoleTeamId: "design"},
		{GrantId: "000000000003", OrgId: "globex", Claim: v1.GrantClaim_GRANT_CLAIM_EMAIL, ClaimValue: "bob@acme.example", Role: "owner"},
	}
	ann := claims{"org": "acme", "groups": "staff", "email": "Ann@ACME.example", "email_verified": true}
	g, why := mapClaims(ann, "org", "groups", file, api)
	require.Empty(t, why)
	require.Equal(t, Grant{Org: "acme", Claim: "ann@acme.example", Role: auth.RoleTeamAdmin, Team: "design", ID: "000000000002"}, g)
	ann["email_verified"] = false
	g, _ = mapClaims(ann, "org", "groups", file, api)
	require.Equal(t, "000000000001", g.ID, "an unverified address matches no e-mail grant")
	ann["groups"] = "licence-admins"
	g, _ = mapClaims(ann, "org", "groups", file, api)
	require.Equal(t, Grant{Org: "acme", Claim: "licence-admins", Role: auth.RoleAdmin}, g, "the file's line first")
	_, why = mapClaims(claims{"org": "acme", "email": "bob@acme.example", "email_verified": true}, "org", "groups", file, api)
	require.NotEmpty(t, why, "globex's grant of Bob's address does not let him into acme")
}

// TestCookieFlags: Secure with the __Host- prefix unless -insecure-plaintext.
func TestCookieFlags(t *testing.T) {
	secure := (&SSO{}).cookie(sessionCookie, "v", time.Hour)
	require.Equal(t, "__Host-tokenmeter-session", secure.Name)
	require.True(t, secure.Secure && secure.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, secure.SameSite)
	plain := (&SSO{cfg: Config{Insecure: true}}).cookie(sessionCookie, "v", time.Hour)
	require.Equal(t, "tokenmeter-session", plain.Name, "browsers refuse a __Host- cookie that is not Secure")
	require.False(t, plain.Secure)
	require.True(t, plain.HttpOnly)
}

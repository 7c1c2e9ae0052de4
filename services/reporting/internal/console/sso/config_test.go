package sso

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
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
	g, why := mapClaims(claims{"org": "acme", "groups": []any{"staff", "licence-admins"}}, "org", "groups", grants)
	require.Empty(t, why)
	require.Equal(t, auth.RoleAdmin, g.Role, "the first grant in the file wins")
	_, why = mapClaims(claims{"groups": "staff"}, "org", "groups", grants)
	require.Equal(t, `your account names no organisation (claim "org")`, why)
	_, why = mapClaims(claims{"org": "acme", "groups": []any{1, true}}, "org", "groups", grants)
	require.Equal(t, `your account names no role (claim "groups")`, why)
	_, why = mapClaims(claims{"org": "acme", "groups": "contractors"}, "org", "groups", grants)
	require.Equal(t, `organisation "acme" with role "contractors" has no access to this console`, why)
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

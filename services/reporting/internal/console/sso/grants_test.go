package sso

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// TestSignInThroughAPIGrant: Cal has no line in the grants file and is
// refused; an owner grants his e-mail address a role through the API and he
// signs in with it; the grant revoked, his open session ends and its key is
// refused within a second.
func TestSignInThroughAPIGrant(t *testing.T) {
	r := newRig(t, time.Hour)
	c := r.browser(t, "")
	res, body := signIn(t, c, r.console.URL, "cal@acme.example", "cal-password")
	require.Equal(t, http.StatusForbidden, res.StatusCode, body)
	require.Contains(t, body, "has no access to this console")

	g, err := r.grants.Create(t.Context(), &v1.RoleGrant{OrgId: "acme", Claim: v1.GrantClaim_GRANT_CLAIM_EMAIL,
		ClaimValue: "Cal@acme.example", Role: "viewer", CreatedBy: "sso:olga@acme.example"}, time.Now())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return r.sso.api.IsLive("acme", g.GetGrantId()) }, 5*time.Second, 5*time.Millisecond)

	c = r.browser(t, "")
	res, body = signIn(t, c, r.console.URL, "cal@acme.example", "cal-password")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	info := sessionInfo(t, c, r.console.URL)
	require.Equal(t, "viewer", info["role"], "the API grant's role")
	_, body = api(t, c, r.console.URL, info["csrf"].(string))
	require.Equal(t, "acme/viewer/sso:cal@acme.example|", body)
	key := r.onlySessionKey(t)
	require.Eventually(t, func() bool { _, err := r.ring.Authenticate(key); return err == nil }, time.Second, 5*time.Millisecond)

	_, err = r.grants.Revoke(t.Context(), "acme", g.GetGrantId(), "sso:olga@acme.example", time.Now())
	require.NoError(t, err)
	revoked := time.Now()
	require.Eventually(t, func() bool {
		_, err := r.ring.Authenticate(key)
		return err != nil && r.sso.sessions.len() == 0
	}, time.Second, 5*time.Millisecond, "the session ends, and its key is refused, within a second")
	t.Logf("session ended %s after the revocation", time.Since(revoked).Round(time.Millisecond))
	require.Equal(t, false, sessionInfo(t, c, r.console.URL)["signed_in"])
	_, body = api(t, c, r.console.URL, info["csrf"].(string))
	require.Equal(t, "no key|otherother", body, "the cookie opens no session any more")

	res, body = signIn(t, c, r.console.URL, "cal@acme.example", "cal-password")
	require.Equal(t, http.StatusForbidden, res.StatusCode, "and he cannot sign in again: %s", body)
}

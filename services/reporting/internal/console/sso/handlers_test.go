package sso

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSignInThroughProvider signs in with the code flow and PKCE at a real
// provider, then checks the cookie, the session, CSRF and sign-out.
func TestSignInThroughProvider(t *testing.T) {
	r := newRig(t, time.Hour)
	c := r.browser(t, "")
	res, body := signIn(t, c, r.console.URL, "ann@acme.example", "ann-password")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, "the console", body, "the sign-in lands on the console")

	cookies := c.Jar.Cookies(mustURL(t, r.console.URL))
	require.Len(t, cookies, 1, "only the session cookie is left (the login cookie is spent)")
	require.Equal(t, "__Host-tokenmeter-session", cookies[0].Name)
	info := sessionInfo(t, c, r.console.URL)
	require.Equal(t, true, info["signed_in"])
	require.Equal(t, "acme", info["org"])
	require.Equal(t, "admin", info["role"], "the grant's tokenmeter role, not the claim")
	require.Equal(t, "Ann Admin", info["name"])
	require.Equal(t, "sso:ann@acme.example", info["person"], "the verified e-mail address; acme shows its people")

	status, body := api(t, c, r.console.URL, "")
	require.Equal(t, http.StatusForbidden, status, "a call with the cookie but no CSRF token is refused")
	require.Contains(t, body, CSRFHeader)
	status, body = api(t, c, r.console.URL, "wrong")
	require.Equal(t, http.StatusForbidden, status, body)
	status, body = api(t, c, r.console.URL, info["csrf"].(string))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "acme/admin/sso:ann@acme.example|", body, "the session calls with a key of its own naming Ann, for her organisation alone")
	key := r.onlySessionKey(t)

	req, err := http.NewRequest(http.MethodPost, r.console.URL+"/auth/logout", nil)
	require.NoError(t, err)
	res, err = c.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, res.StatusCode, "sign-out without the CSRF token is refused")
	req.Header.Set(CSRFHeader, info["csrf"].(string))
	res, err = c.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Zero(t, r.sso.sessions.len(), "sign-out ends the server's session")
	require.Equal(t, false, sessionInfo(t, c, r.console.URL)["signed_in"])
	_, body = api(t, c, r.console.URL, info["csrf"].(string))
	require.Equal(t, "no key|otherother", body, "after sign-out a call carries no key (what it sent passes, for the services to refuse)")
	require.Eventually(t, func() bool { _, err := r.ring.Authenticate(key); return err != nil }, time.Second, 5*time.Millisecond,
		"sign-out revokes the session's key at every service within a second")
}

// TestSessionActsAsPseudonym: in an organisation that shows pseudonyms, the
// person a session acts as is the pseudonym, and the grant's role holds.
func TestSessionActsAsPseudonym(t *testing.T) {
	r := newRig(t, time.Hour)
	c := r.browser(t, "")
	res, body := signIn(t, c, r.console.URL, "bea@beta.example", "bea-password")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	info := sessionInfo(t, c, r.console.URL)
	require.Equal(t, "viewer", info["role"])
	person := info["person"].(string)
	require.Regexp(t, `^sso:u_[0-9a-z]+$`, person)
	_, body = api(t, c, r.console.URL, info["csrf"].(string))
	require.Equal(t, "beta/viewer/"+person+"|", body)
	require.NotContains(t, body, "bea")
}

// TestOwnerRevokesSession: a session's key revoked in the bucket (as an
// owner would) is refused everywhere within a second.
func TestOwnerRevokesSession(t *testing.T) {
	r := newRig(t, time.Hour)
	c := r.browser(t, "")
	res, body := signIn(t, c, r.console.URL, "ann@acme.example", "ann-password")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	key := r.onlySessionKey(t)
	require.Eventually(t, func() bool { _, err := r.ring.Authenticate(key); return err == nil }, time.Second, 5*time.Millisecond)
	var keyID string
	for _, s := range r.sso.sessions.sessions {
		keyID = s.keyID
	}
	_, err := r.keys.Revoke(t.Context(), "acme", keyID, time.Now())
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := r.ring.Authenticate(key); return err != nil }, time.Second, 5*time.Millisecond)
	_, body = api(t, c, r.console.URL, sessionInfo(t, c, r.console.URL)["csrf"].(string))
	require.Equal(t, "unknown key|", body)
}

// onlySessionKey is the secret of the one open session.
func (r *rig) onlySessionKey(t *testing.T) string {
	t.Helper()
	require.Equal(t, 1, r.sso.sessions.len())
	for _, s := range r.sso.sessions.sessions {
		return s.key
	}
	return ""
}

// TestSessionCookieFlags reads the Set-Cookie of the callback itself.
func TestSessionCookieFlags(t *testing.T) {
	r := newRig(t, 90*time.Minute)
	c := r.browser(t, "/")
	res, _ := signIn(t, c, r.console.URL, "ann@acme.example", "ann-password")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "__Host-tokenmeter-session" {
			session = ck
		}
	}
	require.NotNil(t, session, "the callback sets the session cookie")
	require.True(t, session.HttpOnly, "HttpOnly: no script reads it")
	require.True(t, session.Secure, "Secure")
	require.Equal(t, http.SameSiteLaxMode, session.SameSite)
	require.Equal(t, "/", session.Path)
	require.Empty(t, session.Domain, "__Host- cookies name no domain")
	require.Equal(t, int((90 * time.Minute).Seconds()), session.MaxAge)
}

// TestRefusedPerson: the provider signs Rex in, but his organisation has no grant.
func TestRefusedPerson(t *testing.T) {
	r := newRig(t, time.Hour)
	c := r.browser(t, "")
	res, body := signIn(t, c, r.console.URL, "rex@other.example", "rex-password")
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, body, "You may not use this console")
	require.Contains(t, body, "organisation &#34;other&#34; with role &#34;licence-admins&#34; has no access")
	require.Zero(t, r.sso.sessions.len())
	require.Empty(t, c.Jar.Cookies(mustURL(t, r.console.URL)), "no session cookie")
}

// TestCallbackStateMismatch: a callback whose state is not this browser's
// sign-in (login CSRF), or without any sign-in under way, is refused.
func TestCallbackStateMismatch(t *testing.T) {
	r := newRig(t, time.Hour)
	c := r.browser(t, "/auth/callback")
	res, _ := signIn(t, c, r.console.URL, "ann@acme.example", "ann-password")
	require.Equal(t, http.StatusFound, res.StatusCode, "stopped before the callback")
	cb := mustURL(t, res.Header.Get("Location"))
	q := cb.Query()
	q.Set("state", "someone-elses-state")
	cb.RawQuery = q.Encode()
	res, err := c.Get(cb.String())
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, read(t, res), "This sign-in was not started here")

	fresh := r.browser(t, "")
	res, err = fresh.Get(res.Request.URL.String())
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, res.StatusCode, "a browser with no sign-in under way")
	require.Zero(t, r.sso.sessions.len())
}

// TestCallbackPKCEMismatch: the right state but another verifier — the
// provider refuses to redeem the code, and so does the console.
func TestCallbackPKCEMismatch(t *testing.T) {
	r := newRig(t, time.Hour)
	c := r.browser(t, "/auth/callback")
	res, _ := signIn(t, c, r.console.URL, "ann@acme.example", "ann-password")
	require.Equal(t, http.StatusFound, res.StatusCode)
	cb := mustURL(t, res.Header.Get("Location"))
	base := mustURL(t, r.console.URL)
	var p pending
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == "__Host-tokenmeter-login" {
			var err error
			p, err = r.sso.sealer.open(ck.Value, time.Now())
			require.NoError(t, err)
		}
	}
	require.NotEmpty(t, p.State)
	p.Verifier = "a-verifier-that-is-not-the-one-whose-challenge-was-sent-000"
	c.Jar.SetCookies(base, []*http.Cookie{{Name: "__Host-tokenmeter-login", Value: r.sso.sealer.seal(p), Path: "/", Secure: true}})
	res, err := c.Get(cb.String())
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, read(t, res), "could not be verified")
	require.Zero(t, r.sso.sessions.len())
}

// TestSessionExpires: past its lifetime a session signs nobody in and its
// calls carry no key.
func TestSessionExpires(t *testing.T) {
	r := newRig(t, time.Minute)
	c := r.browser(t, "")
	res, _ := signIn(t, c, r.console.URL, "ann@acme.example", "ann-password")
	require.Equal(t, http.StatusOK, res.StatusCode)
	csrf := sessionInfo(t, c, r.console.URL)["csrf"].(string)
	later := time.Now().Add(time.Minute + time.Second)
	r.sso.sessions.now = func() time.Time { return later }
	require.Equal(t, false, sessionInfo(t, c, r.console.URL)["signed_in"])
	_, body := api(t, c, r.console.URL, csrf)
	require.Equal(t, "no key|otherother", body, "an expired session's call carries no key")
	require.Zero(t, r.sso.sessions.len(), "the expired session is dropped")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

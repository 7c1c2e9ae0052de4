package sso

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/rolegrant"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// claims are an ID token's claims.
type claims map[string]any

func (c claims) str(name string) string {
	v, _ := c[name].(string)
	return v
}

func (c claims) subject() string { return c.str("sub") }

// MaxPersonID bounds the id a person acts under (an e-mail address has at
// most 254 bytes, a subject 255).
const MaxPersonID = 255

// personID is whom the session acts as: the e-mail address the provider
// vouches for, else the subject.
func (c claims) personID() string {
	if e := c.verifiedEmail(); e != "" {
		return e
	}
	return c.subject()
}

// verifiedEmail is the e-mail address the provider vouches for ("" if none).
func (c claims) verifiedEmail() string {
	if v, _ := c["email_verified"].(bool); v {
		return c.str("email")
	}
	return ""
}

// name is what the console shows for the person.
func (c claims) name() string {
	for _, k := range []string{"name", "preferred_username", "email", "sub"} {
		if v := c.str(k); v != "" {
			return v
		}
	}
	return "someone without a name"
}

// values reads a claim that is a string or an array of strings (groups).
func (c claims) values(name string) []string {
	switch v := c[name].(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		var out []string
		for _, e := range v[:min(len(v), MaxClaimValues)] {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// mapClaims returns the grant that lets the claims' person in, or why
// there is none: the grants file's first matching line (the operator's
// bootstrap), else the API's grants of the organisations the claims carry,
// an e-mail grant before a role-claim grant, the oldest first.
func mapClaims(c claims, orgClaim, roleClaim string, file []Grant, api APIGrants) (Grant, string) {
	orgs, roles := c.values(orgClaim), c.values(roleClaim)
	if len(orgs) == 0 {
		return Grant{}, fmt.Sprintf("your account names no organisation (claim %s)", quote.Prefix(orgClaim))
	}
	for _, g := range file {
		if slices.Contains(orgs, g.Org) && slices.Contains(roles, g.Claim) {
			return g, ""
		}
	}
	if g, ok := apiGrant(c, orgs, roles, api); ok {
		return g, ""
	}
	if len(roles) == 0 {
		return Grant{}, fmt.Sprintf("your account names no role (claim %s) and no grant names its e-mail address", quote.Prefix(roleClaim))
	}
	return Grant{}, fmt.Sprintf("organisation %s with role %s has no access to this console", quote.Prefix(orgs[0]), quote.Prefix(roles[0]))
}

// apiGrant finds the live API grant matching the claims: the verified
// e-mail address first, then a value of the role claim.
func apiGrant(c claims, orgs, roles []string, api APIGrants) (Grant, bool) {
	if api == nil {
		return Grant{}, false
	}
	email := c.verifiedEmail()
	for _, claim := range []v1.GrantClaim{v1.GrantClaim_GRANT_CLAIM_EMAIL, v1.GrantClaim_GRANT_CLAIM_ROLE} {
		for _, org := range orgs {
			for _, r := range api.Live(org) {
				if r.GetClaim() != claim {
					continue
				}
				if (claim == v1.GrantClaim_GRANT_CLAIM_EMAIL && email != "" && rolegrant.Normal(claim, email) == r.GetClaimValue()) ||
					(claim == v1.GrantClaim_GRANT_CLAIM_ROLE && slices.Contains(roles, r.GetClaimValue())) {
					return Grant{Org: org, Claim: r.GetClaimValue(), Role: auth.Role(r.GetRole()), Team: r.GetRoleTeamId(), ID: r.GetGrantId()}, true
				}
			}
		}
	}
	return Grant{}, false
}

// Wrap lets a signed-in session call the API through its own key.
// A request with its own Authorization header (a machine's or a
// developer's API key) passes as it came; so does one without either,
// which the services then refuse as unauthenticated.
func (s *SSO) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, _, ok := s.Session(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(sess.CSRF)) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"code":7,"message":"a call made with the session cookie needs its ` + CSRFHeader + ` header"}`))
			return
		}
		r.Header.Set("Authorization", "Bearer "+sess.key)
		// A person acts for their grant's organisation alone: no header may
		// name another one or add gRPC metadata.
		for name := range r.Header {
			if strings.EqualFold(name, auth.MetadataOrg) || strings.HasPrefix(strings.ToLower(name), "grpc-metadata-") {
				r.Header.Del(name)
			}
		}
		next.ServeHTTP(w, r)
	})
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · tokenmeter</title>
<link rel="stylesheet" href="/style.css"></head>
<body><main id="main" class="signin-page"><div class="signin" role="alert">
<h1>{{.Title}}</h1><p>{{.Text}}</p><p><a href="/">Back to the console's sign-in</a></p>
</div></main></body></html>
`))

// page answers with a short HTML page: the browser is mid-navigation here.
func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ Title, Text string }{title, text})
}

// clip quotes at most a short prefix of what a provider or person sent.
func clip(s string) string { return quote.Prefix(s) }

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
	if v, _ := c["email_verified"].(bool); v && c.str("email") != "" {
		return c.str("email")
	}
	return c.subject()
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

// mapClaims returns the first grant whose organisation and role the claims
// carry, or why there is none.
func mapClaims(c claims, orgClaim, roleClaim string, grants []Grant) (Grant, string) {
	orgs, roles := c.values(orgClaim), c.values(roleClaim)
	switch {
	case len(orgs) == 0:
		return Grant{}, fmt.Sprintf("your account names no organisation (claim %s)", quote.Prefix(orgClaim))
	case len(roles) == 0:
		return Grant{}, fmt.Sprintf("your account names no role (claim %s)", quote.Prefix(roleClaim))
	}
	for _, g := range grants {
		if slices.Contains(orgs, g.Org) && slices.Contains(roles, g.Claim) {
			return g, ""
		}
	}
	return Grant{}, fmt.Sprintf("organisation %s with role %s has no access to this console", quote.Prefix(orgs[0]), quote.Prefix(roles[0]))
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

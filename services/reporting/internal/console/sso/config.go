// Package sso signs people into the console with OpenID Connect: the
// authorization code flow with PKCE against the organisation's identity
// provider, claims mapped to an organisation and a role, and a server-side
// session behind an HttpOnly cookie. A session acts through the API key the
// operator bound to its organisation and role, so the services authorize it
// exactly as they authorize that key.
package sso

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Limits of the configuration and of what a provider may send.
const (
	// MaxGrants bounds the lines of the grants file.
	MaxGrants = 10_000
	// MaxClaimValues bounds the values of a multi-valued claim (groups).
	MaxClaimValues = 256
	// MaxGrantsFileBytes bounds the grants file.
	MaxGrantsFileBytes = 1 << 20
)

// Config is the relying party's configuration (flags in package reporting).
type Config struct {
	Issuer           string
	ClientID         string
	ClientSecretFile string
	// RedirectURL is the console's /auth/callback as the provider knows it.
	RedirectURL string
	// OrgClaim and RoleClaim name the ID token claims that carry the
	// organisation and the role (a string or an array of strings).
	OrgClaim, RoleClaim string
	// GrantsFile lists "org:role:api-key" lines: the organisations and roles
	// allowed in, and the key each one's calls carry.
	GrantsFile string
	// CAFile holds PEM CAs trusted for the provider (empty: system roots).
	CAFile string
	// Lifetime is how long a session lasts; MaxSessions bounds them.
	Lifetime    time.Duration
	MaxSessions int
	// Insecure drops the cookies' Secure flag and allows an http issuer
	// beyond loopback (the -insecure-plaintext dev flag).
	Insecure bool
}

// Enabled says whether single sign-on is configured at all.
func (c Config) Enabled() bool { return c.Issuer != "" }

// Validate joins every problem of an enabled configuration.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	for _, f := range [][2]string{{"console-oidc-client-id", c.ClientID}, {"console-oidc-client-secret-file", c.ClientSecretFile},
		{"console-oidc-redirect-url", c.RedirectURL}, {"console-oidc-grants-file", c.GrantsFile},
		{"console-oidc-org-claim", c.OrgClaim}, {"console-oidc-role-claim", c.RoleClaim}} {
		if f[1] == "" {
			errs = append(errs, fmt.Errorf("-%s is required with -console-oidc-issuer", f[0]))
		}
	}
	if err := c.checkURL("console-oidc-issuer", c.Issuer); err != nil {
		errs = append(errs, err)
	}
	if err := c.checkURL("console-oidc-redirect-url", c.RedirectURL); err != nil {
		errs = append(errs, err)
	}
	if c.Lifetime < time.Second || c.Lifetime > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("-console-session-lifetime %s: want 1s to 168h", c.Lifetime))
	}
	if c.MaxSessions < 1 || c.MaxSessions > 1_000_000 {
		errs = append(errs, fmt.Errorf("-console-max-sessions %d: want 1 to 1000000", c.MaxSessions))
	}
	return errors.Join(errs...)
}

// checkURL wants an absolute URL, https unless on loopback or Insecure.
func (c Config) checkURL(flag, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("-%s %s: want an absolute http(s) URL", flag, quote.Prefix(raw))
	}
	if u.Scheme == "http" && !c.Insecure && !certs.Loopback(u.Host) {
		return fmt.Errorf("-%s %s: https is required beyond loopback (or -insecure-plaintext)", flag, quote.Prefix(raw))
	}
	return nil
}

// Grant is one organisation and role allowed in, with the key its calls carry.
type Grant struct {
	Org, Role string
	key       string
}

// readGrants reads the grants file: "org:role:api-key" a line, blank lines
// and #-comments ignored. The first line matching a person's claims wins.
func readGrants(path string) ([]Grant, error) {
	data, err := readBounded(path, MaxGrantsFileBytes)
	if err != nil {
		return nil, err
	}
	var out []Grant
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		org, rest, ok1 := strings.Cut(line, ":")
		role, key, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || org == "" || role == "" || len(key) < 8 {
			return nil, fmt.Errorf("%s line %d: want org:role:api-key (the key at least 8 characters)", path, n)
		}
		if len(out) == MaxGrants {
			return nil, fmt.Errorf("%s: more than %d grants", path, MaxGrants)
		}
		out = append(out, Grant{Org: org, Role: role, key: key})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no grants: nobody could sign in", path)
	}
	return out, sc.Err()
}

func readBounded(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return os.ReadFile(path)
}

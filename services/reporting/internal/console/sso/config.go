// Package sso signs people into the console with OpenID Connect: the
// authorization code flow with PKCE against the organisation's identity
// provider, claims mapped to an organisation and a role, and a server-side
// session behind an HttpOnly cookie. Each session acts through a key of its
// own (libs/keystore.Sessions) naming the person and holding the role the
// operator's grants give, so the services authorize it as any key of that
// role and record the person as the actor; the key expires with the session
// and sign-out revokes it.
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

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
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
	// GrantsFile lists "org:claim:role[:team]" lines: the organisations and
	// role-claim values allowed in, and the tokenmeter role each one holds.
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
	if c.Lifetime < time.Second || c.Lifetime > keystore.MaxSessionKeyLife {
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

// Grant lets the people whose claims carry one organisation and one value
// of the role claim into the console, holding one tokenmeter role.
type Grant struct {
	// Org is the organisation (also the value of the organisation claim);
	// Claim the value of the role claim (a group, say).
	Org, Claim string
	// Role is what the session may do (owner, admin, viewer, team-admin),
	// Team a team-admin's team.
	Role auth.Role
	Team string
	// ID is the id of a grant made through the API (libs/rolegrant), whose
	// revocation ends the sessions it opened; empty for the grants file's.
	ID string
}

// readGrants reads the grants file: "org:claim:role[:team]" a line, blank
// lines and #-comments ignored. The first line matching a person's claims wins.
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
		g, err := parseGrant(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		if len(out) == MaxGrants {
			return nil, fmt.Errorf("%s: more than %d grants", path, MaxGrants)
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no grants: nobody could sign in", path)
	}
	return out, sc.Err()
}

func parseGrant(line string) (Grant, error) {
	f := strings.Split(line, ":")
	if len(f) < 3 || len(f) > 4 || f[0] == "" || f[1] == "" {
		return Grant{}, errors.New("want org:claim:role[:team] (grants hold no API keys: each session gets its own)")
	}
	if !eventlog.ValidID(f[0]) {
		return Grant{}, fmt.Errorf("organisation %s must be an id", quote.Prefix(f[0]))
	}
	g := Grant{Org: f[0], Claim: f[1]}
	if len(f) == 4 {
		g.Team = f[3]
	}
	role, err := auth.ParseRole(f[2], g.Team)
	if err != nil {
		return Grant{}, err
	}
	g.Role = role
	return g, nil
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

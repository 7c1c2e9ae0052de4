package sso

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokenmeter/tokenmeter/libs/keystore"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Cookie names: __Host- makes the browser accept the cookie only when
// Secure, for this host alone and Path=/ (no subdomain can plant one).
const (
	hostPrefix    = "__Host-"
	sessionCookie = "tokenmeter-session"
	loginCookie   = "tokenmeter-login"
	// CSRFHeader carries the session's token on every call but GETs.
	CSRFHeader = "X-CSRF-Token"
)

// providerTimeout bounds one call to the identity provider; after a failed
// discovery, sign-ins fail at once for discoveryRetry rather than each
// waiting on a provider that is down.
const (
	providerTimeout = 10 * time.Second
	discoveryRetry  = 5 * time.Second
)

// Keys makes and revokes the sessions' keys: a keystore.Store of
// keystore.Sessions, which every service follows.
type Keys interface {
	Create(ctx context.Context, tmpl keystore.Record, now time.Time) (string, keystore.Record, error)
	Revoke(ctx context.Context, org, keyID string, now time.Time) (keystore.Record, error)
}

// APIGrants are the grants owners make through the API: a
// *rolegrant.Index following the ROLE_GRANTS bucket.
type APIGrants interface {
	Live(org string) []*v1.RoleGrant
	IsLive(org, id string) bool
	OnEnd(f func(org, id string))
}

// People shows an organisation's people as its personal-data setting says
// (privacy.Policy.Users): the person a session acts as is shown so.
type People func(org string) func(id string) string

// SSO is the console's relying party and its sessions.
type SSO struct {
	cfg      Config
	keys     Keys
	people   People
	grants   []Grant
	api      APIGrants
	secret   string
	client   *http.Client
	sessions *store
	sealer   *sealer
	now      func() time.Time
	log      *slog.Logger
	// known says whether the services already accept a key (nil: no wait).
	known func(secret string) bool
	// base is the context of discovery and of the provider's key set,
	// which refreshes keys after the call that created it returned.
	base context.Context

	mu       sync.Mutex
	provider *oidc.Provider
	failed   time.Time
	failure  error
}

// New reads the grants file and the client secret; api (nil: the file's
// grants alone) adds the owners' grants, and a revoked one ends the
// sessions it opened. The provider is discovered at the first sign-in, so
// the console starts while the provider is down.
func New(ctx context.Context, cfg Config, keys Keys, people People, api APIGrants, log *slog.Logger) (*SSO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if keys == nil || people == nil {
		return nil, errors.New("console sso: no store for the sessions' keys")
	}
	grants, err := readGrants(cfg.GrantsFile)
	if err != nil {
		return nil, fmt.Errorf("console sso grants: %w", err)
	}
	secret, err := readBounded(cfg.ClientSecretFile, 4096)
	if err != nil {
		return nil, fmt.Errorf("console sso client secret: %w", err)
	}
	client, err := providerClient(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	sl, err := newSealer()
	if err != nil {
		return nil, err
	}
	s := &SSO{cfg: cfg, keys: keys, people: people, grants: grants, api: api, secret: strings.TrimSpace(string(secret)), client: client,
		sessions: newStore(cfg.MaxSessions, time.Now), sealer: sl, now: time.Now, log: log,
		base: oidc.ClientContext(context.WithoutCancel(ctx), client)}
	if api != nil {
		api.OnEnd(s.endGrant)
	}
	return s, nil
}

// endGrant ends the sessions an API grant opened and revokes their keys.
func (s *SSO) endGrant(org, id string) {
	for _, sess := range s.sessions.removeGrant(org, id) {
		s.log.Info("console session ended: its role grant was revoked", "org", org, "grant_id", id, "person", sess.Person)
		s.revoke(s.base, sess)
	}
}

func providerClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := readBounded(caFile, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("-console-oidc-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-console-oidc-ca %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: providerTimeout}, nil
}

// oauth returns the provider, discovering it once it answers.
func (s *SSO) oauth() (*oidc.Provider, *oauth2.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider == nil {
		if s.now().Sub(s.failed) < discoveryRetry {
			return nil, nil, s.failure
		}
		p, err := oidc.NewProvider(s.base, s.cfg.Issuer)
		if err != nil {
			s.failed, s.failure = s.now(), fmt.Errorf("the identity provider at %s did not answer its discovery: %w", s.cfg.Issuer, err)
			return nil, nil, s.failure
		}
		s.provider = p
	}
	return s.provider, &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.secret, RedirectURL: s.cfg.RedirectURL,
		Endpoint: s.provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}, nil
}

// cookie is a cookie of the console: HttpOnly, SameSite=Lax (the provider's
// redirect back is a top-level GET from another site), Secure with the
// __Host- prefix unless -insecure-plaintext.
func (s *SSO) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", HttpOnly: true,
		Secure: !s.cfg.Insecure, SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}

func (s *SSO) cookieName(name string) string {
	if s.cfg.Insecure {
		return name
	}
	return hostPrefix + name
}

// Session returns the signed-in session of r, if any.
func (s *SSO) Session(r *http.Request) (Session, string, bool) {
	c, err := r.Cookie(s.cookieName(sessionCookie))
	if err != nil || len(c.Value) > 64 {
		return Session{}, "", false
	}
	sess, ok := s.sessions.get(c.Value)
	return sess, c.Value, ok
}

// keyPropagation bounds how long a sign-in waits for its session key to
// reach the services, which follow the bucket it was written to.
const keyPropagation = 2 * time.Second

// AwaitKeys makes sign-ins wait until known accepts their new session key,
// so the console's first calls are not refused as an unknown key.
func (s *SSO) AwaitKeys(known func(secret string) bool) { s.known = known }

// await waits, at most keyPropagation, until the services accept secret;
// past that the session opens anyway (the key reaches them soon after).
func (s *SSO) await(ctx context.Context, secret string) {
	if s.known == nil {
		return
	}
	deadline := time.Now().Add(keyPropagation)
	for !s.known(secret) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

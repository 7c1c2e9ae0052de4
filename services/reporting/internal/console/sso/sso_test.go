package sso

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/rolegrant"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/oidcprovider"
)

const (
	clientID     = "tokenmeter-console"
	clientSecret = "console-client-secret"
)

// people at the provider: one the grants let in, one of an organisation they do not.
var people = []oidcprovider.Person{
	{ID: "u-ann", Username: "ann@acme.example", Password: "ann-password", Name: "Ann Admin",
		Claims: map[string]any{"tokenmeter_org": "acme", "groups": []string{"staff", "licence-admins"}}},
	{ID: "u-bea", Username: "bea@beta.example", Password: "bea-password", Name: "Bea Viewer",
		Claims: map[string]any{"tokenmeter_org": "beta", "groups": "staff"}},
	{ID: "u-cal", Username: "cal@acme.example", Password: "cal-password", Name: "Cal Contractor",
		Claims: map[string]any{"tokenmeter_org": "acme", "groups": []string{"contractors"}}},
	{ID: "u-rex", Username: "rex@other.example", Password: "rex-password", Name: "Rex Refused",
		Claims: map[string]any{"tokenmeter_org": "other", "groups": []string{"licence-admins"}}},
}

// rig is a console-shaped server (the sign-in routes, and an API that
// answers who the key it receives stands for, as a service's keyring
// following the session keys sees it) in front of a real provider.
type rig struct {
	sso     *SSO
	console *httptest.Server
	ring    *auth.Keyring
	keys    *keystore.Store
	// grants is the role grant bucket as ingestion writes it; the console follows it.
	grants *rolegrant.Store
}

// sessionKeys is the session key bucket on an embedded NATS, as reporting
// owns it, and a keyring following it as another service's does.
func sessionKeys(t *testing.T, url string) (*keystore.Store, *auth.Keyring) {
	js, err := jetstream.New(testkit.Connect(t, url, natsauth.Reporting))
	require.NoError(t, err)
	store, err := keystore.Open(t.Context(), js, keystore.Sessions, 1)
	require.NoError(t, err)
	follower, err := jetstream.New(testkit.Connect(t, url, natsauth.Ledger))
	require.NoError(t, err)
	ring := auth.NewKeyring()
	keystore.Follow(t.Context(), follower, keystore.Sessions, ring, slog.Default())
	return store, ring
}

// roleGrants is the role grant bucket as ingestion owns it, and an index
// following it as the console's does.
func roleGrants(t *testing.T, url string) (*rolegrant.Store, *rolegrant.Index) {
	js, err := jetstream.New(testkit.Connect(t, url, natsauth.Ingestion))
	require.NoError(t, err)
	store, err := rolegrant.Open(t.Context(), js, 1)
	require.NoError(t, err)
	reader, err := jetstream.New(testkit.Connect(t, url, natsauth.Reporting))
	require.NoError(t, err)
	index := rolegrant.NewIndex()
	rolegrant.Follow(t.Context(), reader, index, slog.Default())
	return store, index
}

// showsAcme: acme shows its people as they are, other organisations as pseudonyms.
type showsAcme struct{}

func (showsAcme) ShowsPersonalData(org string) bool { return org == "acme" }

var pseudonyms = privacy.New(testkit.UserHashKey, showsAcme{}).Users

func newRig(t *testing.T, lifetime time.Duration) *rig {
	t.Helper()
	console := httptest.NewUnstartedServer(nil)
	redirect := "https://" + console.Listener.Addr().String() + "/auth/callback"
	op := oidcprovider.Start(t, clientID, clientSecret, redirect, people...)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	url, _ := testkit.NATS(t)
	keys, ring := sessionKeys(t, url)
	grants, index := roleGrants(t, url)
	s, err := New(t.Context(), Config{Issuer: op.Issuer, ClientID: clientID, ClientSecretFile: write("secret", clientSecret+"\n"),
		RedirectURL: redirect, OrgClaim: "tokenmeter_org", RoleClaim: "groups", Lifetime: lifetime, MaxSessions: 10,
		GrantsFile: write("grants", "# org:claim:role\nacme:licence-admins:admin\nbeta:staff:viewer\n")}, keys, pseudonyms, index, slog.Default())
	require.NoError(t, err)
	// The console's first call right after sign-in carries the new key: the
	// sign-in waits for it to reach the services' keyring (here, ring).
	s.AwaitKeys(func(secret string) bool { _, err := ring.Authenticate(secret); return err == nil })
	mux := http.NewServeMux()
	s.Routes(mux)
	mux.Handle("/api/", s.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "no key"
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			who = "unknown key"
			if p, err := ring.Authenticate(bearer); err == nil {
				who = p.Org + "/" + string(p.Role) + "/" + p.KeyID
			}
		}
		_, _ = io.WriteString(w, who+"|"+r.Header.Get("X-Tokenmeter-Org")+r.Header.Get("Grpc-Metadata-X-Tokenmeter-Org"))
	})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "the console") })
	console.Config.Handler = mux
	console.StartTLS()
	t.Cleanup(console.Close)
	return &rig{sso: s, console: console, ring: ring, keys: keys, grants: grants}
}

// browser is an HTTP client with a cookie jar that trusts the console; stop
// makes it halt before following a redirect to that path of the console.
func (r *rig) browser(t *testing.T, stop string) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := r.console.Client()
	c.Jar = jar
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if stop != "" && req.URL.Host == r.console.Listener.Addr().String() && req.URL.Path == stop {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return c
}

var loginID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signIn starts at the console, signs in on the provider's login page and
// returns the last answer of the redirects that follow.
func signIn(t *testing.T, c *http.Client, console, user, password string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(console + "/auth/login")
	require.NoError(t, err)
	body := read(t, res)
	m := loginID.FindStringSubmatch(body)
	require.NotNil(t, m, "the provider's login page: %s", body)
	login := res.Request.URL.ResolveReference(&url.URL{Path: "/login/username"})
	res, err = c.PostForm(login.String(), url.Values{"id": {m[1]}, "username": {user}, "password": {password}})
	require.NoError(t, err)
	return res, read(t, res)
}

func read(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func sessionInfo(t *testing.T, c *http.Client, console string) map[string]any {
	t.Helper()
	res, err := c.Get(console + "/auth/session")
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(read(t, res)), &out))
	return out
}

func api(t *testing.T, c *http.Client, console, csrf string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, console+"/api/tokenmeter.v1.LedgerService/ListTeams", strings.NewReader("{}"))
	require.NoError(t, err)
	if csrf != "" {
		req.Header.Set(CSRFHeader, csrf)
	}
	// A session's call may not name another organisation than its own.
	req.Header.Set("X-Tokenmeter-Org", "other")
	req.Header.Set("Grpc-Metadata-X-Tokenmeter-Org", "other")
	res, err := c.Do(req)
	require.NoError(t, err)
	body := read(t, res)
	return res.StatusCode, body
}

package webhook_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

func TestPolicyCheckURL(t *testing.T) {
	t.Parallel()
	open, err := webhook.NewPolicy(nil)
	require.NoError(t, err)
	allowing, err := webhook.NewPolicy([]string{"hooks.corp.example", "10.0.0.0/8", "fd00::1"})
	require.NoError(t, err)
	tests := []struct {
		policy *webhook.Policy
		url    string
		ok     bool
	}{
		{open, "https://hooks.slack.com/services/T0/B0/x", true},
		{open, "https://203.0.114.7:8443/hook", true},
		{open, "http://hooks.slack.com/services/T0/B0/x", false},
		{open, "https://127.0.0.1/", false},
		{open, "https://127.9.9.9:7071/", false},
		{open, "https://[::1]/", false},
		{open, "https://[::ffff:127.0.0.1]/", false},
		{open, "https://169.254.169.254/latest/meta-data/", false},
		{open, "https://100.64.1.1/", false},
		{open, "https://10.1.2.3/", false},
		{open, "https://192.168.1.1/", false},
		{open, "https://[fd00:ec2::254]/", false},
		{open, "https://user:pw@hooks.example/", false},
		{open, "ftp://hooks.example/", false},
		{open, "/relative", false},
		{allowing, "http://hooks.corp.example:8080/alerts", true},
		{allowing, "http://HOOKS.corp.example/alerts", true},
		{allowing, "https://10.1.2.3/", true},
		{allowing, "http://10.1.2.3/", true},
		{allowing, "https://[fd00::1]/", true},
		{allowing, "https://11.0.0.1/", true},
		{allowing, "https://192.168.1.1/", false},
		{allowing, "http://other.corp.example/", false},
	}
	for _, tt := range tests {
		err := tt.policy.CheckURL(tt.url)
		if tt.ok {
			require.NoError(t, err, tt.url)
		} else {
			require.Error(t, err, tt.url)
		}
	}
}

func TestNewPolicyRefusesGarbage(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"http://x", "10.0.0.0/99", "a b", strings.Repeat("h", 300)} {
		_, err := webhook.NewPolicy([]string{bad})
		require.Error(t, err, bad)
		require.Less(t, len(err.Error()), 200, "the error quotes a short prefix")
	}
}

// counting is an internal service that must never be reached: it counts
// connections, not only requests, since a refused TLS handshake is contact too.
type counting struct {
	receiver
	mu    sync.Mutex
	conns int
}

func (c *counting) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.mu.Lock()
		c.conns++
		c.mu.Unlock()
	}
}

func (c *counting) connections() int { c.mu.Lock(); defer c.mu.Unlock(); return c.conns }

func startCounting(t *testing.T, tls bool) (*counting, *httptest.Server) {
	t.Helper()
	c := &counting{receiver: receiver{codes: []int{200}}}
	srv := httptest.NewUnstartedServer(c)
	srv.Config.ConnState = c.connState
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return c, srv
}

// The review's three probes: a hook at an internal address (by literal and by
// a name resolving to loopback), a public hook that redirects inside, and the
// cloud metadata address. None is contacted, and the dead letters say only
// "address not allowed", "connection failed" or the status, never a dial error.
func TestDeliveriesReachNothingInside(t *testing.T) {
	t.Parallel()
	inside, insideTLS := startCounting(t, true)
	_, port, _ := net.SplitHostPort(insideTLS.Listener.Addr().String())

	r := startDispatcherWith(t, 3, mustPolicy(t))
	r.hook(t, "literal", insideTLS.URL+"/admin")
	r.hook(t, "byname", "https://localhost:"+port+"/admin")
	r.hook(t, "metadata", "https://169.254.169.254/latest/meta-data/iam")
	r.hook(t, "plain", "http://127.0.0.1:"+port+"/admin")
	r.raise(t, 1)
	require.Zero(t, inside.connections(), "no internal address was contacted")
	dead, err := r.store.DeadLetters.List(t.Context(), "acme", "design")
	require.NoError(t, err)
	require.Len(t, dead, 4)
	for _, dl := range dead {
		require.Equal(t, "address not allowed", dl.GetLastError(), dl.GetWebhookId())
		require.EqualValues(t, 1, dl.GetAttempts(), "a refused address is not retried: %s", dl.GetWebhookId())
		require.NotContains(t, dl.GetUrl(), "admin", "the path is redacted")
		require.NotContains(t, dl.GetUrl(), "iam")
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	inside, insideSrv := startCounting(t, false)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, insideSrv.URL+"/admin/metadata?x=1", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)

	r := startDispatcher(t, 3)
	r.hook(t, "redirect", redirector.URL+"/hook")
	r.raise(t, 1)
	require.Zero(t, inside.connections())
	dead, err := r.store.DeadLetters.List(t.Context(), "acme", "design")
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Contains(t, dead[0].GetLastError(), "307 Temporary Redirect: redirects are not followed")
	require.EqualValues(t, 1, dead[0].GetAttempts())
}

// A closed port and a silent failure read the same: dead letters are no port scanner.
func TestFailedConnectionsSayNothingOfThePort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())

	r := startDispatcher(t, 2)
	r.hook(t, "closed", "http://"+closed+"/hook")
	r.raise(t, 1)
	dead, err := r.store.DeadLetters.List(t.Context(), "acme", "design")
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, "connection failed", dead[0].GetLastError())
}

func mustPolicy(t *testing.T, allow ...string) *webhook.Policy {
	t.Helper()
	p, err := webhook.NewPolicy(allow)
	require.NoError(t, err)
	return p
}

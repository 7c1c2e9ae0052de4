package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launcher"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
	"github.com/tokenmeter/tokenmeter/tools/tokenctl"
)

// Every hop on TLS with client certificates between the services: a launch
// goes launcher → ingestion (TLS) → ledger (mutual TLS, service key), the
// console serves HTTPS and reaches reporting, the ledger and alerting over
// TLS, and plaintext or a service key without a certificate is refused.
func TestEveryHopOverTLS(t *testing.T) {
	f := testkit.Certs(t)
	files := certs.Files{Cert: f.Cert, Key: f.Key, ClientCA: f.CA, CA: f.CA}
	natsURL, _ := testkit.NATS(t)
	_, db := testkit.ClickHouse(t)
	ctx, cancel := context.WithCancel(t.Context())
	stack, err := devstack.Start(ctx, devstack.Options{
		NATSURL: natsURL, NATSCreds: testkit.AllCreds(t, natsURL), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0", AlertingListen: "127.0.0.1:0",
		IngestionHTTPListen: "127.0.0.1:0", ConsoleListen: "127.0.0.1:0", TLS: files,
	})
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); require.NoError(t, stack.Wait()) })
	trusting, err := certs.Files{CA: f.CA}.Client()
	require.NoError(t, err)
	dialTLS := func(addr, key string) *grpc.ClientConn {
		conn, err := grpcserver.DialTLS(addr, key, trusting)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}

	ledger := v1.NewLedgerServiceClient(dialTLS(stack.Ledger.Addr(), devstack.AdminKey))
	_, err = ledger.SetProductRate(t.Context(), &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = ledger.AddPack(t.Context(), &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p1", Tokens: 50})
	require.NoError(t, err)
	_, err = ledger.AssignUser(t.Context(), &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: "design", UserId: "ann", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)

	ingest := v1.NewIngestionServiceClient(dialTLS(stack.Ingestion.Addr(), devstack.LauncherKey))
	res, err := ingest.Launch(t.Context(), &v1.LaunchRequest{EventId: "tls-launch-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	require.NoError(t, err, "ingestion reached the ledger over mutual TLS")
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, res.GetDecision())

	plain := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.LauncherKey))
	_, err = plain.Launch(t.Context(), &v1.LaunchRequest{EventId: "tls-launch-0002", TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	require.Equal(t, codes.Unavailable, status.Code(err), "plaintext to a TLS listener")

	stolen := v1.NewLedgerServiceClient(dialTLS(stack.Ledger.Addr(), devstack.ReportingKey))
	_, err = stolen.GetBalance(auth.ActingFor(t.Context(), devstack.DemoOrg), &v1.GetBalanceRequest{TeamId: "design"})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a service key without a client certificate")

	// tokenctl verifies the services with --tls-ca (TLS is its default
	// beyond loopback; here the CA asks for it on loopback too).
	env := map[string]string{
		"TOKENMETER_LEDGER_ADDR": stack.Ledger.Addr(), "TOKENMETER_INGESTION_ADDR": stack.Ingestion.Addr(),
		"TOKENMETER_REPORTING_ADDR": stack.Reporting.Addr(), "TOKENMETER_ALERTING_ADDR": stack.Alerting.Addr(),
		"TOKENMETER_API_KEY": devstack.AdminKey, "TOKENMETER_TLS_CA": f.CA,
		"XDG_CONFIG_HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir(), "HOME": t.TempDir(),
	}
	var out, errb bytes.Buffer
	require.Zero(t, tokenctl.Run(t.Context(), tokenctl.Options{Getenv: func(k string) string { return env[k] }},
		[]string{"balance", "design", "-o", "json"}, &out, &errb), errb.String())
	require.Contains(t, out.String(), `"available"`)
	env["TOKENMETER_TLS"] = "off"
	errb.Reset()
	require.NotZero(t, tokenctl.Run(t.Context(), tokenctl.Options{Getenv: func(k string) string { return env[k] }},
		[]string{"balance", "design"}, &out, &errb), "plaintext to a TLS ledger")

	// The launcher SDK dials TLS with the configuration it is given.
	sdk, err := launcher.New(launcher.Options{Addr: stack.Ingestion.Addr(), APIKey: devstack.LauncherKey, TLS: trusting})
	require.NoError(t, err)
	defer sdk.Close()
	quote, err := sdk.Quote(t.Context(), &v1.QuoteRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	require.NoError(t, err)
	require.NotNil(t, quote)

	web := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: trusting}}
	door := postTLS(t, web, "https://"+stack.Ingestion.HTTPAddr()+"/tokenmeter.v1.IngestionService/Launch", devstack.LauncherKey,
		`{"event_id":"tls-launch-0003","team_id":"design","user_id":"ann","product_code":"REVIT"}`)
	require.Contains(t, door, "DECISION_AUTHORIZED")
	console := strings.TrimSuffix(stack.Reporting.ConsoleURL(), "/")
	require.True(t, strings.HasPrefix(console, "https://"), console)
	require.Contains(t, postTLS(t, web, console+"/api/tokenmeter.v1.LedgerService/GetBalance", devstack.AdminKey, `{"team_id":"design"}`), `"available"`)
	require.Contains(t, postTLS(t, web, console+"/api/tokenmeter.v1.ReportingService/GetUsageSummary", devstack.AdminKey, `{"team_ids":["design"]}`), `"from_date"`)
	require.Contains(t, postTLS(t, web, console+"/api/tokenmeter.v1.AlertingService/ListRules", devstack.AdminKey, `{}`), `"defaults"`)

	// The console relays people's calls without the service's certificate: a
	// stolen service key gets no further through it than directly.
	for _, path := range []string{"LedgerService/GetBalance", "ReportingService/GetUsageSummary", "AlertingService/ListRules"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, console+"/api/tokenmeter.v1."+path,
			bytes.NewBufferString(`{"team_id":"design","team_ids":["design"]}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+devstack.ServiceKey)
		req.Header.Set("X-Tokenmeter-Org", devstack.DemoOrg)
		resp, err := web.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		// Refused (403), or unknown (401) where only the ledger holds the key.
		require.Contains(t, []int{http.StatusForbidden, http.StatusUnauthorized}, resp.StatusCode, "a service key through the console to %s", path)
	}
}

func postTLS(t *testing.T, c *http.Client, url, key, body string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, out)
	require.NotNil(t, resp.TLS)
	require.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))
	return string(out)
}

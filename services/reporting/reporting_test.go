package reporting_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

const (
	acmeKey    = "acme-admin-secret"
	globexKey  = "globex-admin-secret"
	serviceKey = "any-org-service-secret"
	launchKey  = "acme-launcher-secret"
	initechKey = "initech-admin-secret"
)

func startService(t *testing.T) (svc *reporting.Service, natsURL string) {
	t.Helper()
	natsURL, _ = testkit.NATS(t)
	return startServiceWith(t, natsURL, nil), natsURL
}

// startServiceWith runs the service on natsURL and a fresh ClickHouse
// database; configure, when set, adjusts its configuration.
func startServiceWith(t *testing.T, natsURL string, configure func(*reporting.Config)) *reporting.Service {
	t.Helper()
	cfg := serviceConfig(t, natsURL)
	if configure != nil {
		configure(&cfg)
	}
	svc, _ := runService(t, cfg)
	return svc
}

// serviceConfig is the tests' configuration: the log at natsURL and a
// fresh ClickHouse database.
func serviceConfig(t *testing.T, natsURL string) reporting.Config {
	t.Helper()
	_, database := testkit.ClickHouse(t)
	provisionLog(t, natsURL)
	return reporting.Config{
		Common: config.Common{
			Listen:    "127.0.0.1:0",
			NATSURL:   natsURL,
			NATSCreds: testkit.Creds(t, natsURL, "reporting"),
			APIKeys:   acmeKey + ":acme:admin," + globexKey + ":globex:admin," + serviceKey + ":*:service:reporting," + initechKey + ":initech:admin," + launchKey + ":acme:launcher:design",
			LogLevel:  "info",
		},
		ClickHouseAddr:     testkit.ClickHouseAddr(),
		ClickHouseDatabase: database,
		ClickHouseUser:     "default",
		FlushRows:          100,
		FlushInterval:      10 * time.Millisecond,
		UserHashKey:        testkit.UserHashKey,
	}
}

// runService starts a service on cfg; stop (also run at the test's end)
// stops it and checks that it stopped cleanly.
func runService(t *testing.T, cfg reporting.Config) (svc *reporting.Service, stop func()) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	svc, err := reporting.New(t.Context(), cfg, testLogger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		require.NoError(t, <-done, "Run returns nil on a clean stop")
	})
	t.Cleanup(stop)
	return svc, stop
}

func client(t *testing.T, addr, key string) v1.ReportingServiceClient {
	t.Helper()
	conn, err := grpcserver.Dial(addr, key)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return v1.NewReportingServiceClient(conn)
}

func charge(org, team, id, product string, tokens int64, at time.Time) *v1.Event {
	return &v1.Event{
		EventId: id, OrgId: org, TeamId: team, ServerTime: timestamppb.New(at),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: "ann", ProductCode: product, Tokens: tokens,
			WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(24 * time.Hour)),
		}},
	}
}

func TestGetUsageByDay(t *testing.T) {
	t.Parallel()
	svc, natsURL := startService(t)
	js := logAs(t, natsURL, "ledger")

	today := time.Now().UTC().Truncate(24 * time.Hour)
	d1, d2 := today.AddDate(0, 0, -2).Add(9*time.Hour), today.AddDate(0, 0, -1).Add(23*time.Hour)
	events := []*v1.Event{
		charge("acme", "design", "e1", "REVIT", 10, d1),
		charge("acme", "design", "e2", "REVIT", 10, d1.Add(time.Hour)),
		charge("acme", "design", "e3", "ACAD", 7, d1.Add(2*time.Hour)),
		charge("acme", "design", "e4", "REVIT", 10, d2),
		charge("acme", "ops", "e5", "CIVIL3D", 9, d2),       // another team, not asked for below
		charge("globex", "design", "e6", "REVIT", 1000, d1), // same team id, other org
		{EventId: "e7", OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(d2),
			Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p", Tokens: 500}}},
	}
	for _, ev := range events {
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(ev.GetOrgId(), ev.GetTeamId()), ev, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(events)) }, 10*time.Second, 10*time.Millisecond)

	day1, day2 := d1.Format(time.DateOnly), d2.Format(time.DateOnly)
	req := &v1.GetUsageByDayRequest{TeamIds: []string{"design"}}

	acme := client(t, svc.Addr(), acmeKey)
	resp, err := acme.GetUsageByDay(t.Context(), req)
	require.NoError(t, err)
	got := map[string]int64{}
	for _, d := range resp.GetDays() {
		got[d.GetDay()+"/"+d.GetProductCode()] = d.GetTokens()
	}
	require.Equal(t, map[string]int64{day1 + "/ACAD": 7, day1 + "/REVIT": 20, day2 + "/REVIT": 10}, got)
	require.Equal(t, int64(37), resp.GetTotalTokens())
	require.Equal(t, today.Format(time.DateOnly), resp.GetToDate())
	require.Equal(t, int64(2), resp.GetDays()[1].GetCharges(), "two REVIT charges on day 1")

	t.Run("explicit range", func(t *testing.T) {
		resp, err := acme.GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{
			TeamIds: []string{"design", "ops"},
			Range:   &v1.UsageRange{FromDate: day2, ToDate: day2},
		})
		require.NoError(t, err)
		require.Equal(t, int64(19), resp.GetTotalTokens())
		require.Len(t, resp.GetDays(), 2)
	})

	t.Run("another organisation sees nothing of acme", func(t *testing.T) {
		globex := client(t, svc.Addr(), globexKey)
		resp, err := globex.GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{TeamIds: []string{"design", "ops"}})
		require.NoError(t, err)
		require.Equal(t, int64(1000), resp.GetTotalTokens(), "only globex's own charge")
		require.Len(t, resp.GetDays(), 1)

		// An admin key is bound to its org whatever org it claims to act for.
		resp, err = globex.GetUsageByDay(auth.ActingFor(t.Context(), "acme"), &v1.GetUsageByDayRequest{TeamIds: []string{"design"}})
		require.NoError(t, err)
		require.Equal(t, int64(1000), resp.GetTotalTokens())

		// An organisation with no data sees none.
		resp, err = client(t, svc.Addr(), initechKey).GetUsageByDay(t.Context(),
			&v1.GetUsageByDayRequest{TeamIds: []string{"design", "ops"}})
		require.NoError(t, err)
		require.Empty(t, resp.GetDays())
		require.Zero(t, resp.GetTotalTokens())
	})

	t.Run("no service key reads reports", func(t *testing.T) {
		ctx := auth.ActingFor(t.Context(), "acme")
		_, err := client(t, svc.Addr(), serviceKey).GetUsageByDay(ctx, req)
		require.Equal(t, codes.PermissionDenied, status.Code(err))
	})

	t.Run("errors", func(t *testing.T) {
		_, err := acme.GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{TeamIds: []string{"bad.team"}})
		require.Equal(t, codes.InvalidArgument, status.Code(err))
		_, err = client(t, svc.Addr(), "").GetUsageByDay(t.Context(), req)
		require.Equal(t, codes.Unauthenticated, status.Code(err))
		_, err = client(t, svc.Addr(), launchKey).GetUsageByDay(t.Context(), req)
		require.Equal(t, codes.PermissionDenied, status.Code(err))
		_, err = acme.Forecast(t.Context(), &v1.ForecastRequest{TeamId: "design", TermStartMonth: "2025-13"})
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	})

	t.Run("health", func(t *testing.T) {
		conn, err := grpcserver.Dial(svc.Addr(), "")
		require.NoError(t, err)
		defer conn.Close()
		hr, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "tokenmeter.v1.ReportingService"})
		require.NoError(t, err)
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, hr.GetStatus())
	})
}

func TestNewCreatesDatabaseAndRestartsIdempotently(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	provisionLog(t, natsURL)
	admin, scratch := testkit.ClickHouse(t)
	database := scratch + "_svc" // missing: New creates it
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()
		_ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+database)
	})
	cfg := reporting.Config{
		Common: config.Common{Listen: "127.0.0.1:0", NATSURL: natsURL, NATSCreds: testkit.Creds(t, natsURL, "reporting"),
			APIKeys: acmeKey + ":acme:admin", LogLevel: "info"},
		ClickHouseAddr:     testkit.ClickHouseAddr(),
		ClickHouseDatabase: database,
		FlushRows:          10, FlushInterval: 10 * time.Millisecond,
		UserHashKey: testkit.UserHashKey,
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range 2 {
		svc, err := reporting.New(t.Context(), cfg, log)
		require.NoError(t, err, "start %d", i)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		cancel()
		require.NoError(t, <-done)
	}
	var n uint64
	require.NoError(t, admin.QueryRow(t.Context(), fmt.Sprintf(
		"SELECT count() FROM system.tables WHERE database = '%s' AND name = 'charges_v2'", database)).Scan(&n))
	require.Equal(t, uint64(1), n)
}

// The retired -personal-data-orgs stops the start rather than quietly
// switching the organisations it listed to pseudonyms.
func TestRetiredPersonalDataOrgsRefused(t *testing.T) {
	t.Parallel()
	cfg := reporting.Config{PersonalDataOrgs: "acme", UserHashKey: testkit.UserHashKey}
	require.ErrorContains(t, cfg.Validate(), "-personal-data-orgs is retired")
	_, err := reporting.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "-personal-data-orgs is retired")
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := reporting.Config{ClickHouseDatabase: "bad-name", FlushRows: 0}
	cfg.StreamScan = 2 * time.Hour
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{"-listen", "-nats-url", "-api-keys", "-clickhouse-addr", "-clickhouse-database", "-projector-flush-rows", "-user-hash-key", "-stream-scan"} {
		require.ErrorContains(t, err, want)
	}
}

// -clickhouse-addr takes several nodes only with -clickhouse-cluster, at
// most 16, each host:port; a cluster name is an identifier.
func TestConfigClickHouseCluster(t *testing.T) {
	t.Parallel()
	check := func(addr, cluster string) error {
		cfg := reporting.Config{ClickHouseAddr: addr, ClickHouseCluster: cluster, ClickHouseDatabase: "tokenmeter"}
		return cfg.Validate()
	}
	require.ErrorContains(t, check("a:1,b:2", ""), "-clickhouse-addr: one host:port without -clickhouse-cluster")
	require.NotContains(t, check("a:1,b:2", "tokenmeter").Error(), "-clickhouse")
	require.ErrorContains(t, check(strings.Repeat("a:1,", 16)+"a:1", "tokenmeter"), "-clickhouse-addr: 17 addresses, at most 16")
	require.ErrorContains(t, check("a:1,nope", "tokenmeter"), `-clickhouse-addr "nope": want host:port`)
	require.ErrorContains(t, check("a:1", "bad name"), `-clickhouse-cluster "bad name": want letters`)
}

// TestConsoleOIDCFlags: sign-on's flags are checked at start; a console
// without TLS, or an http provider or callback beyond loopback, needs
// -insecure-plaintext.
func TestConsoleOIDCFlags(t *testing.T) {
	t.Parallel()
	parse := func(extra ...string) error {
		var cfg reporting.Config
		fs := flag.NewFlagSet("reporting", flag.ContinueOnError)
		cfg.Register(fs)
		args := append([]string{"-api-keys", "admin-key:acme:admin", "-user-hash-key", testkit.UserHashKey, "-console-oidc-issuer", "http://idp.example",
			"-console-oidc-client-id", "console", "-console-oidc-client-secret-file", "/s", "-console-oidc-grants-file", "/g",
			"-console-oidc-redirect-url", "http://console.example/auth/callback"}, extra...)
		require.NoError(t, fs.Parse(args))
		return cfg.Validate()
	}
	err := parse()
	require.ErrorContains(t, err, `-console-oidc-issuer "http://idp.example": https is required beyond loopback`)
	require.ErrorContains(t, err, `-console-oidc-redirect-url "http://console.example/auth/call"… (36 bytes): https is required`)
	require.ErrorContains(t, err, "the console's session cookie is Secure: serve it with -tls-cert/-tls-key")
	require.NoError(t, parse("-insecure-plaintext"))
	require.ErrorContains(t, parse("-insecure-plaintext", "-console-session-lifetime", "0s"), "-console-session-lifetime 0s")
}

// testLogger writes the service's log to the test's output, shown on failure.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// provisionLog creates the streams reporting reads, as the ledger and
// ingestion do at their start (reporting only waits for them).
func provisionLog(t testing.TB, natsURL string) {
	t.Helper()
	for id, stream := range map[string]string{"ledger": eventlog.LedgerStream, "ingestion": eventlog.UsageStream} {
		nc, _, err := eventlog.Connect(t.Context(), testkit.Client(t, natsURL, id), id, slog.New(slog.DiscardHandler),
			eventlog.Streams{Own: []string{stream}})
		require.NoError(t, err)
		nc.Close()
	}
}

// showPersonalData records on the log that org shows its people as they
// are, as its owner would through the ledger.
func showPersonalData(t testing.TB, natsURL, org string) {
	t.Helper()
	js := logAs(t, natsURL, "ledger")
	_, err := eventlog.Append(t.Context(), js, eventlog.CatalogSubject(org), &v1.Event{
		EventId: "show-personal-data-" + org, Type: "personal_data_set", OrgId: org, ServerTime: timestamppb.Now(),
		Payload: &v1.Event_PersonalDataSet{PersonalDataSet: &v1.PersonalDataSet{Show: true}},
	}, nil)
	require.NoError(t, err)
}

// logAs connects to natsURL as identity ("ledger" to append ledger events,
// "admin" to append both ledger and usage events) once the streams exist.
func logAs(t testing.TB, natsURL, identity string) jetstream.JetStream {
	t.Helper()
	provisionLog(t, natsURL)
	nc := testkit.Connect(t, natsURL, identity)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

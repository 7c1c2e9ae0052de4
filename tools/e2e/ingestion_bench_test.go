package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

const benchTeams = 1000

// launchCallers is how many launches are in flight in the closed loops.
const launchCallers = 64

// parallel runs op b.N times from launchCallers goroutines (load.Closed)
// and reports rate and latency.
func parallel(b *testing.B, op func(i int) error) {
	load.Closed(b, launchCallers, b.N, op).Report(b, "launches/s", 0)
}

func benchLaunch(i int, prefix string) *v1.LaunchRequest {
	team := fmt.Sprintf("team-%04d", i%benchTeams)
	return &v1.LaunchRequest{EventId: fmt.Sprintf("%s-%012d", prefix, i), TeamId: team, UserId: "user-1", ProductCode: "REVIT"}
}

// launchBench is a ledger and ingestion with 1,000 funded teams.
type launchBench struct {
	led  *ledgerHandle
	ing  *ingestion.Service
	svc  context.Context // acting for the demo organisation with the service key
	runs atomic.Int64
}

// prefix makes event ids no earlier run used.
func (e *launchBench) prefix(name string) string {
	return fmt.Sprintf("bench-%s-%d", name, e.runs.Add(1))
}

func setupLaunchBench(b *testing.B) *launchBench {
	led, ing, _ := ledgerAndIngestion(b)
	ctx := context.Background()
	adminConn, err := grpcserver.Dial(led.addr, devstack.AdminKey)
	require.NoError(b, err)
	defer func() { _ = adminConn.Close() }()
	admin := v1.NewLedgerServiceClient(adminConn)
	_, err = admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: 10})
	require.NoError(b, err)
	for i := range benchTeams {
		team := fmt.Sprintf("team-%04d", i)
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "bench", Tokens: 1_000_000})
		require.NoError(b, err)
		_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: team, UserId: "user-1", ProductCodes: []string{"*"}})
		require.NoError(b, err)
	}
	return &launchBench{led: led, ing: ing, svc: auth.ActingFor(ctx, devstack.DemoOrg)}
}

// BenchmarkLaunch: launches through ingestion's two doors at 1,000 teams,
// beside the ledger's own Authorize and a raw JetStream publish, in one run.
func BenchmarkLaunch(b *testing.B) {
	env := setupLaunchBench(b)
	led, ing, svc, prefix := env.led, env.ing, env.svc, env.prefix
	ctx := context.Background()

	b.Run("jetstream-publish", func(b *testing.B) {
		js := jetStream(b, led.nats, "ingestion") // the raw path appends as ingestion does
		p := prefix("js")
		parallel(b, func(i int) error {
			ev := &v1.Event{EventId: fmt.Sprintf("%s-%012d", p, i), OrgId: "bench", TeamId: "t",
				Payload: &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{UserId: "user-1", ProductCode: "REVIT"}}}
			_, err := eventlog.Append(ctx, js, eventlog.UsageSubject("bench", fmt.Sprintf("team-%04d", i%benchTeams)), ev, nil)
			return err
		})
	})
	b.Run("ledger-authorize", func(b *testing.B) {
		conn := benchConn(b, led.addr, devstack.ServiceKey)
		ledger := v1.NewLedgerServiceClient(conn)
		p := prefix("ledger")
		parallel(b, func(i int) error {
			_, err := ledger.Authorize(svc, &v1.AuthorizeRequest{Launch: benchLaunch(i, p)})
			return err
		})
	})
	b.Run("ingestion-grpc", func(b *testing.B) {
		ingest := v1.NewIngestionServiceClient(benchConn(b, ing.Addr(), devstack.GatewayKey))
		p := prefix("grpc")
		parallel(b, func(i int) error {
			_, err := ingest.Launch(svc, benchLaunch(i, p))
			return err
		})
	})
	b.Run("ingestion-http", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		url := "http://" + ing.HTTPAddr() + "/tokenmeter.v1.IngestionService/Launch"
		p := prefix("http")
		parallel(b, func(i int) error {
			l := benchLaunch(i, p)
			body := fmt.Sprintf(`{"event_id":%q,"team_id":%q,"user_id":"user-1","product_code":"REVIT"}`, l.EventId, l.TeamId)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+devstack.GatewayKey)
			req.Header.Set(auth.MetadataOrg, devstack.DemoOrg)
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			// Read to the end: a body closed unread takes its connection
			// with it, and every launch would pay for a new one.
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("http %d", res.StatusCode)
			}
			return nil
		})
	})
}

func benchConn(b *testing.B, addr, key string) *grpc.ClientConn {
	conn, err := grpcserver.Dial(addr, key)
	require.NoError(b, err)
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

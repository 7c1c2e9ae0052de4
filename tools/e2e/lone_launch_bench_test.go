package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// BenchmarkLoneLaunch: one caller, one call at a time, on one stack: the raw
// components (a synchronous JetStream append; a gRPC hop, the ledger's health
// check), the ledger's Authorize over gRPC, a launch through ingestion's gRPC
// door and through its HTTP door. The paths take turns in rounds of loneRound
// calls each, so a neighbour's load on the machine falls on all of them
// alike. Reported per path: median and p99 in µs, and what a call cost the
// whole process (client, services and NATS server alike): CPU µs and heap
// allocations; the ratios of the medians ingestion ÷ ledger (target ≤ 1.5)
// and HTTP ÷ gRPC (target ≤ 1.3), and of the CPU per call ingestion ÷
// ledger (a lone call's median follows its CPU: README, Performance); and
// floor/ledger, ingestion ÷ ledger if a launch added to the ledger's
// Authorize only what it must: a hop and an append; and the same without
// the append (nousage-floor/ledger), the most any design taking ingestion's
// USAGE append off a launch's path could reach. b.N is the calls of each
// path.
func BenchmarkLoneLaunch(b *testing.B) {
	env := setupLaunchBench(b)
	paths := lonePaths(b, env)
	ops := make([]func(int) error, len(paths))
	for k, p := range paths {
		// Warm the path (connections, every pool loaded, buffers grown) unmeasured.
		warm := p.op(env.prefix("lone-warm"))
		for i := range benchTeams {
			require.NoError(b, warm(i))
		}
		ops[k] = p.op(env.prefix("lone-" + p.name))
	}
	b.ResetTimer()
	runs := runLone(b, ops)
	b.StopTimer()
	med := map[string]float64{}
	cpu := map[string]float64{}
	for k, p := range paths {
		r := load.Result{Lat: runs[k].lat}
		med[p.name] = float64(r.Quantile(0.50).Nanoseconds()) / 1e3
		cpu[p.name] = float64(runs[k].cpu.Nanoseconds()) / 1e3 / float64(b.N)
		b.ReportMetric(med[p.name], p.name+"-p50-µs")
		b.ReportMetric(float64(r.Quantile(0.99).Nanoseconds())/1e3, p.name+"-p99-µs")
		b.ReportMetric(cpu[p.name], p.name+"-cpu-µs")
		b.ReportMetric(float64(runs[k].allocs)/float64(b.N), p.name+"-allocs")
	}
	b.ReportMetric(med["grpc"]/med["ledger"], "grpc/ledger")
	b.ReportMetric(cpu["grpc"]/cpu["ledger"], "grpc/ledger-cpu")
	b.ReportMetric(med["http"]/med["grpc"], "http/grpc")
	b.ReportMetric(med["ledger"]/med["append"], "ledger/append")
	// What ingestion ÷ ledger would be if a launch cost nothing beyond the
	// ledger's Authorize but its own two steps: one more hop, one more append.
	b.ReportMetric((med["ledger"]+med["hop"]+med["append"])/med["ledger"], "floor/ledger")
	b.ReportMetric((med["ledger"]+med["hop"])/med["ledger"], "nousage-floor/ledger")
}

// loneRun is what one path's calls took: each call's latency, and what all
// of them cost the process.
type loneRun struct {
	lat    []time.Duration
	cpu    time.Duration
	allocs uint64
}

// runLone makes b.N calls of each op, the ops taking turns in rounds of
// loneRound calls. The cost of a round (the process's CPU time and heap
// allocations between its start and end) is its op's: work a call leaves
// behind (a GC cycle, a flush) may fall into the next round, which at 50
// calls a round moves a path's cost by a few per cent.
func runLone(b *testing.B, ops []func(int) error) []loneRun {
	runs := make([]loneRun, len(ops))
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	cost := func() (time.Duration, uint64) {
		metrics.Read(allocs)
		return load.CPUTime(), allocs[0].Value.Uint64()
	}
	for start := 0; start < b.N; start += loneRound {
		for k, op := range ops {
			cpu0, allocs0 := cost()
			for i := start; i < min(start+loneRound, b.N); i++ {
				t := time.Now()
				if err := op(i); err != nil {
					b.Fatal(err)
				}
				runs[k].lat = append(runs[k].lat, time.Since(t))
			}
			cpu1, allocs1 := cost()
			runs[k].cpu += cpu1 - cpu0
			runs[k].allocs += allocs1 - allocs0
		}
	}
	return runs
}

// lonePath is one path a lone call can take: op makes its operation for
// calls with event ids starting with prefix.
type lonePath struct {
	name string
	op   func(prefix string) func(i int) error
}

// lonePaths are BenchmarkLoneLaunch's paths on env.
func lonePaths(b *testing.B, env *launchBench) []lonePath {
	ctx := context.Background()
	ledger := v1.NewLedgerServiceClient(benchConn(b, env.led.addr, devstack.ServiceKey))
	ingest := v1.NewIngestionServiceClient(benchConn(b, env.ing.Addr(), devstack.GatewayKey))
	health := healthpb.NewHealthClient(benchConn(b, env.led.addr, devstack.ServiceKey))
	return []lonePath{
		{"append", rawAppend(b, env.led.nats)},
		{"hop", func(string) func(int) error {
			return func(int) error {
				_, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
				return err
			}
		}},
		{"ledger", func(p string) func(int) error {
			return func(i int) error {
				_, err := ledger.Authorize(env.svc, &v1.AuthorizeRequest{Launch: benchLaunch(i, p)})
				return err
			}
		}},
		{"grpc", func(p string) func(int) error {
			return func(i int) error {
				_, err := ingest.Launch(env.svc, benchLaunch(i, p))
				return err
			}
		}},
		{"http", httpLaunch(ctx, "http://"+env.ing.HTTPAddr())},
	}
}

// loneRound is how many calls each path makes before the next takes its turn.
const loneRound = 50

// rawAppend is a synchronous append by jetstream.PublishMsg of a launch
// event on a USAGE subject, as ingestion's identity: the raw component both
// the ledger and ingestion wait on.
func rawAppend(b *testing.B, natsURL string) func(string) func(int) error {
	js := jetStream(b, natsURL, "ingestion")
	return func(p string) func(int) error {
		return func(i int) error {
			ev := &v1.Event{EventId: fmt.Sprintf("%s-%012d", p, i), OrgId: "bench", TeamId: "t",
				Payload: &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{UserId: "user-1", ProductCode: "REVIT"}}}
			msg, err := eventlog.NewMsg(context.Background(), eventlog.UsageSubject("bench", fmt.Sprintf("team-%04d", i%benchTeams)), ev)
			if err != nil {
				return err
			}
			_, err = js.PublishMsg(context.Background(), msg)
			return err
		}
	}
}

// httpLaunch posts a launch to ingestion's HTTP door at base over one kept-alive connection.
func httpLaunch(ctx context.Context, base string) func(string) func(int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	url := base + "/tokenmeter.v1.IngestionService/Launch"
	return func(prefix string) func(int) error {
		return func(i int) error {
			l := benchLaunch(i, prefix)
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
			// Read to the end: a body closed unread takes its connection with it.
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("http %d", res.StatusCode)
			}
			return nil
		}
	}
}

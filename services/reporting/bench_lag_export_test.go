package reporting_test

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/server"
)

// lagProbes is how many events each lag measurement follows.
const lagProbes = 40

// BenchmarkProjectionLag measures the time from an event appended on
// JetStream to the report query that shows it, through the service's
// projector (its default 5000 rows / 200 ms blocks) while a steady load of
// other charges flows. Beside it, in the same run, the raw path: the same
// append, the row inserted straight into ClickHouse, and the same query.
func BenchmarkProjectionLag(b *testing.B) {
	url, _ := testkit.NATS(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, js, err := eventlog.Connect(b.Context(), testkit.Client(b, url, "admin"), "bench", log, eventlog.Streams{
		Options: eventlog.StreamOptions{MemoryStorage: true},
		Own:     []string{eventlog.LedgerStream, eventlog.UsageStream},
	}) // appends as the ledger and projects as reporting on one connection
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	conn, _ := testkit.ClickHouse(b)
	_, err = schema.Migrate(b.Context(), conn)
	require.NoError(b, err)
	p, err := projector.NewStream(js, eventlog.LedgerStream, ledgerTables(conn), log, projector.Options{})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })

	// Background load: 2,000 charges a second to other teams.
	loadCtx, stopLoad := context.WithCancel(b.Context())
	defer stopLoad()
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		now := time.Now().UTC()
		for i := 0; ; i++ {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			for j := range 10 {
				r := benchRow(i*10+j, now)
				r.EventID = "load-" + strconv.Itoa(i*10+j)
				if msg, err := eventlog.NewMsg(loadCtx, eventlog.LedgerSubject(r.OrgID, r.TeamID), chargeEvent(&r)); err == nil {
					_, _ = js.PublishMsgAsync(msg)
				}
			}
		}
	}()

	reader := query.NewReader(conn)
	rawConn, _ := testkit.ClickHouse(b)
	_, err = schema.Migrate(b.Context(), rawConn)
	require.NoError(b, err)
	rawReader := query.NewReader(rawConn)
	rawSink := projector.NewClickHouseSink(rawConn, projector.Charges, subject.Unpartitioned)

	visible := func(r *query.Reader, team string) bool {
		today := time.Now().UTC().Truncate(24 * time.Hour)
		days, err := r.DailyTotals(b.Context(), query.Filter{OrgID: "lag", TeamIDs: []string{team}, From: today.AddDate(0, 0, -1), To: today.AddDate(0, 0, 1)})
		require.NoError(b, err)
		return len(days) > 0
	}
	probe := func(i int, raw bool) time.Duration {
		team := "t-" + strconv.Itoa(i)
		if raw {
			team = "raw-" + team
		}
		now := time.Now().UTC()
		r := projector.Row{Seq: uint64(i + 1), EventID: "lag-" + team, OrgID: "lag", TeamID: team, UserID: "u", ProductCode: "REVIT",
			Day: now.Truncate(24 * time.Hour), ChargedAt: now.Truncate(time.Second), WindowStart: now.Truncate(time.Second),
			WindowEnd: now.Add(24 * time.Hour).Truncate(time.Second), Tokens: 10, SplitPackIDs: []string{}, SplitTokens: []int64{},
			AttributeKeys: []string{"project"}, AttributeValues: []string{"P"}}
		start := time.Now()
		_, err := eventlog.Append(b.Context(), js, eventlog.LedgerSubject("lag", team), chargeEvent(&r), nil)
		require.NoError(b, err)
		rd := reader
		if raw {
			require.NoError(b, rawSink.Insert(b.Context(), []projector.Record{&r}))
			rd = rawReader
		}
		for !visible(rd, team) {
			time.Sleep(2 * time.Millisecond) // a benchmark's poll, not a test's synchronisation
		}
		return time.Since(start)
	}
	p99 := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[(len(d)*99+99)/100-1]
	}
	b.ResetTimer()
	var lags, raws []time.Duration
	for n := range b.N {
		for i := range lagProbes {
			id := n*lagProbes + i
			lags = append(lags, probe(id, false))
			raws = append(raws, probe(id, true))
		}
	}
	lag, raw := p99(lags), p99(raws)
	b.ReportMetric(float64(lag.Microseconds())/1000, "lag_p99_ms")
	b.ReportMetric(float64(raw.Microseconds())/1000, "raw_p99_ms")
	b.ReportMetric(float64(lag)/float64(raw), "lag/raw")
}

// discardExport is the server side of an Export stream that counts and
// drops the chunks.
type discardExport struct {
	grpc.ServerStream
	ctx   context.Context
	bytes int64
	rows  int64
}

func (d *discardExport) Context() context.Context { return d.ctx }

func (d *discardExport) Send(m *v1.ExportResponse) error {
	d.bytes += int64(len(m.GetChunk()))
	d.rows = m.GetRows()
	return nil
}

// benchExport times Export of every charge of the year (n rows over the
// 1,000 teams) as CSV and XLSX, beside the raw component measured in the
// same run: reading the same rows from ClickHouse without writing a file.
func benchExport(b *testing.B, conn driver.Conn, n int, year time.Time) {
	srv := server.NewWith(server.Options{Reports: query.NewReader(conn), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return year.AddDate(1, 0, -1) }})
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Org: "bench", Role: auth.RoleAdmin})
	teams := make([]string, 1000)
	for i := range teams {
		teams[i] = "team-" + strconv.Itoa(i)
	}
	rng := &v1.UsageRange{FromDate: year.Format(time.DateOnly), ToDate: year.AddDate(1, 0, -1).Format(time.DateOnly)}
	for _, f := range []struct {
		name   string
		format v1.ExportFormat
	}{{"csv", v1.ExportFormat_EXPORT_FORMAT_CSV}, {"xlsx", v1.ExportFormat_EXPORT_FORMAT_XLSX}} {
		b.Run("export_"+f.name+"/rows="+strconv.Itoa(n), func(b *testing.B) {
			var export, scan, cpu time.Duration
			var size int64
			for range b.N {
				out := &discardExport{ctx: ctx}
				start, cpu0 := time.Now(), processCPU()
				require.NoError(b, srv.Export(&v1.ExportRequest{TeamIds: teams, Range: rng, Format: f.format}, out))
				export += time.Since(start)
				cpu += processCPU() - cpu0
				require.Equal(b, int64(n), out.rows)
				size = out.bytes

				filter, err := query.NewFilter("bench", teams, query.RangeSpec{FromDate: rng.GetFromDate(), ToDate: rng.GetToDate()}, year)
				require.NoError(b, err)
				rows := 0
				start = time.Now()
				require.NoError(b, query.NewReader(conn).EachCharge(ctx, filter, func(*query.Charge) error { rows++; return nil }))
				scan += time.Since(start)
				require.Equal(b, n, rows)
			}
			b.ReportMetric(export.Seconds()/float64(b.N), "export_s")
			// CPU of this process (not ClickHouse's): on shared cores the
			// wall time also measures the neighbours.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "export_cpu_s")
			b.ReportMetric(scan.Seconds()/float64(b.N), "raw_scan_s")
			b.ReportMetric(float64(export)/float64(scan), "export/scan")
			b.ReportMetric(float64(size)/1e6, "file_MB")
		})
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

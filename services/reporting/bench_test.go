package reporting_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

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

// benchCharges is the size of the report benchmark's data set:
// TOKENMETER_BENCH_CHARGES (the figure is 10000000), default 1 M so
// `make bench` finishes in a few minutes on two cores.
func benchCharges(b *testing.B) int {
	if s := os.Getenv("TOKENMETER_BENCH_CHARGES"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err)
		return n
	}
	return 1_000_000
}

var benchProducts = []string{"REVIT", "ACAD", "CIVIL3D", "MAX", "FUSION", "NAVIS", "INVENTOR", "MAYA", "ACADE", "ACADM",
	"MAP3D", "PLANT3D", "ARCH", "MEP", "RASTER", "ROBOT", "RECAP", "VRED", "ALIAS", "FORMIT"}

// benchRow is charge i of a year for 1,000 teams, 50 users each, 20 products.
func benchRow(i int, year time.Time) projector.Row {
	team := i % 1000
	day := year.AddDate(0, 0, (i/1000)%365)
	at := day.Add(time.Duration(i%36000) * time.Second)
	return projector.Row{
		Seq: uint64(i + 1), EventID: "ev-" + strconv.Itoa(i), OrgID: "bench", TeamID: "team-" + strconv.Itoa(team),
		UserID: "user-" + strconv.Itoa(team*50+(i/7)%50), ProductCode: benchProducts[(i/3)%20], ProductGroup: "G",
		ProductVersion: "2025", DeviceID: "pc", Day: day, ChargedAt: at, WindowStart: at, WindowEnd: at.Add(24 * time.Hour),
		Tokens: int64(2 + i%9), SplitPackIDs: []string{"p1"}, SplitTokens: []int64{int64(2 + i%9)},
		AttributeKeys: []string{"project"}, AttributeValues: []string{"P-" + strconv.Itoa(i%13)},
	}
}

// rawInsert writes rows in single-partition blocks of 5000, as the projector does.
func rawInsert(b *testing.B, conn driver.Conn, rows []projector.Row) {
	ctx := context.Background()
	sink := projector.NewClickHouseSink(conn, projector.Charges, subject.Unpartitioned)
	block := make([]projector.Record, 0, 5000)
	flush := func() {
		if len(block) > 0 {
			require.NoError(b, sink.Insert(ctx, block))
			block = block[:0]
		}
	}
	for i := range rows {
		if len(block) > 0 && (len(block) == 5000 || block[0].Partition() != rows[i].Partition()) {
			flush()
		}
		block = append(block, &rows[i])
	}
	flush()
}

// chargeEvent is the WindowCharged event of r.
func chargeEvent(r *projector.Row) *v1.Event {
	return &v1.Event{EventId: r.EventID, OrgId: r.OrgID, TeamId: r.TeamID, ServerTime: timestamppb.New(r.ChargedAt),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: r.UserID, ProductCode: r.ProductCode,
			ProductGroup: r.ProductGroup, ProductVersion: r.ProductVersion, DeviceId: r.DeviceID,
			WindowStart: timestamppb.New(r.WindowStart), WindowEnd: timestamppb.New(r.WindowEnd), Tokens: r.Tokens,
			Split: []*v1.PackSplit{{PackId: "p1", Tokens: r.Tokens}}, Attributes: map[string]string{"project": r.AttributeValues[0]}}}}
}

func chargeEvents(rows []projector.Row) []*v1.Event {
	out := make([]*v1.Event, len(rows))
	for i := range rows {
		out[i] = chargeEvent(&rows[i])
	}
	return out
}

// publishCharges appends a WindowCharged event per row to the LEDGER stream.
func publishCharges(b *testing.B, js jetstream.JetStream, rows []projector.Row) {
	pending := make([]jetstream.PubAckFuture, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		msg, err := eventlog.NewMsg(b.Context(), eventlog.LedgerSubject(r.OrgID, r.TeamID), chargeEvent(r))
		require.NoError(b, err)
		f, err := js.PublishMsgAsync(msg)
		require.NoError(b, err)
		pending = append(pending, f)
	}
	for _, f := range pending {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
}

// ledgerTables are the LEDGER projections with a sink each on conn.
func ledgerTables(conn driver.Conn) []projector.Table {
	var out []projector.Table
	for _, p := range projector.Projections() {
		if p.Stream == eventlog.LedgerStream {
			out = append(out, projector.Table{Projection: p, Sink: projector.NewClickHouseSink(conn, p, subject.Unpartitioned)})
		}
	}
	return out
}

// BenchmarkProjection projects WindowCharged events from JetStream into
// every LEDGER table (charges with its usage_daily view, and launches) with
// the service's projector (one reader, one writer per table) and, in the
// same run, raw-inserts the same rows into the same tables of another
// database: single-partition blocks of 5000, one goroutine per table, as
// fast as the driver goes.
func BenchmarkProjection(b *testing.B) {
	const n = 100_000
	url, _ := testkit.NATS(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, js, err := eventlog.Connect(b.Context(), testkit.Client(b, url, "admin"), "bench", log, eventlog.Streams{
		Options: eventlog.StreamOptions{MemoryStorage: true},
		Own:     []string{eventlog.LedgerStream, eventlog.UsageStream},
	}) // appends as the ledger and projects as reporting on one connection
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]projector.Row, n)
	for i := range rows {
		rows[i] = benchRow(i, year)
	}
	// Events in day order so blocks fill (as a live log would be).
	sort.Slice(rows, func(i, j int) bool { return rows[i].Day.Before(rows[j].Day) })
	publishCharges(b, js, rows)
	// The raw side inserts exactly the rows the projections make; they are
	// built only for it, so the projector runs without them on the heap.
	rawRows := func() (map[string][]projector.Record, int) {
		perTable, total := map[string][]projector.Record{}, 0
		for i, ev := range chargeEvents(rows) {
			for _, p := range projector.Projections() {
				if r, ok := p.Map(uint64(i+1), ev); ok && p.Stream == eventlog.LedgerStream {
					perTable[p.Table] = append(perTable[p.Table], r)
					total++
				}
			}
		}
		return perTable, total
	}
	_, total := rawRows()
	runtime.GC()
	b.ResetTimer()
	var projected, raw time.Duration
	for range b.N {
		conn, _ := testkit.ClickHouse(b)
		_, err := schema.Migrate(b.Context(), conn)
		require.NoError(b, err)
		p, err := projector.NewStream(js, eventlog.LedgerStream, ledgerTables(conn), log, projector.Options{})
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- p.Run(ctx) }()
		for p.CaughtUpTo() < uint64(n) {
			time.Sleep(time.Millisecond) // a benchmark's wait, not a test's synchronisation
		}
		projected += time.Since(start)
		cancel()
		require.NoError(b, <-done)

		rawConn, _ := testkit.ClickHouse(b)
		_, err = schema.Migrate(b.Context(), rawConn)
		require.NoError(b, err)
		b.StopTimer()
		perTable, _ := rawRows()
		b.StartTimer()
		start = time.Now()
		var wg sync.WaitGroup
		for _, t := range ledgerTables(rawConn) {
			recs := perTable[t.Projection.Table]
			wg.Go(func() { rawInsertRecords(b, t.Sink, recs) })
		}
		wg.Wait()
		raw += time.Since(start)
		b.StopTimer()
		perTable = nil //nolint:ineffassign // dropped before the collection below
		runtime.GC()
		b.StartTimer()
	}
	projRate := float64(total*b.N) / projected.Seconds()
	rawRate := float64(total*b.N) / raw.Seconds()
	b.ReportMetric(projRate, "projected_rows/s")
	b.ReportMetric(rawRate, "raw_insert_rows/s")
	b.ReportMetric(projRate/rawRate, "projection/raw")
}

// rawInsertRecords writes recs into sink in single-partition blocks of 5000.
func rawInsertRecords(b *testing.B, sink projector.Sink, recs []projector.Record) {
	ctx := context.Background()
	for lo := 0; lo < len(recs); {
		hi := lo + 1
		for hi < len(recs) && hi-lo < 5000 && recs[hi].Partition() == recs[lo].Partition() {
			hi++
		}
		if err := sink.Insert(ctx, recs[lo:hi]); err != nil {
			b.Error(err)
			return
		}
		lo = hi
	}
}

// BenchmarkReports times each one-team report over a year of charges for
// 1,000 teams, 50 k users and 20 products (TOKENMETER_BENCH_CHARGES rows),
// and the export of all of them (benchExport). A p99 needs iterations: run
// the reports with -benchtime 300x, and the exports apart (-bench
// 'Reports/export' -benchtime 1x), e.g.
//
//	go test -run '^$' -bench 'Reports/^[^e]' -benchtime 300x .
func BenchmarkReports(b *testing.B) {
	n := benchCharges(b)
	conn, _ := testkit.ClickHouse(b)
	_, err := schema.Migrate(b.Context(), conn)
	require.NoError(b, err)
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const chunk = 500_000
	start := time.Now()
	for lo := 0; lo < n; lo += chunk {
		rows := make([]projector.Row, 0, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			rows = append(rows, benchRow(i, year))
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Day.Before(rows[j].Day) })
		rawInsert(b, conn, rows)
	}
	b.Logf("loaded %d charges in %s", n, time.Since(start))
	// Reports are measured on settled tables, as they are once background
	// merges have caught up: a fresh load leaves hundreds of parts.
	start = time.Now()
	settle(b, conn, "charges_v2", "usage_daily_v2")
	b.Logf("merged in %s; %s", time.Since(start), loadAverage())
	b.Cleanup(func() { b.Logf("after the reports: %s", loadAverage()) })

	srv := server.NewWith(server.Options{Reports: query.NewReader(conn), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return year.AddDate(1, 0, -1) }})
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Org: "bench", Role: auth.RoleAdmin})
	// The same reports for an organisation in another zone read the charges
	// (dated there) instead of usage_daily_v2's UTC days.
	auckland, err := time.LoadLocation("Pacific/Auckland")
	require.NoError(b, err)
	zoned := server.NewWith(server.Options{Reports: query.NewReader(conn), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return year.AddDate(1, 0, -1) }, Zones: fixedZone{auckland}})
	team := []string{"team-7"}
	yearRange := &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_LAST_12_MONTHS}
	reports := map[string]func() error{
		"by_day": func() error {
			_, err := srv.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: team, Range: yearRange})
			return err
		},
		"summary": func() error {
			_, err := srv.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: team, Range: yearRange})
			return err
		},
		"by_product": func() error {
			_, err := srv.GetUsageByProduct(ctx, &v1.GetUsageByProductRequest{TeamIds: team, Range: yearRange})
			return err
		},
		"by_user_top10": func() error {
			_, err := srv.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: team, Range: yearRange, Limit: 10})
			return err
		},
		"by_attribute": func() error {
			_, err := srv.GetUsageByAttribute(ctx, &v1.GetUsageByAttributeRequest{TeamIds: team, Range: yearRange, AttributeKey: "project"})
			return err
		},
		"by_day_zoned": func() error {
			_, err := zoned.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: team, Range: yearRange})
			return err
		},
		"by_user_top10_zoned": func() error {
			_, err := zoned.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: team, Range: yearRange, Limit: 10})
			return err
		},
		"summary_zoned": func() error {
			_, err := zoned.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: team, Range: yearRange})
			return err
		},
		"forecast": func() error { _, err := srv.Forecast(ctx, &v1.ForecastRequest{TeamId: "team-7"}); return err },
		"advice": func() error {
			_, err := srv.AdviseLicensing(ctx, &v1.AdviseLicensingRequest{TeamIds: team})
			return err
		},
	}
	names := make([]string, 0, len(reports))
	for name := range reports {
		names = append(names, name)
	}
	sort.Strings(names)
	benchExport(b, conn, n, year)
	for _, name := range names {
		run := reports[name]
		b.Run(fmt.Sprintf("%s/charges=%d", name, n), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				t0 := time.Now()
				require.NoError(b, run())
				lat = append(lat, time.Since(t0))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
		})
	}
}

// fixedZone puts every organisation in one time zone.
type fixedZone struct{ loc *time.Location }

func (z fixedZone) Zone(string) *time.Location { return z.loc }

// settle merges each table down to one part per partition. While a
// background merge holds some of the parts, OPTIMIZE … FINAL does nothing
// (on 18.16 without a word), so it is run again until the parts are merged.
func settle(b *testing.B, conn driver.Conn, tables ...string) {
	deadline := time.Now().Add(15 * time.Minute)
	for _, table := range tables {
		for {
			var parts, partitions uint64
			require.NoError(b, conn.QueryRow(b.Context(), `SELECT count(), uniqExact(partition) FROM system.parts
WHERE database = currentDatabase() AND table = ? AND active`, table).Scan(&parts, &partitions))
			if parts <= partitions {
				break
			}
			require.True(b, time.Now().Before(deadline), "%s still has %d parts in %d partitions", table, parts, partitions)
			require.NoError(b, conn.Exec(b.Context(), "OPTIMIZE TABLE "+table+" FINAL"))
			time.Sleep(time.Second) // a benchmark's wait for background merges, not a test's synchronisation
		}
	}
}

// loadAverage is the host's load average, to read beside the figures: other
// work on the same cores moves them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}

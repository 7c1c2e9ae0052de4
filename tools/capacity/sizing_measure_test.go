package capacity

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// streamSize is a stream's messages and bytes as JetStream counts them
// (each message's subject, headers and data with its record's overhead),
// and its directory's allocated size on disk.
type streamSize struct {
	msgs, bytes, disk uint64
}

func (e *sizingEnv) streams(b *testing.B) map[string]streamSize {
	b.Helper()
	out := map[string]streamSize{}
	for _, name := range []string{eventlog.LedgerStream, eventlog.UsageStream} {
		s, err := e.js.Stream(context.Background(), name)
		if err != nil {
			b.Fatal(err)
		}
		st := s.CachedInfo().State
		out[name] = streamSize{msgs: st.Msgs, bytes: st.Bytes, disk: streamDisk(b, e.store, name)}
	}
	return out
}

// streamDisk sums the blocks allocated to the files of stream name's
// directory (<store>/<account>/streams/<name>), as du does.
func streamDisk(b *testing.B, store, name string) uint64 {
	b.Helper()
	var total uint64
	var inStream string // the stream directory being summed
	err := filepath.WalkDir(store, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			if d.Name() == name && filepath.Base(filepath.Dir(path)) == "streams" {
				inStream = path + string(filepath.Separator)
			}
			return nil
		case inStream == "" || !strings.HasPrefix(path, inStream):
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += uint64(st.Blocks) * 512
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}

// reportStreams prints the bytes per event the workload added to each
// stream, as JetStream counts them ("ledger-B/ev") and on disk
// ("ledger-disk-B/ev").
func (e *sizingEnv) reportStreams(b *testing.B) {
	now := e.streams(b)
	for name, unit := range map[string]string{eventlog.LedgerStream: "ledger", eventlog.UsageStream: "usage"} {
		before, after := e.start[name], now[name]
		msgs := float64(after.msgs - before.msgs)
		if msgs == 0 {
			b.Fatalf("the workload appended nothing to %s", name)
		}
		b.ReportMetric(float64(after.bytes-before.bytes)/msgs, unit+"-B/ev")
		b.ReportMetric(float64(after.disk-before.disk)/msgs, unit+"-disk-B/ev")
	}
}

type clickHouse struct{ conn driver.Conn }

// reportClickHouse waits until the projection holds every launch and every
// USAGE event, merges every table, and prints ClickHouse's bytes on disk
// per launch and per USAGE event ("ch-B/launch" is the LEDGER-fed tables'
// bytes ÷ launches, charged or covered, those the seed fills left out;
// "ch-B/usage-ev" the USAGE-fed tables' ÷ USAGE events),
// logging each table's rows and sizes.
func (e *sizingEnv) reportClickHouse(b *testing.B, launches, usageEvents float64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e.ch.waitFor(ctx, b, "SELECT count() FROM launches_v2", uint64(launches))
	e.ch.waitFor(ctx, b, "SELECT count() FROM usage_events", uint64(usageEvents))
	parts := e.ch.mergedParts(ctx, b)
	usageTables := map[string]bool{"usage_events": true, "sessions_v2": true}
	// What the seed wrote and the bookkeeping: they do not grow with launches.
	fixed := map[string]bool{"assignments_v2": true, "products": true, "projection_checkpoints": true, "stream_origins": true}
	var ledgerBytes, usageBytes float64
	for _, p := range parts {
		b.Logf("%-28s %9d rows %11d B compressed %11d B uncompressed %11d B on disk (%.1f B/row)",
			p.table, p.rows, p.compressed, p.uncompressed, p.disk, float64(p.disk)/float64(max(p.rows, 1)))
		switch {
		case fixed[p.table]:
		case usageTables[p.table]:
			usageBytes += float64(p.disk)
		default:
			ledgerBytes += float64(p.disk)
		}
	}
	b.ReportMetric(ledgerBytes/launches, "ch-B/launch")
	b.ReportMetric(usageBytes/usageEvents, "ch-B/usage-ev")
}

// waitFor polls query, a count, until it reaches want.
func (c clickHouse) waitFor(ctx context.Context, b *testing.B, query string, want uint64) {
	b.Helper()
	var got uint64
	for ctx.Err() == nil {
		if err := c.conn.QueryRow(ctx, query).Scan(&got); err != nil {
			b.Fatalf("%s: %v", query, err)
		}
		if got >= want {
			return
		}
		time.Sleep(200 * time.Millisecond) // polling the projection, not synchronising the benchmark
	}
	b.Fatalf("%s: %d after 5 minutes, want %d", query, got, want)
}

type tablePart struct {
	table                                string
	rows, compressed, uncompressed, disk uint64
}

// mergedParts merges every table of the database into as few parts as its
// partitioning allows and returns their sizes by table.
func (c clickHouse) mergedParts(ctx context.Context, b *testing.B) []tablePart {
	b.Helper()
	const sizes = `SELECT table, sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(bytes_on_disk)
FROM system.parts WHERE database = currentDatabase() AND active GROUP BY table ORDER BY table`
	read := func() []tablePart {
		rows, err := c.conn.Query(ctx, sizes)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		var out []tablePart
		for rows.Next() {
			var p tablePart
			if err := rows.Scan(&p.table, &p.rows, &p.compressed, &p.uncompressed, &p.disk); err != nil {
				b.Fatal(err)
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return out
	}
	for _, p := range read() {
		if err := c.conn.Exec(ctx, "OPTIMIZE TABLE `"+p.table+"` FINAL"); err != nil {
			b.Fatalf("optimize %s: %v", p.table, err)
		}
	}
	return read()
}

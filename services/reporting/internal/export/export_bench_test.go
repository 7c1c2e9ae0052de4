package export

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkUsageXLSX writes usage rows shaped like the reporting
// benchmark's charges as XLSX to io.Discard; the CSV figure of the same rows
// is the yardstick.
func BenchmarkUsageXLSX(b *testing.B) { benchUsage(b, XLSX) }

// BenchmarkUsageCSV is BenchmarkUsageXLSX's rows as CSV.
func BenchmarkUsageCSV(b *testing.B) { benchUsage(b, CSV) }

func benchUsage(b *testing.B, f Format) {
	const rows = 200_000
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, rows)
	for i := range ids {
		ids[i] = "ev-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w, err := New(f, io.Discard, "usage", UsageColumns)
		require.NoError(b, err)
		cells := make([]any, 0, len(UsageColumns))
		for i := range rows {
			at := day.Add(time.Duration(i%36000) * time.Second)
			cells = append(cells[:0], "2025-03-01", "team-"+strconv.Itoa(i%1000), "u_0123456789abcdef0123", "REVIT", "G", "2025", "pc",
				int64(2+i%9), i%5 == 0, "p1:7", at.Format(time.RFC3339), at.Add(24*time.Hour).Format(time.RFC3339), "project=P-7", ids[i])
			require.NoError(b, w.Row(cells))
		}
		require.NoError(b, w.Close())
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

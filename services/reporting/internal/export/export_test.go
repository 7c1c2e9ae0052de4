package export

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

func TestCSV(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(CSV, &buf, "usage", []string{"a", "b"})
	require.NoError(t, err)
	require.NoError(t, w.Row([]string{"1", "x,\"y\""}))
	require.NoError(t, w.Close())
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{{"a", "b"}, {"1", "x,\"y\""}}, rows)
}

func TestXLSX(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(XLSX, &buf, "usage", UsageColumns)
	require.NoError(t, err)
	require.NoError(t, w.Row([]string{"2025-01-02", "design", "ann"}))
	require.NoError(t, w.Close())
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows("usage")
	require.NoError(t, err)
	require.Equal(t, UsageColumns, rows[0])
	require.Equal(t, []string{"2025-01-02", "design", "ann"}, rows[1])
}

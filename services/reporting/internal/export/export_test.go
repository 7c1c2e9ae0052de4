package export

import (
	"bytes"
	"encoding/csv"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

func TestCSV(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(CSV, &buf, "usage", []string{"a", "b", "n", "u", "f", "ok", "none"})
	require.NoError(t, err)
	require.NoError(t, w.Row([]any{"1", "x,\"y\"", int64(-42), uint64(7), 0.25, true, nil}))
	require.NoError(t, w.Close())
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{{"a", "b", "n", "u", "f", "ok", "none"}, {"1", "x,\"y\"", "-42", "7", "0.25", "true", ""}}, rows)
}

// TestCSVNeutralisesFormulas: a text cell that a spreadsheet would run as
// a formula (a launcher's device id, an admin's reason) gets a leading ',
// while numbers, negative ones included, stay numbers.
func TestCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(CSV, &buf, "usage", []string{"text", "n", "f"})
	require.NoError(t, err)
	for _, s := range []string{`=HYPERLINK("http://evil.example","x")`, "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"} {
		require.NoError(t, w.Row([]any{s, int64(-42), -0.5}))
	}
	require.NoError(t, w.Row([]any{"a=1", int64(7), 1.5}))
	require.NoError(t, w.Close())
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{{"text", "n", "f"},
		{`'=HYPERLINK("http://evil.example","x")`, "-42", "-0.5"}, {"'+1+1", "-42", "-0.5"}, {"'-2+3", "-42", "-0.5"},
		{"'@SUM(A1)", "-42", "-0.5"}, {"'\tx", "-42", "-0.5"}, {"'\r=1", "-42", "-0.5"}, {"a=1", "7", "1.5"}}, rows)
}

// TestXLSXWritesFormulasAsText: XLSX text cells are never formulas, so
// they keep their value as it is.
func TestXLSXWritesFormulasAsText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(XLSX, &buf, "usage", []string{"text"})
	require.NoError(t, err)
	require.NoError(t, w.Row([]any{"=1+1"}))
	require.NoError(t, w.Close())
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	defer f.Close()
	formula, err := f.GetCellFormula("usage", "A2")
	require.NoError(t, err)
	require.Empty(t, formula)
	v, err := f.GetCellValue("usage", "A2")
	require.NoError(t, err)
	require.Equal(t, "=1+1", v)
	typ, err := f.GetCellType("usage", "A2")
	require.NoError(t, err)
	require.Equal(t, excelize.CellTypeInlineString, typ)
}

func TestXLSX(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	head := make([]any, len(UsageColumns))
	for i, c := range UsageColumns {
		head[i] = c
	}
	// Segments of 64 rows: more segments than the writer holds, so they
	// go round, and the last one is partly filled.
	const segRows = 64
	w, err := newXLSX(&buf, "usage", head, segRows)
	require.NoError(t, err)
	const n = 40*segRows + 7
	row := make([]any, 0, len(UsageColumns))
	for i := range n {
		row = append(row[:0], "2025-01-02", "design", "ann", "REVIT", "", "2025", "pc",
			int64(i), i%2 == 0, "p1:"+strconv.Itoa(i), "2025-01-02T08:00:00Z", "2025-01-03T08:00:00Z", "project=P-1", "ev-"+strconv.Itoa(i))
		require.NoError(t, w.Row(row))
	}
	require.NoError(t, w.Close())
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows("usage")
	require.NoError(t, err)
	require.Len(t, rows, n+1)
	require.Equal(t, UsageColumns, rows[0])
	require.Equal(t, []string{"2025-01-02", "design", "ann", "REVIT", "", "2025", "pc", "5", "FALSE", "p1:5",
		"2025-01-02T08:00:00Z", "2025-01-03T08:00:00Z", "project=P-1", "ev-5"}, rows[6])
	require.Equal(t, "ev-"+strconv.Itoa(n-1), rows[n][13])

	// Tokens are numbers and renewal a boolean, not text; the header is text.
	for cell, want := range map[string]excelize.CellType{"A1": excelize.CellTypeInlineString, "A2": excelize.CellTypeInlineString,
		"H2": excelize.CellTypeUnset, "H700": excelize.CellTypeUnset, "I2": excelize.CellTypeBool} {
		typ, err := f.GetCellType("usage", cell)
		require.NoError(t, err)
		require.Equal(t, want, typ, cell)
	}
	v, err := f.GetCellValue("usage", "H700", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Equal(t, "698", v)
	v, err = f.GetCellValue("usage", "I2")
	require.NoError(t, err)
	require.Equal(t, "TRUE", v)
	v, err = f.GetCellValue("usage", "E2") // "" is no cell at all
	require.NoError(t, err)
	require.Empty(t, v)
}

func TestXLSXDiscard(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := newXLSX(&buf, "usage", []any{"a", "n"}, 16)
	require.NoError(t, err)
	for range 20*16 + 1 {
		require.NoError(t, w.Row([]any{"a", int64(1)}))
	}
	w.Discard()
	require.Zero(t, buf.Len(), "nothing is written after an error")
}

func TestXLSXEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := New(XLSX, &buf, "packs", PackColumns)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	f, err := excelize.OpenReader(&buf)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, []string{"packs"}, f.GetSheetList())
	rows, err := f.GetRows("packs")
	require.NoError(t, err)
	require.Equal(t, [][]string{PackColumns}, rows)
}

// TestXLSXRowError: a row past the sheet's last (Excel's limit) is refused
// with what to do instead, and the rows before it were taken.
func TestXLSXRowError(t *testing.T) {
	t.Parallel()
	w, err := newXLSX(io.Discard, "usage", []any{"a"}, 4)
	require.NoError(t, err)
	w.rows = excelize.TotalRows - 3 // as if the sheet were nearly full
	for range 3 {
		require.NoError(t, w.Row([]any{"x"}))
	}
	err = w.Row([]any{"x"})
	require.ErrorContains(t, err, "row 1048577")
	require.ErrorContains(t, err, "CSV")
	w.Discard()
}

// TestXLSXRowType: a value of a type the row encoder does not write as
// excelize would is refused, naming its column.
func TestXLSXRowType(t *testing.T) {
	t.Parallel()
	w, err := newXLSX(io.Discard, "usage", []any{"a", "n"}, 4)
	require.NoError(t, err)
	require.NoError(t, w.Row([]any{"x", int64(1)}))
	require.ErrorContains(t, w.Row([]any{"x", int32(1)}), "xlsx column 2: a int32 value")
	w.Discard()
}

func TestCRC32Combine(t *testing.T) {
	t.Parallel()
	data := []byte(strings.Repeat("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>x</t></is></c></row>", 300))
	for _, cut := range []int{0, 1, 7, 1000, len(data) - 1, len(data)} {
		a, b := data[:cut], data[cut:]
		require.Equal(t, crc32.ChecksumIEEE(data), crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b))), cut)
	}
}

func TestUnknownFormat(t *testing.T) {
	t.Parallel()
	_, err := New(Format(9), &bytes.Buffer{}, "usage", UsageColumns)
	require.ErrorContains(t, err, "unknown export format")
}

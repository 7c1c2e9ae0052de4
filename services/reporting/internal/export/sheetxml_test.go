package export

import (
	"bytes"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// excelizeRows is the <sheetData> content excelize's stream writer writes
// for rows, the first numbered first.
func excelizeRows(t testing.TB, first int, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	require.NoError(t, err)
	for i, cells := range rows {
		cell, err := excelize.CoordinatesToCellName(1, first+i)
		require.NoError(t, err)
		require.NoError(t, sw.SetRow(cell, cells))
	}
	require.NoError(t, sw.Flush())
	var sheet bytes.Buffer
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return &partCapture{part: sheetPart, into: &sheet} })
	_, err = f.WriteTo(io.Discard)
	require.NoError(t, err)
	b := sheet.Bytes()
	start, end := bytes.Index(b, []byte("<sheetData>")), bytes.LastIndex(b, sheetDataEnd)
	require.True(t, start >= 0 && end > start, "no sheetData in %q", b)
	return b[start+len("<sheetData>") : end]
}

// partCapture is the zip writer of a scratch workbook: it keeps one part
// and drops the others.
type partCapture struct {
	part string
	into *bytes.Buffer
}

func (c *partCapture) Create(name string) (io.Writer, error) {
	if name == c.part {
		return c.into, nil
	}
	return io.Discard, nil
}

func (c *partCapture) AddFS(fs.FS) error { return nil }
func (c *partCapture) Close() error      { return nil }

func ourRows(first int, rows [][]any) []byte {
	var e rowEncoder
	var b []byte
	for i, cells := range rows {
		b = e.appendRow(b, first+i, cells)
	}
	return b
}

// Pieces random strings are made of: what escaping, xml:space and
// excelize's "_xHHHH_" rule act on, and plain text.
var stringPieces = []string{
	"a", "Revit", "2025", " ", "\t", "\n", "\r", "\r\n", "&", "<", ">", "\"", "'", "&#xA;", "&amp;",
	"_x", "_x0041_", "_x005F_", "_x005F_x0041_", "_x005f_", "_xZZZZ_", "x0041_", "_", "é", "日本", "😀",
	"\x00", "\x01", "\x1f", "\x7f", "\xff", "\xed\xa0\x80", "\uFFFD", "\uFFFE", "project=P-1", "{\"k\":\"v\"}",
}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(6) {
		b.WriteString(stringPieces[r.IntN(len(stringPieces))])
	}
	return b.String()
}

func randomValue(r *rand.Rand) any {
	switch r.IntN(9) {
	case 0:
		return nil
	case 1:
		return r.Int64() - r.Int64()
	case 2:
		return int64(r.IntN(100))
	case 3:
		return r.Uint64()
	case 4:
		return r.IntN(2) == 0
	case 5:
		return []float64{0.25, 1e21, 1.0 / 3, -2.5e-7, 123456789.123456789, math.MaxFloat64, math.NaN(), math.Inf(1), 0}[r.IntN(9)]
	case 6:
		return r.IntN(1000) - 500
	default:
		return randomString(r)
	}
}

// TestRowEncoderIsExcelize: the rows rowEncoder writes are, byte for byte,
// the rows excelize's stream writer writes for the same values.
func TestRowEncoderIsExcelize(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		first := 1 + r.IntN(1_000_000)
		rows := make([][]any, 1+r.IntN(40))
		for i := range rows {
			rows[i] = make([]any, r.IntN(30))
			for j := range rows[i] {
				rows[i][j] = randomValue(r)
			}
		}
		require.Equal(t, string(excelizeRows(t, first, rows)), string(ourRows(first, rows)), "round %d: %#v", round, rows)
	}
}

// TestRowEncoderLongString: a string over Excel's cell limit is cut where
// excelize cuts it, counting UTF-16 units.
func TestRowEncoderLongString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		strings.Repeat("a", excelize.TotalCellChars+10),
		strings.Repeat("😀", excelize.TotalCellChars/2+3),
		strings.Repeat("é&", excelize.TotalCellChars),
	} {
		rows := [][]any{{s, " " + s}}
		require.Equal(t, string(excelizeRows(t, 2, rows)), string(ourRows(2, rows)))
	}
}

func FuzzRowEncoderString(f *testing.F) {
	for _, s := range stringPieces {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rows := [][]any{{s, int64(len(s)), s + " "}}
		require.Equal(t, string(excelizeRows(t, 7, rows)), string(ourRows(7, rows)))
	})
}

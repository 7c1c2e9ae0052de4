package reporting_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The denials and spend exports list what GetDenials and GetSpend answer,
// as CSV and as typed XLSX, people shown as the organisation shows them.
func TestExportDenialsAndSpend(t *testing.T) {
	t.Parallel()
	fx := startMoneyFixture(t)
	both := []string{"design", "ops"}

	den := exportRows(t, fx.acme, &v1.ExportRequest{TeamIds: both, Kind: v1.ExportKind_EXPORT_KIND_DENIALS})
	require.Equal(t, []string{"day", "at", "team_id", "user_id", "product_code", "product_version", "device_id", "reason",
		"tokens_required", "renewal", "event_id"}, den[0])
	var got []string
	for _, r := range den[1:] {
		got = append(got, strings.Join([]string{r[0], r[2], r[3], r[4], r[7], r[8]}, " "))
	}
	require.Equal(t, []string{
		fx.day(2) + " design eve REVIT user_not_assigned 10", fx.day(2) + " design ann ACAD product_not_allowed 7",
		fx.day(1) + " design ann REVIT insufficient_tokens 10", fx.day(1) + " design bob ACAD budget_exceeded 7",
		fx.day(0) + " ops cat REVIT pool_suspended 10",
	}, got, "every refusal of the range, oldest first")
	require.Equal(t, "pc-eve", den[1][6])

	spend := exportRows(t, fx.acme, &v1.ExportRequest{TeamIds: both, Kind: v1.ExportKind_EXPORT_KIND_SPEND})
	require.Equal(t, []string{"grouping", "key", "currency", "amount", "tokens", "charges"}, spend[0])
	require.Equal(t, [][]string{
		{"team", "ops", "", "0", "10", "1"}, {"team", "design", "EUR", "22", "17", "3"}, {"team", "design", "USD", "6", "2", "1"},
	}, spend[1:4], "GetSpend's rows by team first")
	require.Contains(t, spend, []string{"user", "ann", "EUR", "12", "12", "2"})
	require.Contains(t, spend, []string{"product", "ACAD", "USD", "6", "2", "1"})
	require.Len(t, spend, 1+3+5+4, "teams, products, users")

	gl := exportRows(t, fx.globex, &v1.ExportRequest{TeamIds: []string{"design"}, Kind: v1.ExportKind_EXPORT_KIND_DENIALS})
	require.Len(t, gl, 2)
	require.NotEqual(t, "gil", gl[1][3], "globex sees pseudonyms")

	for kind, sheet := range map[v1.ExportKind]string{v1.ExportKind_EXPORT_KIND_DENIALS: "denials", v1.ExportKind_EXPORT_KIND_SPEND: "spend"} {
		stream, err := fx.acme.Export(t.Context(), &v1.ExportRequest{TeamIds: both, Kind: kind, Format: v1.ExportFormat_EXPORT_FORMAT_XLSX})
		require.NoError(t, err)
		data, first := readExport(t, stream)
		require.True(t, strings.HasPrefix(first.GetFileName(), "tokenmeter-"+sheet+"-"), first.GetFileName())
		f, err := excelize.OpenReader(bytes.NewReader(data))
		require.NoError(t, err)
		rows, err := f.GetRows(sheet)
		require.NoError(t, err)
		require.Len(t, rows, map[string]int{"denials": 6, "spend": 13}[sheet])
		text := []excelize.CellType{excelize.CellTypeInlineString, excelize.CellTypeSharedString}
		typ, err := f.GetCellType(sheet, map[string]string{"denials": "I2", "spend": "D3"}[sheet])
		require.NoError(t, err)
		require.NotContains(t, text, typ, "tokens and amounts are numbers, not text")
		typ, err = f.GetCellType(sheet, "B2")
		require.NoError(t, err)
		require.Contains(t, text, typ, "ids are text")
		require.NoError(t, f.Close())
	}
}

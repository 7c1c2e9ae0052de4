package reporting_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// TestReportsAgainstLedgerWorkload runs a random ledger-shaped workload for
// two organisations that share team and user ids, then checks every report
// against the fold of the same events, and that neither organisation sees
// anything of the other.
func TestReportsAgainstLedgerWorkload(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	js := logAs(t, natsURL, "ledger")
	w := randomWorkload(t, js, 42)
	ledger := &fakeLedger{w: w}
	ledgerAddr := startFakeLedger(t, ledger)
	showPersonalData(t, natsURL, "acme")
	svc := startServiceWith(t, natsURL, func(c *reporting.Config) {
		c.LedgerAddr, c.LedgerAPIKey = ledgerAddr, serviceKey
		c.Subscriptions, c.TokenPrice, c.Currency = "REVIT=100:Revit", 3, "EUR"
	})
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(w.events) }, 20*time.Second, 10*time.Millisecond)

	today := time.Now().UTC().Truncate(24 * time.Hour)
	rng := &v1.UsageRange{FromDate: today.AddDate(0, 0, -30).Format(time.DateOnly), ToDate: today.Format(time.DateOnly)}
	teams := []string{"design", "civil"}
	clients := map[string]v1.ReportingServiceClient{"acme": client(t, svc.Addr(), acmeKey), "globex": client(t, svc.Addr(), globexKey)}

	for org, c := range clients {
		t.Run(org, func(t *testing.T) {
			ctx := t.Context()
			var wantTotal int64
			wantProduct := map[string]int64{}
			for _, team := range teams {
				p := w.pools[org+"/"+team]
				// Invariant 4: ClickHouse's totals equal the ledger's per team, product and day.
				byDay, err := c.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: []string{team}, Range: rng})
				require.NoError(t, err)
				got := map[string]int64{}
				for _, d := range byDay.GetDays() {
					got[d.GetProductCode()+"/"+d.GetDay()] = d.GetTokens()
				}
				require.Equal(t, p.used, got, "%s/%s per product and day", org, team)
				for k, v := range p.used {
					wantTotal += v
					wantProduct[strings.Split(k, "/")[0]] += v
				}
			}

			sum, err := c.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: teams, Range: rng})
			require.NoError(t, err)
			require.Equal(t, wantTotal, sum.GetTokensUsed())
			require.True(t, sum.GetTokensRemainingKnown())
			require.Equal(t, w.pools[org+"/design"].available+w.pools[org+"/civil"].available, sum.GetTokensRemaining())
			gotProduct := map[string]int64{}
			for _, p := range sum.GetByProduct() {
				gotProduct[p.GetProductCode()] = p.GetTokens()
			}
			require.Equal(t, wantProduct, gotProduct)
			var perDay int64
			for _, d := range sum.GetUsedByDay() {
				perDay += d.GetTokens()
			}
			require.Equal(t, wantTotal, perDay, "the 365-day series holds every charge")
			require.Zero(t, sum.GetTokensAddedLast_7Days(), "packs were added 20 days ago")
			require.Zero(t, sum.GetTokensRemovedLast_7Days())

			byProduct, err := c.GetUsageByProduct(ctx, &v1.GetUsageByProductRequest{TeamIds: teams, Range: rng, Limit: 2})
			require.NoError(t, err)
			require.Equal(t, wantTotal, byProduct.GetTotalTokens())
			require.Len(t, byProduct.GetProducts(), 2, "limit")
			require.GreaterOrEqual(t, byProduct.GetProducts()[0].GetTokens(), byProduct.GetProducts()[1].GetTokens(), "highest first")
			for _, p := range byProduct.GetProducts() {
				var inBuckets, userTokens int64
				for _, b := range p.GetTokenBuckets() {
					inBuckets += b.GetUsers()
				}
				for _, u := range p.GetUserUsage() {
					userTokens += u.GetTokens()
				}
				require.Equal(t, p.GetUsers(), inBuckets)
				require.Equal(t, p.GetTokens(), userTokens)
				require.NotEmpty(t, p.GetVersions())
			}

			top, err := c.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: teams, Range: rng, Limit: 3})
			require.NoError(t, err)
			require.Len(t, top.GetUsers(), 3)
			require.Equal(t, int64(5), top.GetTotalUsers(), "user-5 never launched")
			require.True(t, sort.SliceIsSorted(top.GetUsers(), func(i, j int) bool { return top.GetUsers()[i].GetTokens() > top.GetUsers()[j].GetTokens() }))
			for _, u := range top.GetUsers() {
				if org == "acme" {
					require.True(t, strings.HasPrefix(u.GetUserId(), "user-"), "acme shows personal data")
				} else {
					require.Regexp(t, `^u_[0-9a-f]{20}$`, u.GetUserId(), "globex sees pseudonyms")
				}
				require.Equal(t, int64(31), u.GetDaysUsed()+u.GetDaysInactive())
				require.NotNil(t, u.GetLastUsedAt())
				require.Equal(t, int64(len(u.GetSameDay())), u.GetDoubleChargeDays())
			}

			attr, err := c.GetUsageByAttribute(ctx, &v1.GetUsageByAttributeRequest{TeamIds: teams, Range: rng, AttributeKey: "project"})
			require.NoError(t, err)
			var attrTokens int64
			for _, v := range attr.GetValues() {
				attrTokens += v.GetTokens()
			}
			require.Equal(t, wantTotal, attrTokens)
			require.Zero(t, attr.GetUnattributedTokens())

			csvRows := exportRows(t, c, &v1.ExportRequest{TeamIds: teams, Range: rng, Kind: v1.ExportKind_EXPORT_KIND_USAGE})
			require.Equal(t, "day", csvRows[0][0])
			var exported int64
			for _, r := range csvRows[1:] {
				n, err := strconv.ParseInt(r[7], 10, 64)
				require.NoError(t, err)
				exported += n
			}
			require.Equal(t, wantTotal, exported)
			packs := exportRows(t, c, &v1.ExportRequest{TeamIds: teams, Kind: v1.ExportKind_EXPORT_KIND_PACKS})
			require.Len(t, packs, 3)
			remaining, _ := strconv.ParseInt(packs[1][5], 10, 64)
			require.Equal(t, w.pools[org+"/"+packs[1][0]].available, remaining, "remaining from the projected splits")
			users := exportRows(t, c, &v1.ExportRequest{TeamIds: teams, Range: rng, Kind: v1.ExportKind_EXPORT_KIND_USERS})
			require.Len(t, users, 1+2*6, "six assigned users per team")

			fc, err := c.Forecast(ctx, &v1.ForecastRequest{TeamId: "design"})
			require.NoError(t, err)
			require.Equal(t, "ledger", fc.GetBalanceSource())
			require.Equal(t, w.pools[org+"/design"].available, fc.GetTokensAvailable())
			require.Len(t, fc.GetMonths(), 12)

			adv, err := c.AdviseLicensing(ctx, &v1.AdviseLicensingRequest{TeamIds: teams})
			require.NoError(t, err)
			require.Equal(t, "EUR", adv.GetCurrency())
		})
	}
	ledger.mu.Lock()
	for _, call := range ledger.calls {
		require.True(t, strings.HasPrefix(call, "acme/") || strings.HasPrefix(call, "globex/"), call)
	}
	ledger.mu.Unlock()

	t.Run("an organisation without data sees none", func(t *testing.T) {
		c := client(t, svc.Addr(), initechKey)
		ctx := t.Context()
		sum, err := c.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: teams, Range: rng})
		require.NoError(t, err)
		require.Zero(t, sum.GetTokensUsed())
		require.Empty(t, sum.GetByProduct())
		require.Empty(t, sum.GetUsedByDay())
		bp, err := c.GetUsageByProduct(ctx, &v1.GetUsageByProductRequest{TeamIds: teams, Range: rng})
		require.NoError(t, err)
		require.Empty(t, bp.GetProducts())
		bu, err := c.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: teams, Range: rng})
		require.NoError(t, err)
		require.Empty(t, bu.GetUsers())
		ba, err := c.GetUsageByAttribute(ctx, &v1.GetUsageByAttributeRequest{TeamIds: teams, Range: rng, AttributeKey: "project"})
		require.NoError(t, err)
		require.Empty(t, ba.GetValues())
		for _, kind := range []v1.ExportKind{v1.ExportKind_EXPORT_KIND_USAGE, v1.ExportKind_EXPORT_KIND_PACKS, v1.ExportKind_EXPORT_KIND_USERS} {
			require.Len(t, exportRowsCtx(t, ctx, c, &v1.ExportRequest{TeamIds: teams, Range: rng, Kind: kind}), 1, "header only")
		}
		fc, err := c.Forecast(ctx, &v1.ForecastRequest{TeamId: "design"})
		require.NoError(t, err)
		require.Zero(t, fc.GetBurnRate_30Days())
		adv, err := c.AdviseLicensing(ctx, &v1.AdviseLicensingRequest{TeamIds: teams})
		require.NoError(t, err)
		require.Empty(t, adv.GetAdvice())
	})

	t.Run("xlsx", func(t *testing.T) {
		stream, err := clients["acme"].Export(t.Context(), &v1.ExportRequest{TeamIds: teams, Range: rng, Format: v1.ExportFormat_EXPORT_FORMAT_XLSX})
		require.NoError(t, err)
		data, first := readExport(t, stream)
		require.True(t, strings.HasSuffix(first.GetFileName(), ".xlsx"))
		f, err := excelize.OpenReader(bytes.NewReader(data))
		require.NoError(t, err)
		defer f.Close()
		rows, err := f.GetRows("usage")
		require.NoError(t, err)
		require.Equal(t, "day", rows[0][0])
		require.Greater(t, len(rows), 10)
	})
}

func exportRows(t *testing.T, c v1.ReportingServiceClient, req *v1.ExportRequest) [][]string {
	return exportRowsCtx(t, t.Context(), c, req)
}

func exportRowsCtx(t *testing.T, ctx context.Context, c v1.ReportingServiceClient, req *v1.ExportRequest) [][]string {
	t.Helper()
	stream, err := c.Export(ctx, req)
	require.NoError(t, err)
	data, first := readExport(t, stream)
	require.Equal(t, "text/csv; charset=utf-8", first.GetContentType())
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	return rows
}

func readExport(t *testing.T, stream interface {
	Recv() (*v1.ExportResponse, error)
}) ([]byte, *v1.ExportResponse) {
	t.Helper()
	var buf bytes.Buffer
	var first *v1.ExportResponse
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if first == nil {
			first = msg
		}
		buf.Write(msg.GetChunk())
	}
	require.NotNil(t, first)
	return buf.Bytes(), first
}

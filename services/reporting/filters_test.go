package reporting_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// filterCharge is one charge of the filter fixture: days before today.
type filterCharge struct {
	org, team, user, product, group string
	tokens                          int64
	daysAgo                         int
	project, device                 string
}

// filterCharges are small enough to reason about by hand: ties in tokens
// and in days used, users in two teams, two product groups of several
// products, charges with and without a project, one outside 30 days, and
// a device id that is a spreadsheet formula.
var filterCharges = []filterCharge{
	{"acme", "design", "ann", "REVIT", "AEC", 10, 2, "P1", "pc-ann"},
	{"acme", "design", "ann", "ACAD", "AutoCAD", 7, 2, "P2", "pc-ann"},
	{"acme", "design", "bob", "ACADMAP", "AutoCAD", 5, 10, "P1", "pc-bob"},
	{"acme", "design", "bob", "ACADMAP", "AutoCAD", 5, 3, "", "pc-bob"},
	{"acme", "design", "eve", "REVIT", "AEC", 10, 5, "", `=HYPERLINK("http://evil.example","x")`},
	{"acme", "design", "dan", "FUSION", "Fusion", 2, 0, "", "pc-dan"},
	{"acme", "design", "fay", "FUSION", "Fusion", 2, 1, "", "pc-fay"},
	{"acme", "ops", "cat", "REVIT", "AEC", 10, 40, "", "pc-cat"},
	{"acme", "ops", "gus", "ACAD", "AutoCAD", 7, 4, "", "pc-gus"},
	{"globex", "design", "ann", "REVIT", "AEC", 1000, 2, "", "pc-ann"},
	{"globex", "design", "bob", "REVIT", "AEC", 1000, 3, "", "pc-bob"},
	{"globex", "design", "cat", "FUSION", "Fusion", 2, 4, "", "pc-cat"},
	{"globex", "design", "dan", "FUSION", "Fusion", 2, 4, "", "pc-dan"},
	{"globex", "design", "eve", "REVIT", "AEC", 1000, 1, "", "pc-eve"},
}

type filterFixture struct {
	acme, globex v1.ReportingServiceClient
	today        time.Time
}

// day is the date n days before today.
func (f filterFixture) day(n int) string { return f.today.AddDate(0, 0, -n).Format(time.DateOnly) }

func startFilterFixture(t *testing.T) filterFixture {
	t.Helper()
	natsURL, _ := testkit.NATS(t)
	showPersonalData(t, natsURL, "acme")
	svc := startServiceWith(t, natsURL, nil)
	js := logAs(t, natsURL, "ledger")
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for i, c := range filterCharges {
		at := today.AddDate(0, 0, -c.daysAgo).Add(time.Duration(i) * time.Minute)
		attrs := map[string]string{}
		if c.project != "" {
			attrs["project"] = c.project
		}
		ev := &v1.Event{EventId: fmt.Sprintf("f-%02d", i), OrgId: c.org, TeamId: c.team, ServerTime: timestamppb.New(at),
			Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
				UserId: c.user, ProductCode: c.product, ProductGroup: c.group, ProductVersion: "2025", DeviceId: c.device,
				WindowId: fmt.Sprint("w-", i), WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(24 * time.Hour)),
				Tokens: c.tokens, Attributes: attrs,
			}}}
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(c.org, c.team), ev, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(filterCharges)) }, 20*time.Second, 10*time.Millisecond)
	return filterFixture{acme: client(t, svc.Addr(), acmeKey), globex: client(t, svc.Addr(), globexKey), today: today}
}

var both = []string{"design", "ops"}

// TestReportFilters checks every filter of every report RPC against
// ClickHouse: each case names the request and the rows it must answer, in
// order.
func TestReportFilters(t *testing.T) {
	t.Parallel()
	fx := startFilterFixture(t)
	last30 := &v1.UsageRange{FromDate: fx.day(30), ToDate: fx.day(0)}
	tests := []struct {
		name string
		got  func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error)
		want []string
	}{
		{"by-day team_ids", byDay(&v1.GetUsageByDayRequest{TeamIds: []string{"ops"}}),
			[]string{fx.day(40) + " REVIT 10/1", fx.day(4) + " ACAD 7/1"}},
		{"by-day range", byDay(&v1.GetUsageByDayRequest{TeamIds: both, Range: &v1.UsageRange{FromDate: fx.day(3), ToDate: fx.day(2)}}),
			[]string{fx.day(3) + " ACADMAP 5/1", fx.day(2) + " ACAD 7/1", fx.day(2) + " REVIT 10/1"}},
		{"by-day preset", byDay(&v1.GetUsageByDayRequest{TeamIds: []string{"ops"}, Range: &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_THIS_MONTH}}),
			thisMonth(fx, []filterCharge{filterCharges[8]})},

		{"summary team_ids and charges per day", summary(&v1.GetUsageSummaryRequest{TeamIds: both}),
			[]string{"used 58", "ACAD 14/2", "ACADMAP 10/1", "FUSION 4/2", "REVIT 30/3",
				fx.day(40) + " 10/1", fx.day(10) + " 5/1", fx.day(5) + " 10/1", fx.day(4) + " 7/1", fx.day(3) + " 5/1",
				fx.day(2) + " 17/2", fx.day(1) + " 2/1", fx.day(0) + " 2/1"}},
		{"summary range", summaryProducts(&v1.GetUsageSummaryRequest{TeamIds: []string{"ops"}, Range: last30}),
			[]string{"used 7", "ACAD 7/1"}},

		{"by-product default order", byProduct(&v1.GetUsageByProductRequest{TeamIds: both}),
			[]string{"products 4, 58 tokens", "REVIT AEC 30/3", "ACAD AutoCAD 14/2", "ACADMAP AutoCAD 10/1", "FUSION Fusion 4/2"}},
		{"by-product range", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, Range: last30}),
			[]string{"products 4, 48 tokens", "REVIT AEC 20/2", "ACAD AutoCAD 14/2", "ACADMAP AutoCAD 10/1", "FUSION Fusion 4/2"}},
		{"by-product product_group", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, ProductGroup: "AutoCAD"}),
			[]string{"products 2, 24 tokens", "ACAD AutoCAD 14/2", "ACADMAP AutoCAD 10/1"}},
		{"by-product product_group and product_codes", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, ProductGroup: "AutoCAD", ProductCodes: []string{"ACAD", "REVIT"}}),
			[]string{"products 1, 14 tokens", "ACAD AutoCAD 14/2"}},
		{"by-product product_codes", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, ProductCodes: []string{"FUSION", "REVIT"}}),
			[]string{"products 2, 34 tokens", "REVIT AEC 30/3", "FUSION Fusion 4/2"}},
		{"by-product sort_by users", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, SortBy: v1.SortBy_SORT_BY_USERS}),
			[]string{"products 4, 58 tokens", "REVIT AEC 30/3", "ACAD AutoCAD 14/2", "FUSION Fusion 4/2", "ACADMAP AutoCAD 10/1"}},
		{"by-product sort_by name", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, SortBy: v1.SortBy_SORT_BY_NAME}),
			[]string{"products 4, 58 tokens", "ACAD AutoCAD 14/2", "ACADMAP AutoCAD 10/1", "FUSION Fusion 4/2", "REVIT AEC 30/3"}},
		{"by-product ascending", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, Ascending: true}),
			[]string{"products 4, 58 tokens", "FUSION Fusion 4/2", "ACADMAP AutoCAD 10/1", "ACAD AutoCAD 14/2", "REVIT AEC 30/3"}},
		{"by-product limit", byProduct(&v1.GetUsageByProductRequest{TeamIds: both, Limit: 2}),
			[]string{"products 4, 58 tokens", "REVIT AEC 30/3", "ACAD AutoCAD 14/2"}},
		{"by-product user_limit", productUsers(&v1.GetUsageByProductRequest{TeamIds: both, ProductCodes: []string{"REVIT"}, UserLimit: 2}),
			[]string{"REVIT ann 10", "REVIT cat 10"}},
		{"by-product team_ids", productUsers(&v1.GetUsageByProductRequest{TeamIds: []string{"ops"}}),
			[]string{"REVIT cat 10", "ACAD gus 7"}},

		{"by-user default order", byUser(&v1.GetUsageByUserRequest{TeamIds: both}),
			[]string{"users 7, 58 tokens", "ann 17", "bob 10", "cat 10", "eve 10", "gus 7", "dan 2", "fay 2"}},
		{"by-user team_ids and range", byUser(&v1.GetUsageByUserRequest{TeamIds: []string{"ops"}, Range: last30}),
			[]string{"users 1, 7 tokens", "gus 7"}},
		{"by-user product_codes", byUser(&v1.GetUsageByUserRequest{TeamIds: both, ProductCodes: []string{"REVIT"}}),
			[]string{"users 3, 30 tokens", "ann 10", "cat 10", "eve 10"}},
		{"by-user sort_by days_used", byUser(&v1.GetUsageByUserRequest{TeamIds: both, SortBy: v1.SortBy_SORT_BY_DAYS_USED, Limit: 3}),
			[]string{"users 7, 58 tokens", "bob 10", "ann 17", "cat 10"}},
		{"by-user sort_by last_used", byUser(&v1.GetUsageByUserRequest{TeamIds: both, SortBy: v1.SortBy_SORT_BY_LAST_USED}),
			[]string{"users 7, 58 tokens", "dan 2", "fay 2", "ann 17", "bob 10", "gus 7", "eve 10", "cat 10"}},
		{"by-user sort_by name", byUser(&v1.GetUsageByUserRequest{TeamIds: both, SortBy: v1.SortBy_SORT_BY_NAME, Limit: 2}),
			[]string{"users 7, 58 tokens", "ann 17", "bob 10"}},
		{"by-user ascending", byUser(&v1.GetUsageByUserRequest{TeamIds: both, Ascending: true, Limit: 4}),
			[]string{"users 7, 58 tokens", "dan 2", "fay 2", "gus 7", "bob 10"}},
		{"by-user days since last use and without use", userDays(&v1.GetUsageByUserRequest{TeamIds: both, SortBy: v1.SortBy_SORT_BY_NAME, Range: last30}),
			[]string{"ann last 2 idle 30", "bob last 3 idle 29", "dan last 0 idle 30", "eve last 5 idle 30", "fay last 1 idle 30", "gus last 4 idle 30"}},
		{"by-user days since last use to the end of a past range", userDays(&v1.GetUsageByUserRequest{TeamIds: both, SortBy: v1.SortBy_SORT_BY_NAME,
			Range: &v1.UsageRange{FromDate: fx.day(10), ToDate: fx.day(3)}}),
			[]string{"bob last 0 idle 6", "eve last 2 idle 7", "gus last 1 idle 7"}},

		{"by-attribute attribute_key", byAttribute(&v1.GetUsageByAttributeRequest{TeamIds: both, AttributeKey: "project"}),
			[]string{"total 58, unattributed 36", "P1 15/2 ACADMAP 5, REVIT 10", "P2 7/1 ACAD 7"}},
		{"by-attribute limit", byAttribute(&v1.GetUsageByAttributeRequest{TeamIds: both, AttributeKey: "project", Limit: 1}),
			[]string{"total 58, unattributed 36", "P1 15/2 ACADMAP 5, REVIT 10"}},
		{"by-attribute range", byAttribute(&v1.GetUsageByAttributeRequest{TeamIds: both, AttributeKey: "project", Range: &v1.UsageRange{FromDate: fx.day(5), ToDate: fx.day(0)}}),
			[]string{"total 43, unattributed 26", "P1 10/1 REVIT 10", "P2 7/1 ACAD 7"}},
		{"by-attribute unknown key", byAttribute(&v1.GetUsageByAttributeRequest{TeamIds: []string{"ops"}, AttributeKey: "cost_centre"}),
			[]string{"total 17, unattributed 17"}},

		{"forecast team_id", forecast(&v1.ForecastRequest{TeamId: "ops"}), []string{"30 days 7, 90 days 17, 12 months, term 0"}},
		{"forecast term_start_month and term_tokens", forecast(&v1.ForecastRequest{TeamId: "design",
			TermStartMonth: fx.today.AddDate(0, -1, 1-fx.today.Day()).Format("2006-01"), TermTokens: 500}),
			[]string{"30 days 39, 90 days 39, 12 months, term 500", "first " + fx.today.AddDate(0, -1, 1-fx.today.Day()).Format("2006-01")}},

		{"export team_ids", exported(&v1.ExportRequest{TeamIds: []string{"ops"}}),
			[]string{"ops cat REVIT pc-cat 10", "ops gus ACAD pc-gus 7"}},
		{"export range, a formula neutralised", exported(&v1.ExportRequest{TeamIds: both, Range: &v1.UsageRange{FromDate: fx.day(5), ToDate: fx.day(5)}}),
			[]string{`design eve REVIT '=HYPERLINK("http://evil.example","x") 10`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.got(t.Context(), fx.acme)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	t.Run("by-user pages", func(t *testing.T) { t.Parallel(); testUserPages(t, fx) })
	t.Run("by-user page_token refused", func(t *testing.T) { t.Parallel(); testBadPageTokens(t, fx) })
	t.Run("refusals", func(t *testing.T) { t.Parallel(); testRefusals(t, fx) })
}

// thisMonth is the by-day rows of charges in the current month.
func thisMonth(fx filterFixture, charges []filterCharge) []string {
	var out []string
	for _, c := range charges {
		if d := fx.today.AddDate(0, 0, -c.daysAgo); d.Month() == fx.today.Month() && d.Year() == fx.today.Year() {
			out = append(out, fmt.Sprintf("%s %s %d/1", d.Format(time.DateOnly), c.product, c.tokens))
		}
	}
	return out
}

type rowsOf func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error)

func byDay(req *v1.GetUsageByDayRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.GetUsageByDay(ctx, req)
		var out []string
		for _, d := range resp.GetDays() {
			out = append(out, fmt.Sprintf("%s %s %d/%d", d.GetDay(), d.GetProductCode(), d.GetTokens(), d.GetCharges()))
		}
		return out, err
	}
}

// summary is the tokens used, per product (tokens/users) and per day
// (tokens/charges) of the summary.
func summary(req *v1.GetUsageSummaryRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		out, err := summaryProducts(req)(ctx, c)
		resp, _ := c.GetUsageSummary(ctx, req)
		for _, d := range resp.GetUsedByDay() {
			out = append(out, fmt.Sprintf("%s %d/%d", d.GetDay(), d.GetTokens(), d.GetCharges()))
		}
		return out, err
	}
}

func summaryProducts(req *v1.GetUsageSummaryRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.GetUsageSummary(ctx, req)
		out := []string{fmt.Sprint("used ", resp.GetTokensUsed())}
		products := resp.GetByProduct()
		sort.Slice(products, func(i, j int) bool { return products[i].GetProductCode() < products[j].GetProductCode() })
		for _, p := range products {
			out = append(out, fmt.Sprintf("%s %d/%d", p.GetProductCode(), p.GetTokens(), p.GetUsers()))
		}
		return out, err
	}
}

func byProduct(req *v1.GetUsageByProductRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.GetUsageByProduct(ctx, req)
		out := []string{fmt.Sprintf("products %d, %d tokens", resp.GetProductsUsed(), resp.GetTotalTokens())}
		for _, p := range resp.GetProducts() {
			out = append(out, fmt.Sprintf("%s %s %d/%d", p.GetProductCode(), p.GetProductGroup(), p.GetTokens(), p.GetUsers()))
		}
		return out, err
	}
}

func productUsers(req *v1.GetUsageByProductRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.GetUsageByProduct(ctx, req)
		var out []string
		for _, p := range resp.GetProducts() {
			for _, u := range p.GetUserUsage() {
				out = append(out, fmt.Sprintf("%s %s %d", p.GetProductCode(), u.GetUserId(), u.GetTokens()))
			}
		}
		return out, err
	}
}

func byUser(req *v1.GetUsageByUserRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.GetUsageByUser(ctx, req)
		out := []string{fmt.Sprintf("users %d, %d tokens", resp.GetTotalUsers(), resp.GetTotalTokens())}
		for _, u := range resp.GetUsers() {
			out = append(out, fmt.Sprintf("%s %d", u.GetUserId(), u.GetTokens()))
		}
		return out, err
	}
}

// userDays is each user's days since last use and days without use in the range.
func userDays(req *v1.GetUsageByUserRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.GetUsageByUser(ctx, req)
		var out []string
		for _, u := range resp.GetUsers() {
			out = append(out, fmt.Sprintf("%s last %d idle %d", u.GetUserId(), u.GetDaysSinceLastUse(), u.GetDaysInactive()))
		}
		return out, err
	}
}

func forecast(req *v1.ForecastRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.Forecast(ctx, req)
		// Tokens of the 30 and 90 days before today, from the burn rates.
		out := []string{fmt.Sprintf("30 days %.0f, 90 days %.0f, %d months, term %d",
			resp.GetBurnRate_30Days()*30, resp.GetBurnRate_90Days()*90, len(resp.GetMonths()), resp.GetTermTokens())}
		if req.GetTermStartMonth() != "" && len(resp.GetMonths()) > 0 {
			out = append(out, "first "+resp.GetMonths()[0].GetMonth())
		}
		return out, err
	}
}

// exported is the team, user, product, device and tokens of each row of a
// CSV usage export.
func exported(req *v1.ExportRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		stream, err := c.Export(ctx, req)
		if err != nil {
			return nil, err
		}
		var data []byte
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, err
			}
			data = append(data, msg.GetChunk()...)
		}
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		var out []string
		for _, r := range rows[1:] {
			out = append(out, strings.Join([]string{r[1], r[2], r[3], r[6], r[7]}, " "))
		}
		return out, err
	}
}

func byAttribute(req *v1.GetUsageByAttributeRequest) rowsOf {
	return func(ctx context.Context, c v1.ReportingServiceClient) ([]string, error) {
		resp, err := c.GetUsageByAttribute(ctx, req)
		out := []string{fmt.Sprintf("total %d, unattributed %d", resp.GetTotalTokens(), resp.GetUnattributedTokens())}
		for _, v := range resp.GetValues() {
			var products []string
			for _, p := range v.GetByProduct() {
				products = append(products, fmt.Sprintf("%s %d", p.GetProductCode(), p.GetTokens()))
			}
			sort.Strings(products)
			out = append(out, fmt.Sprintf("%s %d/%d %s", v.GetValue(), v.GetTokens(), v.GetUsers(), strings.Join(products, ", ")))
		}
		return out, err
	}
}

package reporting_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// testUserPages walks every page of the by-user report, for every sort in
// both directions, and finds every user once, in the order of the report
// without a limit: through ClickHouse for an organisation that sees user
// ids, and by pseudonym for one that does not.
func testUserPages(t *testing.T, fx filterFixture) {
	sorts := []v1.SortBy{v1.SortBy_SORT_BY_TOKENS, v1.SortBy_SORT_BY_USERS, v1.SortBy_SORT_BY_DAYS_USED,
		v1.SortBy_SORT_BY_LAST_USED, v1.SortBy_SORT_BY_NAME}
	for org, c := range map[string]v1.ReportingServiceClient{"acme": fx.acme, "globex": fx.globex} {
		for _, by := range sorts {
			for _, asc := range []bool{false, true} {
				for _, size := range []int32{1, 2} {
					name := fmt.Sprintf("%s %s asc=%v size=%d", org, by, asc, size)
					req := &v1.GetUsageByUserRequest{TeamIds: both, SortBy: by, Ascending: asc}
					all, err := c.GetUsageByUser(t.Context(), req)
					require.NoError(t, err, name)
					require.Empty(t, all.GetNextPageToken(), name)
					var want []string
					for _, u := range all.GetUsers() {
						want = append(want, u.GetUserId())
					}
					require.GreaterOrEqual(t, len(want), 5, name)

					var got []string
					pages := 0
					for token := ""; pages == 0 || token != ""; pages++ {
						require.Less(t, pages, len(want)+1, "%s: the pages never end", name)
						page, err := c.GetUsageByUser(t.Context(), &v1.GetUsageByUserRequest{TeamIds: both, SortBy: by, Ascending: asc, Limit: size, PageToken: token})
						require.NoError(t, err, name)
						require.LessOrEqual(t, len(page.GetUsers()), int(size), name)
						require.Equal(t, all.GetTotalUsers(), page.GetTotalUsers(), name)
						for _, u := range page.GetUsers() {
							got = append(got, u.GetUserId())
							require.NotEmpty(t, u.GetProducts(), "%s: the details of %s", name, u.GetUserId())
						}
						token = page.GetNextPageToken()
					}
					require.Equal(t, want, got, name)
					require.Equal(t, (len(want)+int(size)-1)/int(size), pages, name)
				}
			}
		}
	}
}

// testBadPageTokens: a token that is not one of the service's, or that
// belongs to another request, is refused naming page_token, quoting no
// more than a short prefix of it.
func testBadPageTokens(t *testing.T, fx filterFixture) {
	first, err := fx.acme.GetUsageByUser(t.Context(), &v1.GetUsageByUserRequest{TeamIds: both, Limit: 2})
	require.NoError(t, err)
	require.NotEmpty(t, first.GetNextPageToken())
	huge := strings.Repeat("A", 100_000)
	for name, req := range map[string]*v1.GetUsageByUserRequest{
		"not base64":      {TeamIds: both, Limit: 2, PageToken: "not a token!"},
		"unknown layout":  {TeamIds: both, Limit: 2, PageToken: "AAAAAAAAAAAAAAAA"},
		"huge":            {TeamIds: both, Limit: 2, PageToken: huge},
		"another sort":    {TeamIds: both, Limit: 2, SortBy: v1.SortBy_SORT_BY_NAME, PageToken: first.GetNextPageToken()},
		"another range":   {TeamIds: both, Limit: 2, Range: &v1.UsageRange{FromDate: fx.day(3)}, PageToken: first.GetNextPageToken()},
		"another product": {TeamIds: both, Limit: 2, ProductCodes: []string{"REVIT"}, PageToken: first.GetNextPageToken()},
	} {
		_, err := fx.acme.GetUsageByUser(t.Context(), req)
		require.Equal(t, []string{"page_token"}, refusedFields(t, err), name)
	}
	// The same token with another page size is the same request.
	next, err := fx.acme.GetUsageByUser(t.Context(), &v1.GetUsageByUserRequest{TeamIds: both, Limit: 3, PageToken: first.GetNextPageToken()})
	require.NoError(t, err)
	require.Equal(t, "cat", next.GetUsers()[0].GetUserId())
}

// refusedFields asserts err is a short InvalidArgument and returns the
// fields its BadRequest names.
func refusedFields(t *testing.T, err error) []string {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), "%v", err)
	require.Less(t, len(st.Message()), 300, st.Message())
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				require.Less(t, len(v.GetDescription()), 300, v.GetField())
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// testRefusals: each report refuses a bad field as InvalidArgument naming
// it, in a short message however long the value.
func testRefusals(t *testing.T, fx filterFixture) {
	ctx, c := t.Context(), fx.acme
	long := strings.Repeat("x", 100_000)
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"summary without teams", func() error { _, err := c.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{}); return err }, "team_ids"},
		{"by-day huge from_date", func() error {
			_, err := c.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: both, Range: &v1.UsageRange{FromDate: long}})
			return err
		}, "range.from_date"},
		{"by-user limit over the maximum", func() error {
			_, err := c.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: both, Limit: 10_001})
			return err
		}, "limit"},
		{"by-user bad product code", func() error {
			_, err := c.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: both, ProductCodes: []string{"REVIT", long}})
			return err
		}, "product_codes[1]"},
		{"by-product long group", func() error {
			_, err := c.GetUsageByProduct(ctx, &v1.GetUsageByProductRequest{TeamIds: both, ProductGroup: long})
			return err
		}, "product_group"},
		{"by-product negative user_limit", func() error {
			_, err := c.GetUsageByProduct(ctx, &v1.GetUsageByProductRequest{TeamIds: both, UserLimit: -1})
			return err
		}, "user_limit"},
		{"by-attribute without key", func() error {
			_, err := c.GetUsageByAttribute(ctx, &v1.GetUsageByAttributeRequest{TeamIds: both})
			return err
		}, "attribute_key"},
		{"forecast huge month", func() error {
			_, err := c.Forecast(ctx, &v1.ForecastRequest{TeamId: "ops", TermStartMonth: long})
			return err
		}, "term_start_month"},
		{"forecast negative term tokens", func() error {
			_, err := c.Forecast(ctx, &v1.ForecastRequest{TeamId: "ops", TermTokens: -1})
			return err
		}, "term_tokens"},
	}
	for _, tt := range tests {
		require.Equal(t, []string{tt.field}, refusedFields(t, tt.call()), tt.name)
	}
}

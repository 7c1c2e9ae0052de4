package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// fakeReports answers UsageByDay; the other reports are tested against a
// real ClickHouse (the embedded interface panics if one is called).
type fakeReports struct {
	Reports
	got  query.Filter
	days []query.DayUsage
	err  error
}

func (f *fakeReports) UsageByDay(_ context.Context, q query.Filter) ([]query.DayUsage, error) {
	f.got = q
	return f.days, f.err
}

var now = time.Date(2025, 5, 15, 9, 0, 0, 0, time.UTC)

func newServer(r Reports) *Server {
	return New(r, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
}

func asAdmin(ctx context.Context, org string) context.Context {
	return auth.WithPrincipal(ctx, auth.Principal{Org: org, Role: auth.RoleAdmin})
}

func TestGetUsageByDayConfinesToCallerOrg(t *testing.T) {
	t.Parallel()
	reports := &fakeReports{days: []query.DayUsage{
		{Day: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), ProductCode: "ACAD", Tokens: 7, Charges: 1},
		{Day: time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC), ProductCode: "REVIT", Tokens: 20, Charges: 2},
	}}
	resp, err := newServer(reports).GetUsageByDay(asAdmin(t.Context(), "acme"), &v1.GetUsageByDayRequest{
		TeamIds: []string{"design"},
		Range:   &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_THIS_MONTH},
	})
	require.NoError(t, err)
	require.Equal(t, "acme", reports.got.OrgID)
	require.Equal(t, []string{"design"}, reports.got.TeamIDs)
	require.Equal(t, "2025-05-01", resp.GetFromDate())
	require.Equal(t, "2025-05-15", resp.GetToDate())
	require.Equal(t, int64(27), resp.GetTotalTokens())
	require.Len(t, resp.GetDays(), 2)
	require.Equal(t, "2025-05-02", resp.GetDays()[1].GetDay())
	require.Equal(t, int64(2), resp.GetDays()[1].GetCharges())
}

func TestGetUsageByDayErrors(t *testing.T) {
	t.Parallel()
	t.Run("no principal", func(t *testing.T) {
		t.Parallel()
		_, err := newServer(&fakeReports{}).GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{TeamIds: []string{"a"}})
		require.Equal(t, codes.Unauthenticated, status.Code(err))
	})
	t.Run("bad fields are named", func(t *testing.T) {
		t.Parallel()
		_, err := newServer(&fakeReports{}).GetUsageByDay(asAdmin(t.Context(), "acme"), &v1.GetUsageByDayRequest{
			TeamIds: []string{"ok", "no.dots"},
			Range:   &v1.UsageRange{FromDate: "2025-02-30"},
		})
		st := status.Convert(err)
		require.Equal(t, codes.InvalidArgument, st.Code())
		require.Len(t, st.Details(), 1)
		br, ok := st.Details()[0].(*errdetails.BadRequest)
		require.True(t, ok)
		var fields []string
		for _, v := range br.GetFieldViolations() {
			fields = append(fields, v.GetField())
		}
		require.Equal(t, []string{"team_ids[1]", "range.from_date"}, fields)
	})
	t.Run("storage failure is internal and hidden", func(t *testing.T) {
		t.Parallel()
		_, err := newServer(&fakeReports{err: errors.New("clickhouse: secret detail")}).
			GetUsageByDay(asAdmin(t.Context(), "acme"), &v1.GetUsageByDayRequest{TeamIds: []string{"a"}})
		require.Equal(t, codes.Internal, status.Code(err))
		require.NotContains(t, err.Error(), "secret detail")
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		_, err := newServer(&fakeReports{err: context.DeadlineExceeded}).
			GetUsageByDay(asAdmin(t.Context(), "acme"), &v1.GetUsageByDayRequest{TeamIds: []string{"a"}})
		require.Equal(t, codes.DeadlineExceeded, status.Code(err))
	})
	t.Run("forecast names a bad team", func(t *testing.T) {
		t.Parallel()
		_, err := newServer(&fakeReports{}).Forecast(asAdmin(t.Context(), "acme"), &v1.ForecastRequest{TeamId: "a.b"})
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	})
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	pol := Policy()
	require.Len(t, pol, len(v1.ReportingService_ServiceDesc.Methods)+len(v1.ReportingService_ServiceDesc.Streams))
	for method, roles := range pol {
		require.ElementsMatch(t, []auth.Role{auth.RoleAdmin, auth.RoleService}, roles, method)
	}
	require.Contains(t, pol, "/tokenmeter.v1.ReportingService/GetUsageByDay")
	require.Contains(t, pol, "/tokenmeter.v1.ReportingService/Export")
}

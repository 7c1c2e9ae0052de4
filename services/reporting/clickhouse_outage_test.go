package reporting_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// A report asked while ClickHouse is unreachable is answered Unavailable
// with a retry delay (the caller may retry; nothing is wrong with the
// request), not Internal, and reports answer again once it is back.
func TestReportsAnswerUnavailableWhileClickHouseIsGone(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	proxy := testkit.NewProxy(t, testkit.ClickHouseAddr())
	svc := startServiceWith(t, natsURL, func(c *reporting.Config) { c.ClickHouseAddr = proxy.Addr() })
	acme := client(t, svc.Addr(), acmeKey)
	req := &v1.GetUsageByDayRequest{TeamIds: []string{"design"}}
	_, err := acme.GetUsageByDay(t.Context(), req)
	require.NoError(t, err)

	proxy.Cut()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = acme.GetUsageByDay(ctx, req)
	st := status.Convert(err)
	require.Equal(t, codes.Unavailable, st.Code(), "ClickHouse gone: %v", err)
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry, "Unavailable carries RetryInfo")
	require.NotContains(t, st.Message(), proxy.Addr(), "the message does not leak the database's address")

	proxy.Restore()
	require.Eventually(t, func() bool {
		_, err := acme.GetUsageByDay(t.Context(), req)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "reports answer again once ClickHouse is back")
}

package ledger_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Issue 15 item 2: an AuthorizeBatch lasts as long as its most patient
// caller, so a launch whose own caller had given up was still charged. Each
// launch now carries its own timeout; one that has run out is answered
// DeadlineExceeded and not decided, and the others of the batch are.
func TestBatchSkipsLaunchesWhoseCallerGaveUp(t *testing.T) {
	t.Parallel()
	f := newLedgerFixture(t)
	launch := func(id string) *v1.LaunchRequest {
		return &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: "ann", ProductCode: "REVIT"}
	}
	batch, err := f.svc.AuthorizeBatch(f.acme, &v1.AuthorizeBatchRequest{Launches: []*v1.AuthorizeRequest{
		{Launch: launch("launch-gone-0001"), Timeout: durationpb.New(time.Nanosecond)},
		{Launch: launch("launch-live-0001"), Timeout: durationpb.New(time.Minute)},
		{Launch: launch("launch-bad-0001"), Timeout: durationpb.New(-time.Second)},
	}})
	require.NoError(t, err)
	gone, live, bad := batch.GetOutcomes()[0], batch.GetOutcomes()[1], batch.GetOutcomes()[2]
	require.EqualValues(t, codes.DeadlineExceeded, gone.GetErrorCode(), "%v", gone)
	require.EqualValues(t, codes.OK, live.GetErrorCode(), "%v", live)
	require.EqualValues(t, 10, live.GetResult().GetTokensCharged())
	require.EqualValues(t, codes.InvalidArgument, bad.GetErrorCode(), "%v", bad)
	require.Contains(t, bad.GetErrorMessage(), "timeout")
	require.EqualValues(t, 40, f.available(t), "only the live launch charged")
	// The same when ingestion falls back to Authorize (an older ledger's batch).
	_, err = f.svc.Authorize(f.acme, &v1.AuthorizeRequest{Launch: launch("launch-gone-0002"), Timeout: durationpb.New(time.Nanosecond)})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)

	// Nothing was decided for it: its retry is decided now, inside the live
	// launch's window.
	res := f.launch(t, "launch-gone-0001")
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, res.GetDecision())
	require.Equal(t, "launch-live-0001", res.GetWindowId())
	require.EqualValues(t, 0, res.GetTokensCharged())
}

package ingestion_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// Concurrent launches share AuthorizeBatch calls to the ledger, and each
// still gets its own answer; a launch alone goes with Authorize; against a
// ledger without AuthorizeBatch each goes alone; a ledger that is down makes
// each Unavailable.
func TestLaunchesCoalesce(t *testing.T) {
	const n = 300
	launchAll := func(t *testing.T, e *env, prefix string) ([]*v1.LaunchResponse, []error) {
		t.Helper()
		d := doors(t, e)["grpc"]
		out, errs := make([]*v1.LaunchResponse, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Every third launch repeats the one before it: a retry racing its original.
				k := i - i%3/2
				req := &v1.LaunchRequest{EventId: fmt.Sprintf("evt-%s-%04d", prefix, k), TeamId: []string{"design", "civil"}[k%2],
					UserId: "ann", ProductCode: "REVIT"}
				resp := &v1.LaunchResponse{}
				key := map[string]string{"design": designKey, "civil": civilKey}[req.TeamId]
				if errs[i] = d.call(t.Context(), key, "Launch", req, resp); errs[i] == nil {
					out[i] = resp
				}
			})
		}
		wg.Wait()
		return out, errs
	}
	check := func(t *testing.T, out []*v1.LaunchResponse, errs []error, prefix string) {
		t.Helper()
		for i := range n {
			require.NoError(t, errs[i], "launch %d", i)
			k := i - i%3/2
			require.Equal(t, v1.Decision_DECISION_AUTHORIZED, out[i].GetDecision())
			require.Equal(t, fmt.Sprintf("w-evt-%s-%04d", prefix, k), out[i].GetWindowId(), "launch %d got its own answer", i)
		}
	}

	t.Run("batched", func(t *testing.T) {
		e := start(t, "", func(c *ingestion.Config) { c.LedgerBatch, c.LedgerCalls = 16, 2 })
		out, errs := launchAll(t, e, "co")
		check(t, out, errs, "co")
		require.Zero(t, e.ledger.calls.Load()-int64(n), "every launch reached the ledger once")
		calls := e.ledger.batches.Load() + e.ledger.lone.Load()
		require.Positive(t, e.ledger.batches.Load())
		require.Less(t, calls, int64(n), "launches shared calls")
		require.GreaterOrEqual(t, calls, int64(n/16))
	})
	t.Run("a launch alone", func(t *testing.T) {
		e := start(t, "", nil)
		d := doors(t, e)["grpc"]
		for i := range 3 {
			req := &v1.LaunchRequest{EventId: fmt.Sprintf("evt-lone-%d", i), TeamId: "design", UserId: "ann", ProductCode: "REVIT"}
			resp := &v1.LaunchResponse{}
			require.NoError(t, d.call(t.Context(), designKey, "Launch", req, resp))
			require.Equal(t, "w-"+req.EventId, resp.GetWindowId())
		}
		require.Equal(t, int64(3), e.ledger.lone.Load(), "each went with Authorize")
		require.Zero(t, e.ledger.batches.Load())
		got, _ := e.ledger.orgs.Load("evt-lone-0")
		require.Equal(t, "acme", got, "decided for its own organisation")
	})
	t.Run("ledger ring not there", func(t *testing.T) {
		// -ledger-ring before a ledger without a ring (no LEDGER_MEMBERS):
		// -ledger-addr decides everything.
		e := start(t, "", func(c *ingestion.Config) { c.LedgerBatch, c.LedgerRing = 16, true })
		out, errs := launchAll(t, e, "seed")
		check(t, out, errs, "seed")
		require.Zero(t, e.ledger.calls.Load()-int64(n), "every launch reached the ledger once")
		require.Empty(t, e.svc.LedgerReplicas())
	})
	t.Run("ledger without AuthorizeBatch", func(t *testing.T) {
		e := start(t, "", nil)
		e.ledger.noBatch.Store(true)
		out, errs := launchAll(t, e, "old")
		check(t, out, errs, "old")
		require.Zero(t, e.ledger.batches.Load())
	})
	t.Run("one call each", func(t *testing.T) {
		e := start(t, "", func(c *ingestion.Config) { c.LedgerBatch = -1 })
		out, errs := launchAll(t, e, "unary")
		check(t, out, errs, "unary")
		require.Zero(t, e.ledger.batches.Load())
	})
	t.Run("ledger down", func(t *testing.T) {
		e := start(t, "", nil)
		e.ledger.down.Store(true)
		_, errs := launchAll(t, e, "down")
		for i, err := range errs {
			require.Equal(t, codes.Unavailable, status.Code(err), "launch %d: %v", i, err)
		}
	})

	t.Run("launches of two organisations never share a call", func(t *testing.T) {
		e := start(t, "", nil)
		d := doors(t, e)["grpc"]
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				org, key := []string{"acme", "globex"}[i%2], []string{designKey, globexKey}[i%2]
				req := &v1.LaunchRequest{EventId: fmt.Sprintf("evt-%s-%04d", org, i), TeamId: "design", UserId: "ann", ProductCode: "REVIT"}
				require.NoError(t, d.call(t.Context(), key, "Launch", req, &v1.LaunchResponse{}))
			})
		}
		wg.Wait()
		for i := range n {
			org := []string{"acme", "globex"}[i%2]
			got, ok := e.ledger.orgs.Load(fmt.Sprintf("evt-%s-%04d", org, i))
			require.True(t, ok, "launch %d reached the ledger", i)
			require.Equal(t, org, got, "launch %d was decided for its own organisation", i)
		}
	})
}

package ingestion_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// Every refusal of the launcher API, through the gRPC door and the HTTP/JSON door.
func TestErrorPathsThroughBothDoors(t *testing.T) {
	t.Parallel()
	e := start(t, "", nil)
	for name, d := range doors(t, e) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			launch := func(key string, req *v1.LaunchRequest) (*v1.LaunchResponse, error) {
				resp := &v1.LaunchResponse{}
				return resp, d.call(ctx, key, "Launch", req, resp)
			}
			valid := func(n string) *v1.LaunchRequest {
				return &v1.LaunchRequest{EventId: id(name, n), TeamId: "design", UserId: "ann", ProductCode: "REVIT", ProductVersion: "2026", DeviceId: "pc-1"}
			}

			resp, err := launch(designKey, valid("ok"))
			require.NoError(t, err)
			require.Equal(t, v1.Decision_DECISION_AUTHORIZED, resp.GetDecision())

			_, err = launch("", valid("no-key"))
			require.Equal(t, codes.Unauthenticated, status.Code(err), "no key")
			_, err = launch("not-a-key-at-all", valid("unknown-key"))
			require.Equal(t, codes.Unauthenticated, status.Code(err), "unknown key")
			other := valid("other-team")
			other.TeamId = "civil"
			_, err = launch(designKey, other)
			require.Equal(t, codes.PermissionDenied, status.Code(err), "a design key naming civil")
			_, err = launch("admin-secret", valid("admin"))
			require.Equal(t, codes.PermissionDenied, status.Code(err), "an admin key cannot launch")
			err = d.call(ctx, designKey, "CreateLauncherKey", &v1.CreateLauncherKeyRequest{TeamId: "design"}, &v1.CreateLauncherKeyResponse{})
			require.Equal(t, codes.PermissionDenied, status.Code(err), "a launcher key cannot make keys")

			attrs := map[string]string{}
			for i := range 11 {
				attrs[string(rune('a'+i))] = "x"
			}
			_, err = launch(designKey, &v1.LaunchRequest{TeamId: "design", UserId: "ann", ProductCode: "no spaces",
				ProductVersion: "v\x00", DeviceId: strings.Repeat("d", 200), Attributes: attrs})
			require.ElementsMatch(t, []string{"event_id", "product_code", "product_version", "device_id", "attributes"}, badFields(t, err))
			skewed := valid("skewed")
			skewed.OccurredAt = timestamppb.New(time.Now().Add(3 * time.Hour))
			_, err = launch(designKey, skewed)
			require.Equal(t, []string{"occurred_at"}, badFields(t, err))

			again, err := launch(designKey, valid("ok"))
			require.NoError(t, err, "a retry")
			require.Equal(t, resp.GetWindowId(), again.GetWindowId(), "the same answer")
			reused := valid("ok")
			reused.UserId = "bob"
			_, err = launch(designKey, reused)
			require.Equal(t, codes.AlreadyExists, status.Code(err), "another launch under a used id")

			hb := &v1.HeartbeatRequest{EventId: id(name, "hb"), TeamId: "design", UserId: "ann", ProductCode: "REVIT", Active: true}
			hbResp := &v1.HeartbeatResponse{}
			require.NoError(t, d.call(ctx, designKey, "Heartbeat", hb, hbResp))
			require.True(t, hbResp.GetKeepRunning(), "a ledger without renewal keeps sessions running")
			require.NoError(t, d.call(ctx, designKey, "Heartbeat", hb, hbResp), "a retried heartbeat")
			hb.UserId = "bob"
			err = d.call(ctx, designKey, "Heartbeat", hb, hbResp)
			require.Equal(t, codes.AlreadyExists, status.Code(err), "another heartbeat under a used id")
			require.Contains(t, status.Convert(err).Message(), "user ann")
			err = d.call(ctx, designKey, "EndSession", &v1.EndSessionRequest{EventId: "x", TeamId: "design"}, &v1.EndSessionResponse{})
			require.ElementsMatch(t, []string{"event_id", "user_id", "product_code"}, badFields(t, err))
			err = d.call(ctx, designKey, "Quote", &v1.QuoteRequest{TeamId: "design", UserId: "ann"}, &v1.QuoteResponse{})
			require.Equal(t, []string{"product_code"}, badFields(t, err))

			err = d.call(ctx, designKey, "IngestBatch", &v1.IngestBatchRequest{}, &v1.IngestBatchResponse{})
			require.Equal(t, []string{"events"}, badFields(t, err))
			big := &v1.IngestBatchRequest{}
			for i := range 700 {
				l := valid("big-" + strings.Repeat("0", 4-len(itoa(i))) + itoa(i))
				l.Attributes = map[string]string{}
				for k := range 10 {
					l.Attributes[strings.Repeat(string(rune('a'+k)), 64)] = strings.Repeat("v", 256)
				}
				big.Events = append(big.Events, &v1.OfflineEvent{Event: &v1.OfflineEvent_Launch{Launch: l}})
			}
			err = d.call(ctx, designKey, "IngestBatch", big, &v1.IngestBatchResponse{})
			require.Equal(t, codes.InvalidArgument, status.Code(err), "a batch over the size limit")

			e.ledger.down.Store(true)
			_, err = launch(designKey, valid("ledger-down"))
			e.ledger.down.Store(false)
			require.Equal(t, codes.Unavailable, status.Code(err), "ledger down")
			require.Positive(t, retryDelay(err), "with a retry hint")
		})
	}
}

func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"grpc", "http"} {
		t.Run(name, func(t *testing.T) {
			e := start(t, "", func(c *ingestion.Config) { c.RateLimit, c.RateBurst = 0.5, 2 })
			d := doors(t, e)[name]
			quote := func(key, team string) error {
				return d.call(t.Context(), key, "Quote", &v1.QuoteRequest{TeamId: team, UserId: "ann", ProductCode: "REVIT"}, &v1.QuoteResponse{})
			}
			require.NoError(t, quote(designKey, "design"))
			require.NoError(t, quote(designKey, "design"))
			err := quote(designKey, "design")
			require.Equal(t, codes.ResourceExhausted, status.Code(err), "the third call in a burst of two")
			require.Greater(t, retryDelay(err), time.Second, "says when to come back")
			require.NoError(t, quote(civilKey, "civil"), "another key has its own bucket")
		})
	}
}

// With JetStream gone, nothing is answered "authorized": the launch fails Unavailable.
func TestJetStreamDownIsUnavailable(t *testing.T) {
	t.Parallel()
	url, srv := testkitNATS(t)
	e := start(t, url, func(c *ingestion.Config) { c.AppendTimeout = 300 * time.Millisecond })
	srv.Shutdown()
	srv.WaitForShutdown()
	for name, d := range doors(t, e) {
		err := d.call(t.Context(), designKey, "Launch", &v1.LaunchRequest{EventId: id(name, "js-down"), TeamId: "design", UserId: "ann", ProductCode: "REVIT"}, &v1.LaunchResponse{})
		require.Equal(t, codes.Unavailable, status.Code(err), name)
		require.Positive(t, retryDelay(err), name)
	}
}

// A ledger that accepts the connection and never answers (hung, or cut off
// behind a load balancer) costs a launch at most -ledger-timeout (3 s by
// default), answered Unavailable with a retry hint, not its caller's
// deadline: it used to wait 10 s, past the 5 s deadline of the fault suite's
// launchers, and a launch queued behind the organisation's two calls in
// flight waited for them and then for its own.
func TestSilentLedgerIsUnavailableInTime(t *testing.T) {
	t.Parallel()
	silent, err := netListen()
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	e := start(t, "", func(c *ingestion.Config) { c.LedgerAddr = silent.Addr().String() })
	for name, d := range doors(t, e) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			began := time.Now()
			errs := make(chan error, 6)
			for i := range cap(errs) {
				go func() {
					errs <- d.call(ctx, designKey, "Launch", &v1.LaunchRequest{EventId: id(name, "silent-"+itoa(i)), TeamId: "design", UserId: "ann", ProductCode: "REVIT"}, &v1.LaunchResponse{})
				}()
			}
			for range cap(errs) {
				err := <-errs
				require.Equal(t, codes.Unavailable, status.Code(err), "%s: %v", name, err)
				require.Positive(t, retryDelay(err))
			}
			require.Less(t, time.Since(began), 4*time.Second)
		})
	}
}

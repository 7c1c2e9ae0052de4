package server

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/store"
)

// Only a failure of the event log tells a client to retry (Unavailable with
// a retry hint); an error nothing expects — a decision that panicked, a
// decided event the fold refuses, a bug — is Internal, its text kept out of
// the answer.
func TestOnlyLogFailuresAreUnavailable(t *testing.T) {
	ctx := t.Context()
	url, srv := testkit.NATS(t)
	nc, js, err := eventlog.Connect(ctx, testkit.Client(t, url, "ledger"), "errors-test", slog.New(slog.DiscardHandler),
		eventlog.Streams{Options: eventlog.StreamOptions{Replicas: 1}, Own: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	l := &Ledger{JS: js, Store: store.New(js, slog.New(slog.DiscardHandler)), Now: time.Now}
	admin := auth.WithPrincipal(ctx, auth.Principal{KeyID: "k", Org: "acme", Role: auth.RoleAdmin})
	assign := func(id string) error {
		_, err := l.AssignUser(admin, &v1.AssignUserRequest{EventId: id, TeamId: "design", UserId: "ann", ProductCodes: []string{"*"}})
		return err
	}
	require.NoError(t, assign("assign-1"))

	panicked := l.Store.Decide(ctx, "acme", "design", time.Now(), func(*pool.Pool) ([]*v1.Event, error) { panic("a bug") })
	internal := []error{
		panicked,
		fmt.Errorf("fold e1: %w: %w", pool.ErrRefused, pool.ErrInsufficient),
		errors.New("move mv-1 not found after recording it"),
	}
	for _, err := range internal {
		st := status.Convert(statusOf(err))
		require.Equal(t, codes.Internal, st.Code(), "%v", err)
		require.NotContains(t, st.Message(), err.Error())
	}

	testkit.StopNATS(t, srv)
	err = assign("assign-2")
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	var hinted bool
	for _, d := range status.Convert(err).Details() {
		_, hinted = d.(*errdetails.RetryInfo)
	}
	require.True(t, hinted, "Unavailable carries RetryInfo: %v", err)
}

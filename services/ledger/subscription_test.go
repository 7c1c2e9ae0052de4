package ledger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Named subscriptions through the gRPC contract: a granted user's launches
// are authorized by subscription without touching the pool (they need no
// Flex assignment); a retried grant changes nothing; revoking puts them back
// on tokens; only an admin may grant, revoke or list.
func TestSubscriptionsThroughGRPC(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := t.Context()
	launch := func(id, user string) *v1.LaunchResponse {
		t.Helper()
		resp, err := f.svc.Authorize(f.acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: user, ProductCode: "REVIT"}})
		require.NoError(t, err)
		return resp.GetResult()
	}
	grant := &v1.GrantSubscriptionRequest{EventId: "sub-sam-0001", TeamId: "design", UserId: "sam", ProductCodes: []string{"REVIT"},
		EndsAt: timestamppb.New(time.Now().Add(365 * 24 * time.Hour).Truncate(time.Second)), Reason: "daily Revit user"}
	for range 2 {
		resp, err := f.admin.GrantSubscription(ctx, grant)
		require.NoError(t, err)
		require.Len(t, resp.GetSubscriptions(), 1)
		require.Equal(t, grant.GetEndsAt().AsTime(), resp.GetSubscriptions()[0].GetEndsAt().AsTime())
	}
	require.Equal(t, 1, f.eventsWithID(t, "ledger.acme.design", "sub-sam-0001"), "a retried grant appends nothing")

	r := launch("launch-sam-0001", "sam")
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, r.GetDecision())
	require.True(t, r.GetBySubscription())
	require.Zero(t, r.GetTokensCharged())
	require.EqualValues(t, 50, f.available(t), "the pool is untouched")
	q, err := f.admin.QuoteLaunch(ctx, &v1.QuoteLaunchRequest{Quote: &v1.QuoteRequest{TeamId: "design", UserId: "sam", ProductCode: "REVIT"}})
	require.NoError(t, err)
	require.True(t, q.GetQuote().GetBySubscription())

	list, err := f.admin.ListSubscriptions(ctx, &v1.ListSubscriptionsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Len(t, list.GetSubscriptions(), 1)
	require.Equal(t, "sam", list.GetSubscriptions()[0].GetUserId())

	_, err = f.admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "assign-sam", TeamId: "design", UserId: "sam", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)
	left, err := f.admin.RevokeSubscription(ctx, &v1.RevokeSubscriptionRequest{EventId: "unsub-sam-0001", TeamId: "design", UserId: "sam"})
	require.NoError(t, err)
	require.Empty(t, left.GetSubscriptions())
	r = launch("launch-sam-0002", "sam")
	require.False(t, r.GetBySubscription())
	require.EqualValues(t, 10, r.GetTokensCharged(), "revoked: back on tokens")
	_, err = f.admin.RevokeSubscription(ctx, &v1.RevokeSubscriptionRequest{EventId: "unsub-sam-0002", TeamId: "design", UserId: "sam"})
	require.Equal(t, codes.NotFound, status.Code(err))

	// A merge carries the subscriptions in force into the target team.
	_, err = f.admin.GrantSubscription(ctx, &v1.GrantSubscriptionRequest{EventId: "sub-sam-0003", TeamId: "design", UserId: "sam", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)
	_, err = f.admin.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: "merge-design-0001", FromTeamId: "design", IntoTeamId: "civil"})
	require.NoError(t, err)
	civil, err := f.admin.ListSubscriptions(ctx, &v1.ListSubscriptionsRequest{TeamId: "civil"})
	require.NoError(t, err)
	require.Len(t, civil.GetSubscriptions(), 1)
	resp, err := f.svc.Authorize(f.acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-sam-0003", TeamId: "civil", UserId: "sam", ProductCode: "REVIT"}})
	require.NoError(t, err)
	require.True(t, resp.GetResult().GetBySubscription())

	_, err = f.svc.GrantSubscription(f.acme, grant)
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a service may not grant")
	_, err = f.svc.ListSubscriptions(f.acme, &v1.ListSubscriptionsRequest{TeamId: "design"})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}

func TestSubscriptionInputsAreBounded(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := t.Context()
	many := make([]string, 257)
	for i := range many {
		many[i] = "P"
	}
	for _, tc := range []struct {
		req   *v1.GrantSubscriptionRequest
		field string
	}{
		{&v1.GrantSubscriptionRequest{TeamId: "design", UserId: "sam", ProductCodes: []string{"REVIT"}}, "event_id"},
		{&v1.GrantSubscriptionRequest{EventId: "sub-0001", TeamId: "design", UserId: "sam"}, "product_codes"},
		{&v1.GrantSubscriptionRequest{EventId: "sub-0001", TeamId: "design", UserId: "sam", ProductCodes: many}, "product_codes"},
		{&v1.GrantSubscriptionRequest{EventId: "sub-0001", TeamId: "design", UserId: "sam", ProductCodes: []string{"*"}}, "product_codes"},
		{&v1.GrantSubscriptionRequest{EventId: "sub-0001", TeamId: "design", UserId: "bad user", ProductCodes: []string{"REVIT"}}, "user_id"},
		{&v1.GrantSubscriptionRequest{EventId: "sub-0001", TeamId: "design", UserId: "sam", ProductCodes: []string{"REVIT"},
			EndsAt: timestamppb.New(time.Now().Add(-time.Hour))}, "ends_at"},
		{&v1.GrantSubscriptionRequest{EventId: "sub-0001", TeamId: "design", UserId: "sam", ProductCodes: []string{"REVIT"},
			Reason: strings.Repeat("x", 513)}, "reason"},
	} {
		_, err := f.admin.GrantSubscription(ctx, tc.req)
		require.Equal(t, []string{tc.field}, badFields(t, err), "%v", tc.req)
	}
	_, err := f.admin.RevokeSubscription(ctx, &v1.RevokeSubscriptionRequest{EventId: "x", TeamId: "design", UserId: "sam"})
	require.Equal(t, []string{"event_id"}, badFields(t, err))
}

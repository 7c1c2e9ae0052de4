package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// PlanAssignments says row by row what bulk assignment would change, names
// the field of a refused row, and changes nothing.
func TestPlanAssignments(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	_, err := admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "assign-ann-0001", TeamId: "design", UserId: "ann", ProductCodes: []string{"REVIT", "ACAD"}})
	require.NoError(t, err)
	rows := []*v1.AssignmentRow{
		{TeamId: "design", UserId: "ann", ProductCodes: []string{"ACAD", "REVIT", "ACAD"}},
		{TeamId: "design", UserId: "ann", ProductCodes: []string{"*"}},
		{TeamId: "design", UserId: "bob", ProductCodes: []string{"REVIT"}},
		{TeamId: "design", UserId: "ann", Unassign: true},
		{TeamId: "design", UserId: "bob", Unassign: true},
		{TeamId: "design", UserId: "b.o.b", ProductCodes: []string{"REVIT"}},
		{TeamId: "design", UserId: "bob"},
	}
	plan, err := admin.PlanAssignments(ctx, &v1.PlanAssignmentsRequest{Rows: rows})
	require.NoError(t, err)
	var changes []string
	for _, p := range plan.GetPlans() {
		changes = append(changes, p.GetChange())
	}
	require.Equal(t, []string{"unchanged", "replace", "assign", "unassign", "unchanged", "invalid", "invalid"}, changes)
	require.Equal(t, []string{"ACAD", "REVIT"}, plan.GetPlans()[1].GetProductsNow())
	require.Contains(t, plan.GetPlans()[5].GetError(), "user_id")
	require.Contains(t, plan.GetPlans()[6].GetError(), "product_codes")

	again, err := admin.PlanAssignments(ctx, &v1.PlanAssignmentsRequest{Rows: rows})
	require.NoError(t, err)
	require.Equal(t, "assign", again.GetPlans()[2].GetChange(), "planning changed nothing")

	_, err = admin.PlanAssignments(ctx, &v1.PlanAssignmentsRequest{Rows: make([]*v1.AssignmentRow, 1001)})
	require.Equal(t, []string{"rows"}, badFields(t, err))
	_, err = client(t, r.svc.Addr(), viewerKey).PlanAssignments(ctx, &v1.PlanAssignmentsRequest{Rows: rows})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}

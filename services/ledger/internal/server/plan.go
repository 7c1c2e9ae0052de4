package server

import (
	"context"

	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// MaxPlanRows bounds the rows of one PlanAssignments call.
const MaxPlanRows = 1000

// planEventID stands in for the event id a planned row has not got, so the
// rows are checked by the same rules as AssignUser and UnassignUser.
const planEventID = "plan-row-00000000"

// PlanAssignments answers, row by row, what each assignment would change
// against the pools as they are, and why a row is refused; it changes
// nothing.
func (l *Ledger) PlanAssignments(ctx context.Context, req *v1.PlanAssignmentsRequest) (*v1.PlanAssignmentsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if n := len(req.GetRows()); n == 0 || n > MaxPlanRows {
		var bad grpcserver.Violations
		bad.Add("rows", "give 1 to %d rows, got %d", MaxPlanRows, n)
		return nil, bad.Err()
	}
	resp := &v1.PlanAssignmentsResponse{Plans: make([]*v1.AssignmentPlan, len(req.GetRows()))}
	for i, row := range req.GetRows() {
		plan := &v1.AssignmentPlan{Change: "invalid"}
		resp.Plans[i] = plan
		if err := checkRow(row); err != nil {
			plan.Error = status.Convert(err).Message()
			continue
		}
		if err := p.CheckTeam(row.GetTeamId()); err != nil {
			plan.Error = "team_id: this key may not act on team " + row.GetTeamId()
			continue
		}
		err := l.Store.Read(ctx, p.Org, row.GetTeamId(), func(pl *pool.Pool) {
			join, err := pl.PlanGroups(row.GetUserId(), row.GetGroupIds(), row.GetUnassign())
			if err != nil {
				plan.Error = err.Error()
				return
			}
			plan.Change, plan.ProductsNow = pl.PlanAssign(row.GetUserId(), row.GetProductCodes(), row.GetUnassign())
			plan.GroupsToJoin = join
		})
		if err != nil {
			return nil, statusOf(err)
		}
	}
	return resp, nil
}

// checkRow applies AssignUser's or UnassignUser's rules to a row.
func checkRow(row *v1.AssignmentRow) error {
	if row.GetUnassign() {
		return checkUnassign(&v1.UnassignUserRequest{EventId: planEventID, TeamId: row.GetTeamId(), UserId: row.GetUserId()})
	}
	return checkAssign(&v1.AssignUserRequest{EventId: planEventID, TeamId: row.GetTeamId(), UserId: row.GetUserId(), ProductCodes: row.GetProductCodes()})
}

package server

import (
	"context"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// groupRequest is what every user group change names.
type groupRequest interface {
	GetTeamId() string
	GetGroupId() string
	GetEventId() string
	GetReason() string
}

// CreateUserGroup makes a new, empty user group in a team.
func (l *Ledger) CreateUserGroup(ctx context.Context, req *v1.CreateUserGroupRequest) (*v1.CreateUserGroupResponse, error) {
	g, err := l.changeGroup(ctx, req, checkGroupFields(req, checkGroupName(req.GetName())), func(pl *pool.Pool, c pool.GroupChange) (*v1.Event, error) {
		return pl.DecideCreateGroup(c, req.GetName())
	})
	return &v1.CreateUserGroupResponse{Group: g}, err
}

// RenameUserGroup changes a group's name; its id stays.
func (l *Ledger) RenameUserGroup(ctx context.Context, req *v1.RenameUserGroupRequest) (*v1.RenameUserGroupResponse, error) {
	g, err := l.changeGroup(ctx, req, checkGroupFields(req, checkGroupName(req.GetName())), func(pl *pool.Pool, c pool.GroupChange) (*v1.Event, error) {
		return pl.DecideRenameGroup(c, req.GetName())
	})
	return &v1.RenameUserGroupResponse{Group: g}, err
}

// SetUserGroupProducts replaces the products a group's members may open.
func (l *Ledger) SetUserGroupProducts(ctx context.Context, req *v1.SetUserGroupProductsRequest) (*v1.SetUserGroupProductsResponse, error) {
	g, err := l.changeGroup(ctx, req, checkGroupProducts(req), func(pl *pool.Pool, c pool.GroupChange) (*v1.Event, error) {
		return pl.DecideGroupProducts(c, req.GetProductCodes())
	})
	return &v1.SetUserGroupProductsResponse{Group: g}, err
}

// ChangeUserGroupMembers adds users to a group and removes others.
func (l *Ledger) ChangeUserGroupMembers(ctx context.Context, req *v1.ChangeUserGroupMembersRequest) (*v1.ChangeUserGroupMembersResponse, error) {
	g, err := l.changeGroup(ctx, req, checkGroupMembers(req), func(pl *pool.Pool, c pool.GroupChange) (*v1.Event, error) {
		return pl.DecideGroupMembers(c, req.GetAddUserIds(), req.GetRemoveUserIds())
	})
	return &v1.ChangeUserGroupMembersResponse{Group: g}, err
}

// DeleteUserGroup removes a group with its members and budgets.
func (l *Ledger) DeleteUserGroup(ctx context.Context, req *v1.DeleteUserGroupRequest) (*v1.DeleteUserGroupResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkGroupFields(req, nil); err != nil {
		return nil, err
	}
	now, id := l.Now(), req.GetEventId()
	err = l.Store.Decide(ctx, p.Org, req.GetTeamId(), now, func(pl *pool.Pool) ([]*v1.Event, error) {
		if _, done := pl.Applied(id); done {
			return nil, nil
		}
		return pl.DecideDeleteGroup(pool.GroupChange{EventID: id, Group: req.GetGroupId(), Reason: req.GetReason(), At: now, Actor: actorOf(p)})
	})
	if err != nil {
		return nil, statusOf(err)
	}
	return &v1.DeleteUserGroupResponse{}, nil
}

// ListUserGroups lists a team's groups by id, a page at a time (the token
// holds the last group id).
func (l *Ledger) ListUserGroups(ctx context.Context, req *v1.ListUserGroupsRequest) (*v1.ListUserGroupsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	resp := &v1.ListUserGroupsResponse{}
	shown := l.Privacy.For(p.Org)
	err = l.readPoolPage(ctx, req.GetTeamId(), req, func(pl *pool.Pool, pg grpcserver.Page) {
		var page []pool.Group
		page, resp.NextPageToken = grpcserver.PageSlice(pg, pl.Groups(), func(g pool.Group) string { return g.ID })
		for _, g := range page {
			resp.Groups = append(resp.Groups, groupOf(req.GetTeamId(), g, shown.User))
		}
	}, "user groups")
	return resp, err
}

// changeGroup decides a change that passed its checks (invalid: their
// refusal) on the team's pool and answers the group as it stands.
func (l *Ledger) changeGroup(ctx context.Context, req groupRequest, invalid error, decide func(*pool.Pool, pool.GroupChange) (*v1.Event, error)) (*v1.UserGroup, error) {
	if invalid != nil {
		return nil, invalid
	}
	c := pool.GroupChange{EventID: req.GetEventId(), Group: req.GetGroupId(), Reason: req.GetReason()}
	err := l.assignment(ctx, req.GetTeamId(), req.GetEventId(), func(pl *pool.Pool, now time.Time, a *v1.Actor) (*v1.Event, error) {
		c.At, c.Actor = now, a
		return decide(pl, c)
	})
	if err != nil {
		return nil, err
	}
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *v1.UserGroup
	err = l.readPool(ctx, req.GetTeamId(), func(pl *pool.Pool) {
		if g, ok := pl.GroupByID(req.GetGroupId()); ok {
			out = groupOf(req.GetTeamId(), g, l.Privacy.For(p.Org).User)
		}
	})
	return out, err
}

func groupOf(team string, g pool.Group, user func(string) string) *v1.UserGroup {
	out := &v1.UserGroup{TeamId: team, GroupId: g.ID, Name: g.Name, ProductCodes: g.Products}
	for _, u := range g.Members {
		out.MemberIds = append(out.MemberIds, user(u))
	}
	return out
}

// checkGroupFields checks the fields every group change shares, adding
// them to bad.
func checkGroupFields(req groupRequest, bad grpcserver.Violations) error {
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	bad.Check("group_id", eventlog.CheckID("group_id", req.GetGroupId()))
	launchrules.CheckText(&bad, "reason", req.GetReason(), pool.MaxReasonLen)
	return bad.Err()
}

func checkGroupName(name string) grpcserver.Violations {
	var bad grpcserver.Violations
	addFieldErrors(&bad, pool.CheckGroupName(name))
	if !launchrules.Sane(name) {
		bad.Add("name", "must be printable text")
	}
	return bad
}

func checkGroupProducts(req *v1.SetUserGroupProductsRequest) error {
	var bad grpcserver.Violations
	addFieldErrors(&bad, pool.CheckGroupProducts(req.GetProductCodes()))
	checkCodes(&bad, req.GetProductCodes())
	return checkGroupFields(req, bad)
}

func checkGroupMembers(req *v1.ChangeUserGroupMembersRequest) error {
	var bad grpcserver.Violations
	addFieldErrors(&bad, pool.CheckGroupMembers(req.GetAddUserIds(), req.GetRemoveUserIds()))
	checkUsers(&bad, "add_user_ids", req.GetAddUserIds())
	checkUsers(&bad, "remove_user_ids", req.GetRemoveUserIds())
	return checkGroupFields(req, bad)
}

func checkCodes(bad *grpcserver.Violations, codes []string) {
	for _, c := range codes {
		if c != "*" && !eventlog.ValidID(c) {
			bad.Add("product_codes", "each must be a product code (1-64 letters, digits, '-' or '_') or \"*\"")
			return
		}
	}
}

func checkUsers(bad *grpcserver.Violations, field string, users []string) {
	for _, u := range users {
		if !eventlog.ValidID(u) {
			bad.Add(field, "each must be a user id (1-64 letters, digits, '-' or '_')")
			return
		}
	}
}

package server

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// Directory statuses.
const (
	statusAssigned   = "assigned"
	statusIdle       = "idle"
	statusUnassigned = "unassigned"
)

// ListUsers is the user directory of the organisation or one team, sorted
// and paged by the user id as shown: a pseudonymised organisation's page
// tokens hold pseudonyms, never a user id.
func (s *Server) ListUsers(ctx context.Context, req *v1.ListUsersRequest) (*v1.ListUsersResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	if team := req.GetTeamId(); team != "" {
		bad.Check("team_id", eventlog.CheckID("team_id", team))
	}
	pg := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "users", p.Org, req.GetTeamId())
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if err := p.CheckTeam(req.GetTeamId()); err != nil {
		return nil, errPermission(req.GetTeamId())
	}
	users, err := s.reports.Directory(ctx, p.Org, req.GetTeamId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	shown := s.privacy.For(p.Org)
	rows := make([]*v1.DirectoryUser, len(users))
	for i, u := range users {
		rows[i] = s.directoryUser(p.Org, u, shown)
	}
	slices.SortFunc(rows, func(a, b *v1.DirectoryUser) int { return strings.Compare(a.GetUserId(), b.GetUserId()) })
	page, next := grpcserver.PageSlice(pg, rows, func(u *v1.DirectoryUser) string { return u.GetUserId() })
	return &v1.ListUsersResponse{Users: page, NextPageToken: next}, nil
}

func (s *Server) directoryUser(org string, u query.DirectoryUser, shown *privacy.Shown) *v1.DirectoryUser {
	out := &v1.DirectoryUser{UserId: shown.User(u.UserID), Status: s.status(u)}
	if !u.LastDay.IsZero() {
		out.LastUsedAt = timestamppb.New(u.LastDay)
	}
	for _, a := range u.Assignments {
		out.Assignments = append(out.Assignments, &v1.UserAssignment{TeamId: a.TeamID, ProductCodes: a.Products,
			AssignedAt: timestamppb.New(a.AssignedAt)})
	}
	for _, g := range u.Groups {
		out.Groups = append(out.Groups, &v1.UserGroupMembership{TeamId: g.TeamID, GroupId: g.GroupID, Name: g.Name})
	}
	if shown.Raw() && s.profiles != nil {
		if pr, ok := s.profiles.Profile(org, u.UserID); ok {
			out.DisplayName, out.Email = pr.DisplayName, pr.Email
		}
	}
	return out
}

// status: a user assigned or in a user group (who may launch as if
// assigned) without a charge, an assignment or a joining within the idle
// days is idle.
func (s *Server) status(u query.DirectoryUser) string {
	if len(u.Assignments) == 0 && len(u.Groups) == 0 {
		return statusUnassigned
	}
	since := s.now().AddDate(0, 0, -s.idleDays)
	recent := u.LastDay.After(since)
	for _, a := range u.Assignments {
		recent = recent || a.AssignedAt.After(since)
	}
	for _, g := range u.Groups {
		recent = recent || g.JoinedAt.After(since)
	}
	if recent {
		return statusAssigned
	}
	return statusIdle
}

package server

import (
	"context"
	"errors"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
)

// ListRules returns the defaults and the rules of the teams asked for (or of
// every team of the organisation with settings of its own), a page of teams
// at a time in the order of their ids.
func (s *Server) ListRules(ctx context.Context, req *v1.ListRulesRequest) (*v1.ListRulesResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := checkIDs("team_ids", "team id", req.GetTeamIds())
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	page := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "ListRules", org, strings.Join(teams, ","))
	if err := bad.Err(); err != nil {
		return nil, err
	}
	resp := &v1.ListRulesResponse{Defaults: s.defaults.Proto()}
	byTeam := map[string]*v1.AlertRules{}
	if len(teams) == 0 {
		all, err := s.store.Settings.List(ctx, org)
		if err != nil {
			return nil, unavailable(ctx, "list rules", err)
		}
		for _, ts := range all {
			teams, byTeam[ts.Team] = append(teams, ts.Team), ts.Rules
		}
		slices.Sort(teams)
	}
	teams, resp.NextPageToken = grpcserver.PageSlice(page, teams, func(t string) string { return t })
	for _, team := range teams {
		settings, listed := byTeam[team]
		if !listed {
			settings, err = s.store.Settings.Get(ctx, org, team)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, unavailable(ctx, "get rules", err)
			}
		}
		resp.Teams = append(resp.Teams, s.teamRules(team, settings))
	}
	return resp, nil
}

// SetRules replaces a team's settings; the engine follows within moments.
func (s *Server) SetRules(ctx context.Context, req *v1.SetRulesRequest) (*v1.SetRulesResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := eventlog.CheckID("team id", req.GetTeamId()); err != nil {
		return nil, grpcserver.Invalid("team_id", "%s", err)
	}
	settings := req.GetSettings()
	if settings == nil {
		settings = &v1.AlertRules{}
	}
	if err := s.checkSettings(settings); err != nil {
		return nil, err
	}
	if err := s.store.Settings.Put(ctx, org, req.GetTeamId(), settings); err != nil {
		return nil, unavailable(ctx, "store rules", err)
	}
	return &v1.SetRulesResponse{Team: s.teamRules(req.GetTeamId(), settings)}, nil
}

func (s *Server) teamRules(team string, settings *v1.AlertRules) *v1.TeamRules {
	if settings == nil {
		settings = &v1.AlertRules{}
	}
	return &v1.TeamRules{TeamId: team, Settings: settings, Effective: rules.WithSettings(s.defaults, settings).Proto()}
}

// checkSettings names every bad setting of a team's settings over the defaults.
func (s *Server) checkSettings(settings *v1.AlertRules) error {
	if err := rules.WithSettings(s.defaults, settings).Validate(); err != nil {
		return settingsViolations(err)
	}
	return nil
}

// settingsViolations names each bad setting in a BadRequest.
func settingsViolations(err error) error {
	var v grpcserver.Violations
	for _, e := range unjoin(err) {
		var fe *rules.FieldError
		if errors.As(e, &fe) {
			v.Add("settings."+fe.Field, "%s", fe.Err.Error())
		}
	}
	if len(v) == 0 {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return v.Err()
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

package server

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
)

// ListRules returns the defaults and the rules of the teams asked for (or of
// every team of the organisation with settings of its own).
func (s *Server) ListRules(ctx context.Context, req *v1.ListRulesRequest) (*v1.ListRulesResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := checkIDs("team_ids", "team id", req.GetTeamIds())
	if err != nil {
		return nil, err
	}
	resp := &v1.ListRulesResponse{Defaults: s.defaults.Proto()}
	if len(teams) == 0 {
		all, err := s.store.Settings.List(ctx, org)
		if err != nil {
			return nil, unavailable(ctx, "list rules", err)
		}
		for _, ts := range all {
			resp.Teams = append(resp.Teams, s.teamRules(ts.Team, ts.Rules))
		}
		slices.SortFunc(resp.Teams, func(a, b *v1.TeamRules) int { return compare(a.GetTeamId(), b.GetTeamId()) })
		return resp, nil
	}
	for _, team := range teams {
		settings, err := s.store.Settings.Get(ctx, org, team)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, unavailable(ctx, "get rules", err)
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
		return nil, invalidField("team_id", err)
	}
	settings := req.GetSettings()
	if settings == nil {
		settings = &v1.AlertRules{}
	}
	if err := rules.WithSettings(s.defaults, settings).Validate(); err != nil {
		return nil, settingsViolations(err)
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

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

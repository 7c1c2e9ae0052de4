package server

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/forecast"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/planstore"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

var errNoPlans = status.Error(codes.FailedPrecondition, "planned projects are not kept by this server")

// teamPlans is a team's plan events, the plans in force they fold to (at
// today's rates) and the rates.
type teamPlans struct {
	events []*v1.Event
	plans  []recordedPlan
	rates  map[string]int64
}

func (s *Server) loadPlans(ctx context.Context, org, team string) (teamPlans, error) {
	var tp teamPlans
	var err error
	if tp.rates, err = s.reports.Rates(ctx, org, s.now()); err != nil {
		return tp, err
	}
	if s.plans == nil {
		return tp, nil
	}
	if tp.events, err = s.plans.Events(ctx, org, team); err != nil {
		return tp, err
	}
	specs := map[string]*v1.PlanSpec{}
	evs := make([]forecast.PlanEvent, 0, len(tp.events))
	for _, ev := range tp.events {
		pe := forecast.PlanEvent{EventID: ev.GetEventId(), At: ev.GetServerTime().AsTime(),
			Actor: ev.GetActor().GetKind() + ":" + ev.GetActor().GetId()}
		if r := ev.GetPlannedProjectRemoved(); r != nil {
			pe.PlanID, pe.Removed = r.GetPlanId(), true
		} else {
			spec := ev.GetPlannedProjectAdded().GetPlan()
			pe.PlanID, pe.Plan = ev.GetEventId(), planOf(ev.GetEventId(), spec, tp.rates)
			if _, ok := specs[pe.PlanID]; !ok {
				specs[pe.PlanID] = spec
			}
		}
		evs = append(evs, pe)
	}
	for _, rec := range forecast.FoldPlans(evs) {
		tp.plans = append(tp.plans, recordedPlan{team: team, rec: rec, spec: specs[rec.Plan.ID]})
	}
	return tp, nil
}

func (tp teamPlans) find(eventID string) *v1.Event {
	for _, ev := range tp.events {
		if ev.GetEventId() == eventID {
			return ev
		}
	}
	return nil
}

func (tp teamPlans) forecastPlans() []forecast.Plan {
	out := make([]forecast.Plan, len(tp.plans))
	for i, p := range tp.plans {
		out[i] = p.rec.Plan
	}
	return out
}

// AddPlannedProject records a team's planned project; its id is the event
// id, and a retry with that id answers the plan recorded.
func (s *Server) AddPlannedProject(ctx context.Context, req *v1.AddPlannedProjectRequest) (*v1.AddPlannedProjectResponse, error) {
	p, tp, err := s.planCall(ctx, req.GetEventId(), req.GetTeamId())
	if err != nil {
		return nil, err
	}
	if prior := tp.find(req.GetEventId()); prior != nil {
		added := prior.GetPlannedProjectAdded()
		if added == nil {
			return nil, reusedEventID()
		}
		rec := forecast.PlanRecord{Plan: planOf(prior.GetEventId(), added.GetPlan(), tp.rates), AddedAt: prior.GetServerTime().AsTime(),
			AddedBy: prior.GetActor().GetKind() + ":" + prior.GetActor().GetId()}
		return &v1.AddPlannedProjectResponse{Project: recordedPlan{team: req.GetTeamId(), rec: rec, spec: added.GetPlan()}.proto()}, nil
	}
	var bad grpcserver.Violations
	checkPlanSpec(&bad, "plan.", req.GetPlan(), tp.rates, dateOf(s.now()))
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if len(tp.plans) >= MaxPlans || len(tp.events) >= planstore.MaxEventsPerTeam {
		return nil, status.Errorf(codes.FailedPrecondition, "team %s has %d plans in force, the most a team may: remove one first",
			quote.Prefix(req.GetTeamId()), len(tp.plans))
	}
	ev := s.planEvent(p, req.GetEventId(), req.GetTeamId(), "planned_project_added")
	ev.Payload = &v1.Event_PlannedProjectAdded{PlannedProjectAdded: &v1.PlannedProjectAdded{Plan: req.GetPlan()}}
	if err := s.plans.Append(ctx, ev); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	rec := forecast.PlanRecord{Plan: planOf(req.GetEventId(), req.GetPlan(), tp.rates), AddedAt: ev.GetServerTime().AsTime(),
		AddedBy: ev.GetActor().GetKind() + ":" + ev.GetActor().GetId()}
	return &v1.AddPlannedProjectResponse{Project: recordedPlan{team: req.GetTeamId(), rec: rec, spec: req.GetPlan()}.proto()}, nil
}

// RemovePlannedProject withdraws a plan in force; a retry with the same
// event id answers the same.
func (s *Server) RemovePlannedProject(ctx context.Context, req *v1.RemovePlannedProjectRequest) (*v1.RemovePlannedProjectResponse, error) {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "plan_id", req.GetPlanId())
	if err := bad.Err(); err != nil {
		return nil, err
	}
	p, tp, err := s.planCall(ctx, req.GetEventId(), req.GetTeamId())
	if err != nil {
		return nil, err
	}
	if prior := tp.find(req.GetEventId()); prior != nil {
		if r := prior.GetPlannedProjectRemoved(); r != nil && r.GetPlanId() == req.GetPlanId() {
			return &v1.RemovePlannedProjectResponse{}, nil
		}
		return nil, reusedEventID()
	}
	if !slices.ContainsFunc(tp.plans, func(rp recordedPlan) bool { return rp.rec.Plan.ID == req.GetPlanId() }) {
		return nil, status.Errorf(codes.NotFound, "team %s has no plan %s in force", quote.Prefix(req.GetTeamId()), quote.Prefix(req.GetPlanId()))
	}
	ev := s.planEvent(p, req.GetEventId(), req.GetTeamId(), "planned_project_removed")
	ev.Payload = &v1.Event_PlannedProjectRemoved{PlannedProjectRemoved: &v1.PlannedProjectRemoved{PlanId: req.GetPlanId()}}
	if err := s.plans.Append(ctx, ev); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &v1.RemovePlannedProjectResponse{}, nil
}

// planCall checks a change's event id and team and loads the team's plans.
func (s *Server) planCall(ctx context.Context, eventID, team string) (auth.Principal, teamPlans, error) {
	p, err := caller(ctx)
	if err != nil {
		return p, teamPlans{}, err
	}
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", eventID)
	var chk query.Check
	chk.TeamID("team_id", team)
	if err := bad.Err(); err != nil {
		return p, teamPlans{}, err
	}
	if err := chk.Err(); err != nil {
		return p, teamPlans{}, s.toStatus(ctx, err)
	}
	if s.plans == nil {
		return p, teamPlans{}, errNoPlans
	}
	if err := p.CheckTeam(team); err != nil {
		return p, teamPlans{}, errPermission(team)
	}
	tp, err := s.loadPlans(ctx, p.Org, team)
	if err != nil {
		return p, tp, s.toStatus(ctx, err)
	}
	return p, tp, nil
}

func (s *Server) planEvent(p auth.Principal, id, team, typ string) *v1.Event {
	return &v1.Event{EventId: id, Type: typ, OrgId: p.Org, TeamId: team, ServerTime: timestamppb.New(s.now()),
		Actor: &v1.Actor{Kind: string(p.Role), Id: p.KeyID}}
}

func reusedEventID() error {
	var bad grpcserver.Violations
	bad.Add("event_id", "was already used for another change: make a new id")
	return bad.Err()
}

// ListPlannedProjects lists a team's plans in force, paged by plan id.
func (s *Server) ListPlannedProjects(ctx context.Context, req *v1.ListPlannedProjectsRequest) (*v1.ListPlannedProjectsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var chk query.Check
	chk.TeamID("team_id", req.GetTeamId())
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var bad grpcserver.Violations
	pg := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "plans", p.Org, req.GetTeamId())
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if err := p.CheckTeam(req.GetTeamId()); err != nil {
		return nil, errPermission(req.GetTeamId())
	}
	tp, err := s.loadPlans(ctx, p.Org, req.GetTeamId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	rows := make([]*v1.PlannedProject, len(tp.plans))
	for i, rp := range tp.plans {
		rows[i] = rp.proto()
	}
	slices.SortFunc(rows, func(a, b *v1.PlannedProject) int { return strings.Compare(a.GetPlanId(), b.GetPlanId()) })
	page, next := grpcserver.PageSlice(pg, rows, func(pp *v1.PlannedProject) string { return pp.GetPlanId() })
	return &v1.ListPlannedProjectsResponse{Projects: page, NextPageToken: next}, nil
}

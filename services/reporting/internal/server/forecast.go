package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/forecast"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// Forecast answers one team's forecast: burn rates, run-out date, tokens
// that will expire unspent, the term's month-by-month cumulative table and a
// renewal size. Pack balances come from the ledger when it answers, else from
// the projection.
func (s *Server) Forecast(ctx context.Context, req *v1.ForecastRequest) (*v1.ForecastResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var chk query.Check
	chk.TeamID("team_id", req.GetTeamId())
	month := chk.Month("term_start_month", req.GetTermStartMonth())
	chk.Tokens("term_tokens", req.GetTermTokens())
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	if err := p.CheckTeam(req.GetTeamId()); err != nil {
		return nil, errPermission(req.GetTeamId())
	}
	in, source, err := s.forecastInput(ctx, p.Org, req, month)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	if !req.GetExcludePlans() {
		tp, err := s.loadPlans(ctx, p.Org, req.GetTeamId())
		if err != nil {
			return nil, s.toStatus(ctx, err)
		}
		in.Plans = tp.forecastPlans()
	}
	resp := forecastResponse(forecast.Compute(in), in.TermTokens, source)
	resp.Plans = int32(len(in.Plans))
	return resp, nil
}

// EstimatePlan answers how many tokens a plan takes and when the team runs
// out with it and without it (its recorded plans in both).
func (s *Server) EstimatePlan(ctx context.Context, req *v1.EstimatePlanRequest) (*v1.EstimatePlanResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var chk query.Check
	chk.TeamID("team_id", req.GetTeamId())
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	if err := p.CheckTeam(req.GetTeamId()); err != nil {
		return nil, errPermission(req.GetTeamId())
	}
	tp, err := s.loadPlans(ctx, p.Org, req.GetTeamId())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var bad grpcserver.Violations
	plan := checkPlanSpec(&bad, "plan.", req.GetPlan(), tp.rates, dateOf(s.now()))
	if err := bad.Err(); err != nil {
		return nil, err
	}
	in, _, err := s.forecastInput(ctx, p.Org, &v1.ForecastRequest{TeamId: req.GetTeamId()}, time.Time{})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	in.Plans = tp.forecastPlans()
	without := forecast.Compute(in)
	in.Plans = append(in.Plans, plan)
	with := forecast.Compute(in)
	resp := &v1.EstimatePlanResponse{Estimate: estimateOf(plan), TokensAvailable: with.Available, Seasonal: with.Season.Seasonal,
		TokensExpiringUnspentWithoutPlan: without.ExpiringUnspent, TokensExpiringUnspentWithPlan: with.ExpiringUnspent}
	if !without.RunOut.IsZero() {
		resp.RunOutAtWithoutPlan = timestamppb.New(without.RunOut)
	}
	if !with.RunOut.IsZero() {
		resp.RunOutAtWithPlan = timestamppb.New(with.RunOut)
	}
	return resp, nil
}

// forecastInput gathers a team's daily totals and packs (from the ledger
// when it answers, else the projection; source says which) for the core.
func (s *Server) forecastInput(ctx context.Context, org string, req *v1.ForecastRequest, month time.Time) (forecast.Input, string, error) {
	now, zone := s.now().UTC(), s.zone(org)
	f := query.Filter{OrgID: org, TeamIDs: []string{req.GetTeamId()}, Zone: zone}
	today := f.Today(now)
	termStart := time.Date(today.Year(), today.Month()-11, 1, 0, 0, 0, 0, time.UTC)
	if !month.IsZero() {
		termStart = month
	}
	from := forecast.HistoryFrom(today)
	if termStart.Before(from) {
		from = termStart
	}
	days, err := s.reports.DailyTotals(ctx, f.WithRange(from, today))
	if err != nil {
		return forecast.Input{}, "", err
	}
	daily := make(map[time.Time]int64, len(days))
	for _, d := range days {
		daily[d.Day] = d.Tokens
	}
	projected, err := s.reports.Packs(ctx, f)
	if err != nil {
		return forecast.Input{}, "", err
	}
	termEnd := termStart.AddDate(1, 0, 0)
	termTokens := req.GetTermTokens()
	if termTokens == 0 {
		for _, pk := range projected {
			if !pk.AddedAt.Before(termStart) && pk.AddedAt.Before(termEnd) {
				termTokens += pk.Tokens
			}
		}
	}
	in := forecast.Input{Now: now, Zone: zone, Daily: daily, TermStart: termStart, TermTokens: termTokens}
	source := "projection"
	if b, err := s.balance(ctx, org, req.GetTeamId()); err == nil {
		source = "ledger"
		for _, pk := range b.GetPacks() {
			if !pk.GetExpired() && pk.GetRemaining() > 0 {
				in.Packs = append(in.Packs, forecast.Pack{Remaining: pk.GetRemaining(), ExpiresAt: pk.GetExpiresAt().AsTime()})
			}
		}
	} else {
		s.log.DebugContext(ctx, "forecast from projected packs", "team", req.GetTeamId(), "err", err)
		for _, pk := range projected {
			if pk.Remaining() > 0 && pk.ExpiresAt.After(now) {
				in.Packs = append(in.Packs, forecast.Pack{Remaining: pk.Remaining(), ExpiresAt: pk.ExpiresAt})
			}
		}
	}
	return in, source, nil
}

// forecastResponse is the core's forecast on the wire.
func forecastResponse(r forecast.Result, termTokens int64, source string) *v1.ForecastResponse {
	resp := &v1.ForecastResponse{
		BurnRate_30Days: round2(r.Burn30), BurnRate_90Days: round2(r.Burn90),
		TokensExpiringUnspent: r.ExpiringUnspent, SuggestedRenewal: r.Renewal, TokensAvailable: r.Available,
		TermTokens: termTokens, UsedLast_6Months: r.Used6, UsedLast_12Months: r.Used12, BalanceSource: source,
		Seasonal: r.Season.Seasonal, PlannedTokens: r.PlannedTokens, TokensExpiringUnspentWithoutPlans: r.ExpiringWithoutPlans,
	}
	if r.Season.Seasonal {
		resp.MonthFactors = round2s(r.Season.Months[:])
		resp.WeekdayFactors = round2s(r.Season.Weekdays[:])
	}
	if !r.RunOut.IsZero() {
		resp.RunOutAt = timestamppb.New(r.RunOut)
	}
	if !r.RunOutWithoutPlans.IsZero() {
		resp.RunOutAtWithoutPlans = timestamppb.New(r.RunOutWithoutPlans)
	}
	for _, m := range r.Months {
		row := &v1.ForecastMonth{
			Month: m.Start.Format("2006-01"), TokensUsed: m.Used, CumulativeTokens: m.Cumulative,
			CumulativePercent: m.Percent, Projected: m.Projected,
		}
		if !m.RunOut.IsZero() {
			row.ProjectedRunOutMonth = m.RunOut.Format("2006-01")
		}
		resp.Months = append(resp.Months, row)
	}
	return resp
}

func round2s(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round2(x)
	}
	return out
}

package server

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/forecast"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Bounds of a planned project (PlanSpec in the contract).
const (
	MaxPlanName     = 128
	MaxPlanUsers    = 10_000
	MaxPlanProducts = 64
	// MaxPlanDays bounds a plan's length; a plan starts at most
	// MaxPlanYears before or after today.
	MaxPlanDays  = 1096
	MaxPlanYears = 3
	// MaxPlans bounds a team's plans in force.
	MaxPlans = 100
)

// checkPlanSpec checks a plan against its bounds and the organisation's
// catalog (rates: the daily rate of each product) and returns it as the
// forecast core's plan. Fields are named under prefix ("plan.").
func checkPlanSpec(bad *grpcserver.Violations, prefix string, spec *v1.PlanSpec, rates map[string]int64, today time.Time) forecast.Plan {
	if spec == nil {
		bad.Add(prefix[:len(prefix)-1], "is required")
		return forecast.Plan{}
	}
	if spec.GetName() == "" {
		bad.Add(prefix+"name", "is required")
	} else {
		launchrules.CheckText(bad, prefix+"name", spec.GetName(), MaxPlanName)
	}
	if u := spec.GetUsers(); u < 1 || u > MaxPlanUsers {
		bad.Add(prefix+"users", "must be 1 to %d, not %d", MaxPlanUsers, u)
	}
	plan := forecast.Plan{Name: spec.GetName(), Users: spec.GetUsers(), DaysPerWeek: int(spec.GetDaysPerWeek()), Days: spec.GetDays()}
	plan.Start = planDate(bad, prefix+"start_date", spec.GetStartDate(), today)
	plan.End = planDate(bad, prefix+"end_date", spec.GetEndDate(), today)
	length := plan.CalendarDays()
	if !plan.Start.IsZero() && !plan.End.IsZero() {
		if length < 1 || length > MaxPlanDays {
			bad.Add(prefix+"end_date", "must be on or after start_date and at most %d days after it", MaxPlanDays-1)
		}
	}
	switch dpw, days := spec.GetDaysPerWeek(), spec.GetDays(); {
	case (dpw == 0) == (days == 0):
		bad.Add(prefix+"days_per_week", "give exactly one of days_per_week and days")
	case dpw != 0 && (dpw < 1 || dpw > 7):
		bad.Add(prefix+"days_per_week", "must be 1 to 7, not %d", dpw)
	case days != 0 && (days < 1 || (length > 0 && days > length) || days > MaxPlanDays):
		bad.Add(prefix+"days", "must be 1 to the plan's length in days, not %d", days)
	}
	plan.Products = planProducts(bad, prefix+"product_codes", spec.GetProductCodes(), rates)
	return plan
}

func planDate(bad *grpcserver.Violations, field, s string, today time.Time) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	switch {
	case err != nil:
		bad.Add(field, "%s is not a YYYY-MM-DD date", quote.Prefix(s))
		return time.Time{}
	case t.Before(today.AddDate(-MaxPlanYears, 0, 0)) || t.After(today.AddDate(MaxPlanYears, 0, 0)):
		bad.Add(field, "must be within %d years of today", MaxPlanYears)
		return time.Time{}
	}
	return t
}

func planProducts(bad *grpcserver.Violations, field string, codes []string, rates map[string]int64) []forecast.ProductRate {
	if len(codes) < 1 || len(codes) > MaxPlanProducts {
		bad.Add(field, "name 1 to %d products", MaxPlanProducts)
		return nil
	}
	seen := map[string]bool{}
	out := make([]forecast.ProductRate, 0, len(codes))
	for i, code := range codes {
		f := field + "[" + strconv.Itoa(i) + "]"
		rate, ok := rates[code]
		switch {
		case !subject.ValidID(code):
			bad.Add(f, "%s is not a product code: 1-64 letters, digits, '-' or '_'", quote.Prefix(code))
		case seen[code]:
			bad.Add(f, "%s is named twice", quote.Prefix(code))
		case !ok:
			bad.Add(f, "%s is not a product of the organisation's catalog", quote.Prefix(code))
		}
		seen[code] = true
		out = append(out, forecast.ProductRate{Code: code, Rate: rate})
	}
	return out
}

// planOf is a recorded spec as the core's plan, at today's rates (a
// product since dropped from the catalog counts 0).
func planOf(id string, spec *v1.PlanSpec, rates map[string]int64) forecast.Plan {
	p := forecast.Plan{ID: id, Name: spec.GetName(), Users: spec.GetUsers(), DaysPerWeek: int(spec.GetDaysPerWeek()), Days: spec.GetDays()}
	p.Start, _ = time.Parse(time.DateOnly, spec.GetStartDate())
	p.End, _ = time.Parse(time.DateOnly, spec.GetEndDate())
	for _, code := range spec.GetProductCodes() {
		p.Products = append(p.Products, forecast.ProductRate{Code: code, Rate: rates[code]})
	}
	return p
}

func estimateOf(p forecast.Plan) *v1.PlanEstimate {
	e := p.Estimate()
	out := &v1.PlanEstimate{Tokens: e.Tokens, DaysPerUser: e.DaysPerUser, UserDays: e.UserDays}
	for i, pr := range p.Products {
		out.Products = append(out.Products, &v1.PlanProductEstimate{ProductCode: pr.Code, DailyRate: pr.Rate, Tokens: e.PerProduct[i]})
	}
	return out
}

// recordedPlan is one plan in force on the wire.
type recordedPlan struct {
	team string
	rec  forecast.PlanRecord
	spec *v1.PlanSpec
}

func (r recordedPlan) proto() *v1.PlannedProject {
	return &v1.PlannedProject{PlanId: r.rec.Plan.ID, TeamId: r.team, Spec: r.spec, Estimate: estimateOf(r.rec.Plan),
		AddedAt: timestamppb.New(r.rec.AddedAt), AddedBy: r.rec.AddedBy}
}

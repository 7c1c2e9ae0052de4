// Package server holds reporting's gRPC handlers: the one place where errors
// become status codes.
package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/advice"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schedule"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/sessions"
)

// Profiles are the users' profiles as their organisation gave them (privacy.Directory).
type Profiles interface {
	Profile(org, user string) (privacy.Profile, bool)
}

// Zones are the organisations' time zones (privacy.Settings).
type Zones interface {
	Zone(org string) *time.Location
}

// Reports runs report queries (query.Reader).
type Reports interface {
	UsageByDay(ctx context.Context, f query.Filter) ([]query.DayUsage, error)
	DailyTotals(ctx context.Context, f query.Filter) ([]query.DayTotal, error)
	PoolMoves(ctx context.Context, f query.Filter) (added, removed int64, err error)
	ProductTotals(ctx context.Context, f query.Filter, p query.ProductScope, o query.Order) ([]query.ProductTotal, error)
	ProductUsers(ctx context.Context, f query.Filter, codes []string) ([]query.ProductUser, error)
	ProductVersions(ctx context.Context, f query.Filter, codes []string) ([]query.VersionUse, error)
	UserTotals(ctx context.Context, f query.Filter, products []string, o query.Order, after *query.Cursor) ([]query.UserTotal, error)
	Totals(ctx context.Context, f query.Filter, products []string) (users uint64, tokens int64, err error)
	SameDay(ctx context.Context, f query.Filter, users, products []string) ([]query.UserDay, error)
	UserProductUse(ctx context.Context, f query.Filter, users, products []string) ([]query.ProductUser, error)
	LastUse(ctx context.Context, f query.Filter, users []string) (map[string]time.Time, error)
	AttributeValues(ctx context.Context, f query.Filter, key string, limit int) ([]query.AttributeUse, error)
	AttributeProducts(ctx context.Context, f query.Filter, key string) ([]query.AttributeUse, error)
	AttributeCoverage(ctx context.Context, f query.Filter, key string) (total, unattributed int64, err error)
	Packs(ctx context.Context, f query.Filter) ([]query.Pack, error)
	MonthlyUse(ctx context.Context, f query.Filter) ([]query.MonthUse, error)
	Assignees(ctx context.Context, f query.Filter) ([]query.Assignee, error)
	EachCharge(ctx context.Context, f query.Filter, fn func(*query.Charge) error) error
	UserTeamUse(ctx context.Context, f query.Filter) ([]query.TeamUserUse, error)
	SessionTimes(ctx context.Context, f query.Filter, users []string, maxGap time.Duration) (map[string]query.UserSessions, error)
	BudgetEvents(ctx context.Context, f query.Filter) ([]query.BudgetEvent, error)
	BudgetSpend(ctx context.Context, f query.Filter, budgets []query.BudgetCharges) ([]int64, error)
	DenialGroups(ctx context.Context, d query.DenialScope, g query.DenialGroup) ([]query.DenialCount, error)
	DenialReasons(ctx context.Context, d query.DenialScope, g query.DenialGroup) ([]query.DenialCount, error)
	DenialList(ctx context.Context, d query.DenialScope, before *query.DenialPos, limit int) ([]query.Denial, error)
	EachDenial(ctx context.Context, d query.DenialScope, fn func(*query.DenialRow) error) error
	SessionList(ctx context.Context, f query.Filter, products []string, maxGap time.Duration, limit int) ([]sessions.Session, error)
	WindowCharges(ctx context.Context, f query.Filter, products []string, limit int) ([]sessions.Charge, error)
	Directory(ctx context.Context, org, team string) ([]query.DirectoryUser, error)
	Spend(ctx context.Context, f query.Filter, g query.SpendGroup, attrKey string) ([]query.SpendAmount, error)
	ExpiredValue(ctx context.Context, f query.Filter) ([]query.SpendAmount, error)
	CapacityUsage(ctx context.Context, s query.CapacityScope) ([]query.CapacityUse, error)
	SubscriptionUses(ctx context.Context, f query.Filter) ([]query.SubscriptionUse, error)
	Subscriptions(ctx context.Context, f query.Filter, at time.Time) ([]query.Subscribed, error)
	UseTotals(ctx context.Context, f query.Filter) (query.UseTotals, error)
	Rates(ctx context.Context, org string, at time.Time) (map[string]int64, error)
}

// Plans is the store of planned-project events (planstore.Store).
type Plans interface {
	Append(ctx context.Context, ev *v1.Event) error
	Events(ctx context.Context, org, team string) ([]*v1.Event, error)
}

// Balances reads pools' balances from the ledger (balance.Ledger).
type Balances interface {
	Balance(ctx context.Context, org, team string) (*v1.Balance, error)
}

// Options are the server's collaborators and settings; zero values take
// defaults.
type Options struct {
	Reports Reports
	// Balances is nil when no ledger is configured: remaining tokens are
	// then reported unknown and forecasts use the projected packs.
	Balances Balances
	// Plans is nil when planned projects are not kept: the plan calls are
	// then FailedPrecondition and forecasts hold no plans.
	Plans   Plans
	Privacy *privacy.Policy
	// Profiles are the users' display names and e-mail addresses (nil: none).
	Profiles Profiles
	// Zones are the time zones report dates follow (nil: UTC for all).
	Zones  Zones
	Advice advice.Config
	// Buckets are the upper bounds of the token buckets (default 100, 500, 1000).
	Buckets []int64
	// IdleDays without a charge make an assigned user idle (default 90).
	IdleDays int
	// SessionMaxGap is the most one gap between a session's events counts
	// as active or idle time (default 15 minutes).
	SessionMaxGap time.Duration
	// Schedules keeps the report schedules (nil: no mail, so none);
	// ScheduleCreated is told of each new one.
	Schedules       *schedule.Store
	ScheduleCreated func()
	Log             *slog.Logger
	Now             func() time.Time
}

// Server implements tokenmeter.v1.ReportingService.
type Server struct {
	v1.UnimplementedReportingServiceServer
	reports   Reports
	balances  Balances
	plans     Plans
	privacy   *privacy.Policy
	profiles  Profiles
	zones     Zones
	advice    advice.Config
	buckets   []int64
	idleDays  int
	maxGap    time.Duration
	schedules *schedule.Store
	created   func()
	log       *slog.Logger
	now       func() time.Time
}

// New returns the handlers; now is the clock that anchors date presets.
func New(reports Reports, log *slog.Logger, now func() time.Time) *Server {
	return NewWith(Options{Reports: reports, Log: log, Now: now})
}

// NewWith returns the handlers built from o.
func NewWith(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Privacy == nil {
		o.Privacy = privacy.New("", privacy.Fixed(true))
	}
	if len(o.Buckets) == 0 {
		o.Buckets = []int64{100, 500, 1000}
	}
	if o.IdleDays <= 0 {
		o.IdleDays = 90
	}
	if o.SessionMaxGap <= 0 {
		o.SessionMaxGap = 15 * time.Minute
	}
	return &Server{reports: o.Reports, balances: o.Balances, plans: o.Plans, privacy: o.Privacy, profiles: o.Profiles, zones: o.Zones, advice: o.Advice,
		buckets: o.Buckets, idleDays: o.IdleDays, maxGap: o.SessionMaxGap, schedules: o.Schedules, created: o.ScheduleCreated, log: o.Log, now: o.Now}
}

// caller returns the authenticated principal; every query is confined to its org.
func caller(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Org == "" || p.Org == auth.AnyOrg {
		return auth.Principal{}, status.Error(codes.Unauthenticated, "no caller organisation")
	}
	return p, nil
}

// filter validates a report's teams and range for the caller.
func (s *Server) filter(ctx context.Context, teamIDs []string, r *v1.UsageRange) (query.Filter, error) {
	p, err := caller(ctx)
	if err != nil {
		return query.Filter{}, err
	}
	f, err := query.NewFilterIn(p.Org, teamIDs, rangeSpec(r), s.now(), s.zone(p.Org))
	if err != nil {
		return query.Filter{}, s.toStatus(ctx, err)
	}
	for _, team := range f.TeamIDs {
		if err := p.CheckTeam(team); err != nil {
			return query.Filter{}, errPermission(team)
		}
	}
	return f, nil
}

// zone is the time zone org's report dates follow.
func (s *Server) zone(org string) *time.Location {
	if s.zones == nil {
		return time.UTC
	}
	return s.zones.Zone(org)
}

// invalid is an InvalidArgument naming field.
func invalid(field, format string, args ...any) error {
	return grpcserver.Invalid(field, format, args...)
}

// order maps a request's sort and limit.
func order(by v1.SortBy, asc bool, limit int32) query.Order {
	o := query.Order{Asc: asc, Limit: int(max(limit, 0))}
	switch by {
	case v1.SortBy_SORT_BY_USERS:
		o.By = query.SortUsers
	case v1.SortBy_SORT_BY_DAYS_USED:
		o.By = query.SortDaysUsed
	case v1.SortBy_SORT_BY_LAST_USED:
		o.By = query.SortLastUsed
	case v1.SortBy_SORT_BY_NAME:
		o.By = query.SortName
	default:
		o.By = query.SortTokens
	}
	return o
}

func errPermission(team string) error {
	return status.Errorf(codes.PermissionDenied, "this key may not read team %s", quote.Prefix(team))
}

func rangeSpec(r *v1.UsageRange) query.RangeSpec {
	spec := query.RangeSpec{FromDate: r.GetFromDate(), ToDate: r.GetToDate()}
	switch r.GetPreset() {
	case v1.RangePreset_RANGE_PRESET_UNSPECIFIED:
		spec.Preset = query.PresetNone
	case v1.RangePreset_RANGE_PRESET_THIS_MONTH:
		spec.Preset = query.PresetThisMonth
	case v1.RangePreset_RANGE_PRESET_LAST_3_MONTHS:
		spec.Preset = query.PresetLast3Months
	case v1.RangePreset_RANGE_PRESET_LAST_6_MONTHS:
		spec.Preset = query.PresetLast6Months
	case v1.RangePreset_RANGE_PRESET_LAST_9_MONTHS:
		spec.Preset = query.PresetLast9Months
	case v1.RangePreset_RANGE_PRESET_LAST_12_MONTHS:
		spec.Preset = query.PresetLast12Months
	default:
		spec.Preset = query.Preset(-1) // reported as an unknown preset
	}
	return spec
}

// toStatus maps an error to a gRPC status; unexpected errors are logged and
// hidden behind Internal.
func (s *Server) toStatus(ctx context.Context, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	var inv *query.InvalidError
	switch {
	case errors.As(err, &inv):
		var bad grpcserver.Violations
		for _, v := range inv.Violations {
			bad.Add(v.Field, "%s", v.Description)
		}
		return bad.Err()
	case errors.Is(err, query.ErrAmountTooLarge):
		return status.Error(codes.OutOfRange, "an amount is too large to report in millionths of its currency")
	case errors.Is(err, errNoLedger):
		return status.Error(codes.FailedPrecondition, "no ledger is configured: the balance is unknown")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case query.Unreachable(err):
		s.log.WarnContext(ctx, "report refused: clickhouse unreachable", "err", err)
		return grpcserver.Retryable(codes.Unavailable, time.Second, "the report database is unreachable; retry shortly")
	default:
		s.log.ErrorContext(ctx, "report failed", "err", err)
		return status.Error(codes.Internal, "report failed")
	}
}

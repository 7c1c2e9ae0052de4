// Package server holds reporting's gRPC handlers: the one place where errors
// become status codes.
package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// Reports runs report queries.
type Reports interface {
	UsageByDay(ctx context.Context, f query.Filter) ([]query.DayUsage, error)
}

// Server implements tokenmeter.v1.ReportingService. RPCs not yet built
// answer Unimplemented.
type Server struct {
	v1.UnimplementedReportingServiceServer
	reports Reports
	log     *slog.Logger
	now     func() time.Time
}

// New returns the handlers; now is the clock that anchors date presets.
func New(reports Reports, log *slog.Logger, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{reports: reports, log: log, now: now}
}

// Policy lets admins and services call every ReportingService method.
func Policy() auth.Policy {
	pol := auth.Policy{}
	desc := v1.ReportingService_ServiceDesc
	roles := []auth.Role{auth.RoleAdmin, auth.RoleService}
	for _, m := range desc.Methods {
		pol["/"+desc.ServiceName+"/"+m.MethodName] = roles
	}
	for _, s := range desc.Streams {
		pol["/"+desc.ServiceName+"/"+s.StreamName] = roles
	}
	return pol
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
	f, err := query.NewFilter(p.Org, teamIDs, rangeSpec(r), s.now())
	if err != nil {
		return query.Filter{}, s.toStatus(ctx, err)
	}
	for _, team := range f.TeamIDs {
		if err := p.CheckTeam(team); err != nil {
			return query.Filter{}, status.Errorf(codes.PermissionDenied, "this key may not read team %q", team)
		}
	}
	return f, nil
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
		br := &errdetails.BadRequest{}
		for _, v := range inv.Violations {
			br.FieldViolations = append(br.FieldViolations,
				&errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		st := status.New(codes.InvalidArgument, inv.Error())
		if withDetails, derr := st.WithDetails(br); derr == nil {
			st = withDetails
		}
		return st.Err()
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	default:
		s.log.ErrorContext(ctx, "report failed", "err", err)
		return status.Error(codes.Internal, "report failed")
	}
}

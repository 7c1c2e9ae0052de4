package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schedule"
)

// Bounds of report schedules.
const (
	// MaxSchedules is the most schedules one organisation keeps.
	MaxSchedules = 50
	// maxScheduleTeams is the most teams one schedule names.
	maxScheduleTeams = 100
)

// errNoSchedules answers the schedule RPCs of a server without mail.
var errNoSchedules = status.Error(codes.FailedPrecondition, "this reporting service sends no e-mail: its operator sets -smtp-addr")

// CreateReportSchedule records a schedule with the caller as its actor.
func (s *Server) CreateReportSchedule(ctx context.Context, req *v1.CreateReportScheduleRequest) (*v1.CreateReportScheduleResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if s.schedules == nil {
		return nil, errNoSchedules
	}
	sch := proto.CloneOf(req.GetSchedule())
	if sch == nil {
		sch = &v1.ReportSchedule{}
	}
	if sch.GetScheduleId() == "" {
		sch.ScheduleId = "rs-" + strings.ToLower(rand.Text()[:12])
	}
	if sch.GetFormat() == v1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED {
		sch.Format = v1.ExportFormat_EXPORT_FORMAT_CSV
	}
	if err := checkSchedule(sch); err != nil {
		return nil, err
	}
	existing, err := s.schedules.List(ctx, p.Org)
	if err != nil {
		return nil, s.toStatus(ctx, fmt.Errorf("list schedules: %w", err))
	}
	if len(existing) >= MaxSchedules {
		return nil, status.Errorf(codes.ResourceExhausted, "the organisation has %d schedules, the most it may have: delete one first", MaxSchedules)
	}
	actor := &v1.Actor{Kind: string(p.Role), Id: p.KeyID}
	switch err := s.schedules.Create(ctx, p.Org, sch, actor); {
	case errors.Is(err, schedule.ErrExists):
		return nil, status.Errorf(codes.AlreadyExists, "schedule %s exists: delete it first", sch.GetScheduleId())
	case err != nil:
		return nil, s.toStatus(ctx, fmt.Errorf("create schedule: %w", err))
	}
	sch.CreatedBy = p.KeyID
	if s.created != nil {
		s.created()
	}
	return &v1.CreateReportScheduleResponse{Schedule: sch}, nil
}

// checkSchedule names every bad field of a schedule to create; the fields
// the server sets are cleared.
func checkSchedule(sch *v1.ReportSchedule) error {
	sch.CreatedBy, sch.CreatedAt, sch.LastPeriod, sch.LastState, sch.LastAt, sch.LastError = "", nil, "", "", nil, ""
	var v grpcserver.Violations
	v.Check("schedule.schedule_id", eventlog.CheckID("schedule id", sch.GetScheduleId()))
	if _, ok := v1.ScheduledReport_name[int32(sch.GetReport())]; !ok || sch.GetReport() == v1.ScheduledReport_SCHEDULED_REPORT_UNSPECIFIED {
		v.Add("schedule.report", "must be usage summary, forecast or expiring packs, got %d", sch.GetReport())
	}
	if _, ok := v1.SchedulePeriod_name[int32(sch.GetPeriod())]; !ok || sch.GetPeriod() == v1.SchedulePeriod_SCHEDULE_PERIOD_UNSPECIFIED {
		v.Add("schedule.period", "must be monthly or weekly, got %d", sch.GetPeriod())
	}
	if f := sch.GetFormat(); f != v1.ExportFormat_EXPORT_FORMAT_CSV && f != v1.ExportFormat_EXPORT_FORMAT_XLSX {
		v.Add("schedule.format", "must be csv or xlsx, got %d", f)
	}
	if n := len(sch.GetTeamIds()); n < 1 || n > maxScheduleTeams {
		v.Add("schedule.team_ids", "must name 1 to %d teams, got %d", maxScheduleTeams, n)
	} else {
		for i, t := range sch.GetTeamIds() {
			v.Check(fmt.Sprintf("schedule.team_ids[%d]", i), eventlog.CheckID("team id", t))
		}
	}
	if err := email.CheckRecipients(sch.GetRecipients()); err != nil {
		v.Add("schedule.recipients", "%v", err)
	}
	return v.Err()
}

// ListReportSchedules lists the organisation's schedules by id, each with its last delivery.
func (s *Server) ListReportSchedules(ctx context.Context, req *v1.ListReportSchedulesRequest) (*v1.ListReportSchedulesResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	page := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "ListReportSchedules", p.Org)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if s.schedules == nil {
		return &v1.ListReportSchedulesResponse{}, nil
	}
	entries, err := s.schedules.List(ctx, p.Org)
	if err != nil {
		return nil, s.toStatus(ctx, fmt.Errorf("list schedules: %w", err))
	}
	list := make([]*v1.ReportSchedule, 0, len(entries))
	for _, e := range entries {
		list = append(list, e.Schedule)
	}
	key := func(r *v1.ReportSchedule) string { return r.GetScheduleId() }
	slices.SortFunc(list, func(a, b *v1.ReportSchedule) int { return strings.Compare(key(a), key(b)) })
	resp := &v1.ListReportSchedulesResponse{}
	resp.Schedules, resp.NextPageToken = grpcserver.PageSlice(page, list, key)
	return resp, nil
}

// DeleteReportSchedule deletes a schedule, recording the caller as the actor.
func (s *Server) DeleteReportSchedule(ctx context.Context, req *v1.DeleteReportScheduleRequest) (*v1.DeleteReportScheduleResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v grpcserver.Violations
	v.Check("schedule_id", eventlog.CheckID("schedule id", req.GetScheduleId()))
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.schedules == nil {
		return nil, errNoSchedules
	}
	switch err := s.schedules.Delete(ctx, p.Org, req.GetScheduleId(), &v1.Actor{Kind: string(p.Role), Id: p.KeyID}); {
	case errors.Is(err, schedule.ErrNotFound):
		return nil, status.Errorf(codes.NotFound, "no schedule %s", req.GetScheduleId())
	case err != nil:
		return nil, s.toStatus(ctx, fmt.Errorf("delete schedule: %w", err))
	}
	return &v1.DeleteReportScheduleResponse{}, nil
}

package server

import (
	"context"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// GetUsageByDay answers tokens charged per day (the day each window started)
// and product, for the caller's organisation only.
func (s *Server) GetUsageByDay(ctx context.Context, req *v1.GetUsageByDayRequest) (*v1.GetUsageByDayResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	days, err := s.reports.UsageByDay(ctx, f)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetUsageByDayResponse{
		FromDate: f.From.Format(query.DateLayout),
		ToDate:   f.To.Format(query.DateLayout),
		Days:     make([]*v1.DayUsage, 0, len(days)),
	}
	for _, d := range days {
		resp.Days = append(resp.Days, &v1.DayUsage{
			Day:         d.Day.Format(query.DateLayout), // a Date decodes as midnight in its own zone
			ProductCode: d.ProductCode,
			Tokens:      d.Tokens,
			Charges:     int64(d.Charges),
		})
		resp.TotalTokens += d.Tokens
	}
	return resp, nil
}

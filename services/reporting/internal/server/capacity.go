package server

import (
	"context"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

var capacityBuckets = map[v1.CapacityBucket]query.CapacityBucket{
	v1.CapacityBucket_CAPACITY_BUCKET_UNSPECIFIED: query.BucketDay,
	v1.CapacityBucket_CAPACITY_BUCKET_DAY:         query.BucketDay,
	v1.CapacityBucket_CAPACITY_BUCKET_WEEK:        query.BucketWeek,
	v1.CapacityBucket_CAPACITY_BUCKET_MONTH:       query.BucketMonth,
}

// GetCapacityUsage answers one capacity product's use by day, week or
// month (seed 004's "view usage details"), every bucket of the range listed.
func (s *Server) GetCapacityUsage(ctx context.Context, req *v1.GetCapacityUsageRequest) (*v1.GetCapacityUsageResponse, error) {
	var chk query.Check
	chk.TeamID("team_id", req.GetTeamId())
	bucket, ok := capacityBuckets[req.GetBucket()]
	if !ok {
		chk.Invalid("bucket", "unknown bucket %d", int32(req.GetBucket()))
	}
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	f, err := s.filter(ctx, []string{req.GetTeamId()}, req.GetRange())
	if err != nil {
		return nil, err
	}
	sc := query.CapacityScope{Filter: f, Product: req.GetProductCode(), Bucket: bucket}
	chk.CapacityScope(sc)
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	rows, err := s.reports.CapacityUsage(ctx, sc)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetCapacityUsageResponse{Bucket: req.GetBucket(), FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout)}
	if resp.Bucket == v1.CapacityBucket_CAPACITY_BUCKET_UNSPECIFIED {
		resp.Bucket = v1.CapacityBucket_CAPACITY_BUCKET_DAY
	}
	for _, r := range rows {
		resp.Buckets = append(resp.Buckets, &v1.CapacityUsageBucket{StartDate: r.Start.Format(query.DateLayout),
			UnitsUsed: r.Used, UnitsReturned: r.Returned, Uses: r.Uses, Users: int64(r.Users)})
		resp.UnitsUsed += r.Used
		resp.UnitsReturned += r.Returned
		resp.Uses += r.Uses
	}
	return resp, nil
}

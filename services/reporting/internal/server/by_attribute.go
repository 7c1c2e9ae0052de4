package server

import (
	"context"

	"golang.org/x/sync/errgroup"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// GetUsageByAttribute answers tokens per value of one launch attribute
// (project, cost centre …): the chargeback report.
func (s *Server) GetUsageByAttribute(ctx context.Context, req *v1.GetUsageByAttributeRequest) (*v1.GetUsageByAttributeResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	key := req.GetAttributeKey()
	var chk query.Check
	chk.AttributeKey("attribute_key", key)
	chk.Limit("limit", req.GetLimit())
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	// The three queries are independent: side by side they cost one.
	var (
		values, perProduct  []query.AttributeUse
		total, unattributed int64
		g, gctx             = errgroup.WithContext(ctx)
	)
	g.Go(func() (err error) {
		values, err = s.reports.AttributeValues(gctx, f, key, int(req.GetLimit()))
		return err
	})
	g.Go(func() (err error) { perProduct, err = s.reports.AttributeProducts(gctx, f, key); return err })
	g.Go(func() (err error) { total, unattributed, err = s.reports.AttributeCoverage(gctx, f, key); return err })
	if err := g.Wait(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetUsageByAttributeResponse{
		AttributeKey: key, TotalTokens: total, UnattributedTokens: unattributed,
		FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
	}
	byValue := map[string]*v1.AttributeUsage{}
	shown := s.privacy.For(f.OrgID)
	for _, v := range values {
		av := &v1.AttributeUsage{Value: shown.Value(key, v.Value), Tokens: v.Tokens, Charges: int64(v.Charges), Users: int64(v.Users)}
		byValue[v.Value] = av
		resp.Values = append(resp.Values, av)
	}
	for _, p := range perProduct {
		if av := byValue[p.Value]; av != nil {
			av.ByProduct = append(av.ByProduct, &v1.ProductUsage{ProductCode: p.Code, Tokens: p.Tokens, Users: int64(p.Users), Charges: int64(p.Charges)})
		}
	}
	return resp, nil
}

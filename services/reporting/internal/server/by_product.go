package server

import (
	"context"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// defaultUserLimit bounds the users listed per product when none is asked.
const defaultUserLimit = 100

// GetUsageByProduct answers the by-product report: total tokens and products
// used; per product its tokens, users, average tokens per month (total ÷
// months of the range, ended or not), users per token bucket, users per
// version, and each user's tokens and monthly average; and product groups.
func (s *Server) GetUsageByProduct(ctx context.Context, req *v1.GetUsageByProductRequest) (*v1.GetUsageByProductResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	var chk query.Check
	chk.Products("product_codes", req.GetProductCodes())
	chk.Group("product_group", req.GetProductGroup())
	chk.Limit("limit", req.GetLimit())
	chk.Limit("user_limit", req.GetUserLimit())
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	scope := query.ProductScope{Codes: req.GetProductCodes(), Group: req.GetProductGroup()}
	o := order(req.GetSortBy(), req.GetAscending(), 0)
	products, err := s.reports.ProductTotals(ctx, f, scope, o)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	months := f.Months()
	resp := &v1.GetUsageByProductResponse{
		FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
		Months: int32(months), ProductsUsed: int64(len(products)), Groups: groups(products),
	}
	for _, p := range products {
		resp.TotalTokens += p.Tokens
	}
	if limit := int(req.GetLimit()); limit > 0 && len(products) > limit {
		products = products[:limit]
	}
	if len(products) == 0 {
		return resp, nil
	}
	codes := make([]string, len(products))
	for i, p := range products {
		codes[i] = p.Code
	}
	users, err := s.reports.ProductUsers(ctx, f, codes)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	versions, err := s.reports.ProductVersions(ctx, f, codes)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	userLimit := int(req.GetUserLimit())
	if userLimit == 0 {
		userLimit = defaultUserLimit
	}
	resp.Products = s.productRows(products, users, versions, months, userLimit, s.privacy.Users(f.OrgID))
	return resp, nil
}

// productRows builds the by-product report's rows: per product its users
// per token bucket, its first userLimit users (highest first), its versions.
func (s *Server) productRows(products []query.ProductTotal, users []query.ProductUser, versions []query.VersionUse,
	months, userLimit int, show func(string) string) []*v1.ProductUsage {
	out := make([]*v1.ProductUsage, 0, len(products))
	byCode := map[string]*v1.ProductUsage{}
	for _, p := range products {
		pu := s.productUsage(p, months)
		byCode[p.Code] = pu
		out = append(out, pu)
	}
	for _, u := range users { // highest first per product
		pu := byCode[u.Code]
		if pu == nil {
			continue
		}
		pu.TokenBuckets[bucketOf(s.buckets, u.Tokens)].Users++
		if len(pu.UserUsage) < userLimit {
			pu.UserUsage = append(pu.UserUsage, &v1.ProductUser{
				UserId: show(u.UserID), Tokens: u.Tokens, DaysUsed: int64(u.Days),
				AverageTokensPerMonth: round2(float64(u.Tokens) / float64(months)),
			})
		}
	}
	for _, v := range versions {
		if pu := byCode[v.Code]; pu != nil {
			pu.Versions = append(pu.Versions, &v1.VersionUsers{ProductVersion: v.Version, Users: int64(v.Users), Launches: int64(v.Launches)})
		}
	}
	return out
}

// productUsage is p's row of the by-product report, with its empty token buckets.
func (s *Server) productUsage(p query.ProductTotal, months int) *v1.ProductUsage {
	pu := &v1.ProductUsage{
		ProductCode: p.Code, ProductGroup: p.Group, Tokens: p.Tokens, Users: int64(p.Users),
		Charges: int64(p.Charges), AverageTokensPerMonth: round2(float64(p.Tokens) / float64(months)),
	}
	for i, upper := range s.buckets {
		lower := int64(0)
		if i > 0 {
			lower = s.buckets[i-1] + 1
		}
		pu.TokenBuckets = append(pu.TokenBuckets, &v1.BucketCount{MinTokens: lower, MaxTokens: upper})
	}
	pu.TokenBuckets = append(pu.TokenBuckets, &v1.BucketCount{MinTokens: s.buckets[len(s.buckets)-1] + 1})
	return pu
}

// bucketOf is the index of the bucket holding tokens: the first whose upper
// bound it does not exceed, or the open last one.
func bucketOf(uppers []int64, tokens int64) int {
	for i, u := range uppers {
		if tokens <= u {
			return i
		}
	}
	return len(uppers)
}

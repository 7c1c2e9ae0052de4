package server

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// GetDenials answers who was refused, when, for which product and why:
// counts per day, team, user, product or reason, and a page of the
// refusals themselves, newest first.
func (s *Server) GetDenials(ctx context.Context, req *v1.GetDenialsRequest) (*v1.GetDenialsResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	d := query.DenialScope{Filter: f, Products: req.GetProductCodes()}
	for _, r := range req.GetReasons() {
		d.Reasons = append(d.Reasons, reasonName(r))
	}
	var chk query.Check
	chk.Products("product_codes", d.Products)
	chk.Reasons("reasons", d.Reasons)
	size := chk.PageSize("page_size", req.GetPageSize())
	scope := query.DenialFingerprint(d)
	before := chk.DenialPage("page_token", req.GetPageToken(), scope)
	group, ok := denialGroups[req.GetGroupBy()]
	if !ok {
		chk.Invalid("group_by", "unknown grouping %d", int32(req.GetGroupBy()))
	}
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var (
		groups, reasons []query.DenialCount
		list            []query.Denial
		g, gctx         = errgroup.WithContext(ctx)
	)
	g.Go(func() (err error) { groups, err = s.reports.DenialGroups(gctx, d, group); return err })
	g.Go(func() (err error) { reasons, err = s.reports.DenialReasons(gctx, d, group); return err })
	// One refusal more than the page tells whether another page follows.
	g.Go(func() (err error) { list, err = s.reports.DenialList(gctx, d, before, size+1); return err })
	if err := g.Wait(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetDenialsResponse{FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout)}
	if len(list) > size {
		list = list[:size]
		resp.NextPageToken = query.DenialCursor(scope, list[size-1].Pos()).Token()
	}
	shown := s.privacy.For(f.OrgID)
	resp.Groups, resp.ByReason, resp.TotalDenials = denialCounts(groups, reasons, group, shown.User)
	for _, x := range list {
		row := shown.Row(x.UserID)
		resp.Denials = append(resp.Denials, &v1.Denial{
			EventId: row.Event(x.EventID), TeamId: x.TeamID, UserId: row.User(x.UserID), ProductCode: x.Product,
			ProductVersion: x.Version, DeviceId: row.Device(x.Device), At: timestamppb.New(x.At),
			Reason: reasonOf(x.Reason), TokensRequired: x.TokensRequired, Renewal: x.Renewal,
		})
	}
	return resp, nil
}

var denialGroups = map[v1.DenialGrouping]query.DenialGroup{
	v1.DenialGrouping_DENIAL_GROUPING_UNSPECIFIED: query.DenyByDay,
	v1.DenialGrouping_DENIAL_GROUPING_DAY:         query.DenyByDay,
	v1.DenialGrouping_DENIAL_GROUPING_TEAM:        query.DenyByTeam,
	v1.DenialGrouping_DENIAL_GROUPING_USER:        query.DenyByUser,
	v1.DenialGrouping_DENIAL_GROUPING_PRODUCT:     query.DenyByProduct,
	v1.DenialGrouping_DENIAL_GROUPING_REASON:      query.DenyByReason,
}

// denialCounts builds the groups with their reasons, the totals per
// reason and the total; user keys are shown through show.
func denialCounts(groups, reasons []query.DenialCount, g query.DenialGroup, show func(string) string) ([]*v1.DenialCount, []*v1.ReasonCount, int64) {
	key := func(k string) string {
		if g == query.DenyByUser {
			return show(k)
		}
		return k
	}
	var total int64
	out := make([]*v1.DenialCount, 0, len(groups))
	byKey := map[string]*v1.DenialCount{}
	for _, c := range groups {
		dc := &v1.DenialCount{Key: key(c.Key), Denials: int64(c.Denials), Users: int64(c.Users), TokensRequired: c.TokensRequired}
		byKey[c.Key] = dc
		out = append(out, dc)
		total += dc.Denials
	}
	if g == query.DenyByUser {
		// Ties were broken by the hidden ids: break them by the ids shown.
		slices.SortStableFunc(out, func(a, b *v1.DenialCount) int {
			return cmp.Or(cmp.Compare(b.Denials, a.Denials), strings.Compare(a.Key, b.Key))
		})
	}
	perReason := map[string]int64{}
	for _, r := range reasons {
		perReason[r.Reason] += int64(r.Denials)
		if dc := byKey[r.Key]; dc != nil {
			dc.ByReason = append(dc.ByReason, &v1.ReasonCount{Reason: reasonOf(r.Reason), Denials: int64(r.Denials)})
		}
	}
	var byReason []*v1.ReasonCount
	for r := v1.DenyReason(1); int(r) < len(v1.DenyReason_name); r++ {
		if n := perReason[reasonName(r)]; n > 0 {
			byReason = append(byReason, &v1.ReasonCount{Reason: r, Denials: n})
		}
	}
	return out, byReason, total
}

// reasonName is r as the launches table holds it ("insufficient_tokens"),
// "" for an unspecified or unknown reason.
func reasonName(r v1.DenyReason) string {
	if _, ok := v1.DenyReason_name[int32(r)]; !ok || r == v1.DenyReason_DENY_REASON_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(r.String(), "DENY_REASON_"))
}

// reasonOf is the reason a launches row names.
func reasonOf(name string) v1.DenyReason {
	return v1.DenyReason(v1.DenyReason_value["DENY_REASON_"+strings.ToUpper(name)])
}

package server

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// maxSameDays bounds the double-charge days listed per user.
const maxSameDays = 31

// GetUsageByUser answers the by-user report: per user the products, tokens,
// days used and without use, days since the last use, the days on which
// several products were opened (each a separate charge), and the launcher
// sessions with their active and idle time. Sort and limit (at most
// query.MaxLimit) give the top consumers; with page_token, limit is the
// page size and the pages walk every user in order.
func (s *Server) GetUsageByUser(ctx context.Context, req *v1.GetUsageByUserRequest) (*v1.GetUsageByUserResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	products := req.GetProductCodes()
	o := order(req.GetSortBy(), req.GetAscending(), req.GetLimit())
	var chk query.Check
	chk.Products("product_codes", products)
	chk.Limit("limit", req.GetLimit())
	scope := query.Fingerprint(f, products, o)
	after := chk.PageToken("page_token", req.GetPageToken(), scope)
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	p, err := s.userPage(ctx, f, products, o, after, scope)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetUsageByUserResponse{
		FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
		TotalTokens: p.tokens, TotalUsers: int64(p.users),
	}
	if p.next != nil {
		resp.NextPageToken = p.next.Token()
	}
	if len(p.page) == 0 {
		return resp, nil
	}
	// Details for the listed users only (all of them when that is every user).
	var ids []string
	if o.Limit > 0 || after != nil {
		for _, u := range p.page {
			ids = append(ids, u.UserID)
		}
	}
	d, err := s.userDetails(ctx, f, ids, products)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp.Users = s.userUsage(f, p.page, d)
	return resp, nil
}

// userPageResult is one page of users and the totals of the whole range.
type userPageResult struct {
	page   []query.UserTotal
	next   *query.Cursor
	users  uint64
	tokens int64
}

// userPage reads the page of users after the cursor. Users shown as
// pseudonyms are ordered and paged here, their ties broken by pseudonym:
// an order or a token that followed the hidden ids would leak them. The
// others are paged by ClickHouse, one user more than the page telling
// whether another page follows.
func (s *Server) userPage(ctx context.Context, f query.Filter, products []string, o query.Order, after *query.Cursor, scope uint64) (userPageResult, error) {
	pseudonyms := !s.privacy.ShowsPersonalData(f.OrgID)
	sqlOrder, sqlAfter := o, after
	if pseudonyms {
		sqlOrder.Limit, sqlAfter = 0, nil
	} else if o.Limit > 0 {
		sqlOrder.Limit = o.Limit + 1
	}
	// Independent queries run side by side: at 10 M charges each costs tens
	// of milliseconds, and one after another they added up past the target.
	var (
		r       userPageResult
		g, gctx = errgroup.WithContext(ctx)
	)
	g.Go(func() (err error) {
		r.page, err = s.reports.UserTotals(gctx, f, products, sqlOrder, sqlAfter)
		return err
	})
	g.Go(func() (err error) { r.users, r.tokens, err = s.reports.Totals(gctx, f, products); return err })
	if err := g.Wait(); err != nil {
		return r, err
	}
	if pseudonyms {
		r.page, r.next = query.PageUsers(r.page, o, after, scope, s.privacy.Users(f.OrgID))
	} else if o.Limit > 0 && len(r.page) > o.Limit {
		r.page = r.page[:o.Limit]
		last := r.page[o.Limit-1]
		r.next = &query.Cursor{Scope: scope, Key: query.UserKey(last, o.By), User: last.UserID}
	}
	return r, nil
}

// userDetail is what the by-user report shows of its users beyond totals.
type userDetail struct {
	perProduct []query.ProductUser
	sameDay    []query.UserDay
	lastUse    map[string]time.Time
	sessions   map[string]query.UserSessions
}

// userDetails reads the details of ids (every user when empty), side by side.
func (s *Server) userDetails(ctx context.Context, f query.Filter, ids, products []string) (userDetail, error) {
	var (
		d       userDetail
		g, gctx = errgroup.WithContext(ctx)
	)
	g.Go(func() (err error) { d.perProduct, err = s.reports.UserProductUse(gctx, f, ids, products); return err })
	g.Go(func() (err error) { d.sameDay, err = s.reports.SameDay(gctx, f, ids, products); return err })
	g.Go(func() (err error) { d.lastUse, err = s.reports.LastUse(gctx, f, ids); return err })
	g.Go(func() (err error) { d.sessions, err = s.reports.SessionTimes(gctx, f, ids, s.maxGap); return err })
	return d, g.Wait()
}

// userUsage builds the report's rows of users, in their order.
func (s *Server) userUsage(f query.Filter, users []query.UserTotal, d userDetail) []*v1.UserUsage {
	show := s.privacy.Users(f.OrgID)
	months, now := float64(f.Months()), s.now()
	out := make([]*v1.UserUsage, 0, len(users))
	byID := map[string]*v1.UserUsage{}
	for _, u := range users {
		uu := &v1.UserUsage{
			UserId: show(u.UserID), Tokens: u.Tokens, DaysUsed: int64(u.Days), ProductCodes: u.Products,
			Charges: int64(u.Charges), DaysInactive: int64(f.Days()) - int64(u.Days),
			DaysSinceLastUse:      f.DaysSince(u.LastDay, now),
			AverageTokensPerMonth: round2(float64(u.Tokens) / months),
		}
		if ss, ok := d.sessions[u.UserID]; ok {
			uu.Sessions, uu.OpenSessions = int64(ss.Sessions), int64(ss.Open)
			uu.ActiveSeconds, uu.IdleSeconds = ss.ActiveSeconds, ss.IdleSeconds
			uu.FirstSessionAt, uu.LastSessionAt = timestamppb.New(ss.First), timestamppb.New(ss.Last)
		}
		if at, ok := d.lastUse[u.UserID]; ok {
			uu.LastUsedAt = timestamppb.New(at)
		} else {
			uu.LastUsedAt = timestamppb.New(u.LastDay)
		}
		byID[u.UserID] = uu
		out = append(out, uu)
	}
	for _, p := range d.perProduct {
		if uu := byID[p.UserID]; uu != nil {
			uu.Products = append(uu.Products, &v1.UserProduct{ProductCode: p.Code, Tokens: p.Tokens, DaysUsed: int64(p.Days)})
		}
	}
	for _, sd := range d.sameDay {
		uu := byID[sd.UserID]
		if uu == nil {
			continue
		}
		uu.DoubleChargeDays++
		if len(uu.SameDay) < maxSameDays {
			uu.SameDay = append(uu.SameDay, &v1.SameDayProducts{Day: sd.Day.Format(query.DateLayout), ProductCodes: sd.Products, Tokens: sd.Tokens})
		}
	}
	return out
}

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
// days used and inactive, last use, the days on which several products were
// opened (each a separate charge), and the launcher sessions with their
// active and idle time. Sort and limit give the top consumers.
func (s *Server) GetUsageByUser(ctx context.Context, req *v1.GetUsageByUserRequest) (*v1.GetUsageByUserResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	if req.GetLimit() < 0 {
		return nil, s.toStatus(ctx, invalid("limit", "must not be negative"))
	}
	products := req.GetProductCodes()
	pseudonyms := !s.privacy.ShowsPersonalData(f.OrgID)
	o := order(req.GetSortBy(), req.GetAscending(), req.GetLimit())
	sqlOrder := o
	if pseudonyms && o.By == query.SortName {
		// Sorting by the real ids would leak their order: sort the pseudonyms here.
		sqlOrder.Limit = 0
	}
	// Independent queries run side by side: at 10 M charges each costs tens
	// of milliseconds, and one after another they added up past the target.
	var (
		totals      []query.UserTotal
		nUsers      uint64
		tokens      int64
		first, fctx = errgroup.WithContext(ctx)
	)
	first.Go(func() (err error) { totals, err = s.reports.UserTotals(fctx, f, products, sqlOrder); return err })
	first.Go(func() (err error) { nUsers, tokens, err = s.reports.Totals(fctx, f, products); return err })
	if err := first.Wait(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetUsageByUserResponse{
		FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
		TotalTokens: tokens, TotalUsers: int64(nUsers),
	}
	show := s.privacy.Users(f.OrgID)
	if pseudonyms && o.By == query.SortName {
		sortBy(totals, func(a, b query.UserTotal) bool { return (show(a.UserID) < show(b.UserID)) != o.Asc })
		if o.Limit > 0 && len(totals) > o.Limit {
			totals = totals[:o.Limit]
		}
	}
	if len(totals) == 0 {
		return resp, nil
	}
	// Details for the listed users only (all of them when no limit).
	var ids []string
	if o.Limit > 0 {
		for _, u := range totals {
			ids = append(ids, u.UserID)
		}
	}
	var (
		perProduct    []query.ProductUser
		sameDay       []query.UserDay
		lastUse       map[string]time.Time
		sessions      map[string]query.UserSessions
		details, dctx = errgroup.WithContext(ctx)
	)
	details.Go(func() (err error) { perProduct, err = s.reports.UserProductUse(dctx, f, ids, products); return err })
	details.Go(func() (err error) { sameDay, err = s.reports.SameDay(dctx, f, ids, products); return err })
	details.Go(func() (err error) { lastUse, err = s.reports.LastUse(dctx, f, ids); return err })
	details.Go(func() (err error) { sessions, err = s.reports.SessionTimes(dctx, f, ids, s.maxGap); return err })
	if err := details.Wait(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	months, now := float64(f.Months()), s.now()
	byID := map[string]*v1.UserUsage{}
	for _, u := range totals {
		uu := &v1.UserUsage{
			UserId: show(u.UserID), Tokens: u.Tokens, DaysUsed: int64(u.Days), ProductCodes: u.Products,
			Charges: int64(u.Charges), DaysInactive: int64(f.Days()) - int64(u.Days),
			DaysSinceLastUse:      f.DaysSince(u.LastDay, now),
			AverageTokensPerMonth: round2(float64(u.Tokens) / months),
		}
		if ss, ok := sessions[u.UserID]; ok {
			uu.Sessions, uu.OpenSessions = int64(ss.Sessions), int64(ss.Open)
			uu.ActiveSeconds, uu.IdleSeconds = ss.ActiveSeconds, ss.IdleSeconds
			uu.FirstSessionAt, uu.LastSessionAt = timestamppb.New(ss.First), timestamppb.New(ss.Last)
		}
		if at, ok := lastUse[u.UserID]; ok {
			uu.LastUsedAt = timestamppb.New(at)
		} else {
			uu.LastUsedAt = timestamppb.New(u.LastDay)
		}
		byID[u.UserID] = uu
		resp.Users = append(resp.Users, uu)
	}
	for _, p := range perProduct {
		if uu := byID[p.UserID]; uu != nil {
			uu.Products = append(uu.Products, &v1.UserProduct{ProductCode: p.Code, Tokens: p.Tokens, DaysUsed: int64(p.Days)})
		}
	}
	for _, d := range sameDay {
		uu := byID[d.UserID]
		if uu == nil {
			continue
		}
		uu.DoubleChargeDays++
		if len(uu.SameDay) < maxSameDays {
			uu.SameDay = append(uu.SameDay, &v1.SameDayProducts{Day: d.Day.Format(query.DateLayout), ProductCodes: d.Products, Tokens: d.Tokens})
		}
	}
	return resp, nil
}

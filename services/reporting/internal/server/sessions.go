package server

import (
	"context"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/sessions"
)

// Bounds of GetSessions besides the page: the devices and open sessions
// one answer lists, and the days back sessions open now may have started.
const (
	defaultDevices = 100
	maxDevices     = 1000
	maxOpenNow     = 1000
	openNowDays    = 2
)

// sessionsInput is what GetSessions reads before applying the rules.
type sessionsInput struct {
	inRange, recent []sessions.Session
	charges         []sessions.Charge
}

// GetSessions answers how long products stayed open and how much was idle,
// who has what open now, peak concurrent users per product and day, use per
// device and the brief charges, by the rules of internal/sessions.
func (s *Server) GetSessions(ctx context.Context, req *v1.GetSessionsRequest) (*v1.GetSessionsResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	products := req.GetProductCodes()
	var chk query.Check
	chk.Products("product_codes", products)
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var bad grpcserver.Violations
	rules := sessions.Rules{Brief: sessions.DefaultBrief, Live: s.maxGap}
	if m := req.GetBriefMinutes(); m != 0 {
		rules.Brief = time.Duration(m) * time.Minute
		if m < 0 || rules.Brief > sessions.MaxBrief {
			bad.Add("brief_minutes", "must be 0 (the default, %d) to %d, got %d", int(sessions.DefaultBrief.Minutes()), int(sessions.MaxBrief.Minutes()), m)
		}
	}
	devices := int(req.GetDeviceLimit())
	if devices < 0 || devices > maxDevices {
		bad.Add("device_limit", "must be 0 (the default, %d) to %d, got %d", defaultDevices, maxDevices, devices)
	} else if devices == 0 {
		devices = defaultDevices
	}
	page := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "sessions", f.OrgID,
		strings.Join(f.TeamIDs, ","), f.From.Format(query.DateLayout), f.To.Format(query.DateLayout),
		strings.Join(sortedCopyOf(products), ","), strconv.Itoa(int(rules.Brief.Minutes())))
	if err := bad.Err(); err != nil {
		return nil, err
	}
	in, err := s.readSessions(ctx, f, products)
	if err != nil {
		return nil, err
	}
	return s.sessionsAnswer(f, in, rules, page, devices), nil
}

// readSessions reads the range's sessions and charges and the sessions of
// the last days (for those open now) side by side.
func (s *Server) readSessions(ctx context.Context, f query.Filter, products []string) (sessionsInput, error) {
	var in sessionsInput
	recent := f
	recent.To = f.Today(s.now())
	recent.From = recent.To.AddDate(0, 0, -openNowDays)
	g, gctx := errgroup.WithContext(ctx)
	// One row more than the bound tells that the bound was passed.
	g.Go(func() (err error) {
		in.inRange, err = s.reports.SessionList(gctx, f, products, s.maxGap, query.MaxSessions+1)
		return err
	})
	g.Go(func() (err error) {
		in.recent, err = s.reports.SessionList(gctx, recent, products, s.maxGap, query.MaxSessions+1)
		return err
	})
	g.Go(func() (err error) {
		in.charges, err = s.reports.WindowCharges(gctx, f, products, query.MaxSessions+1)
		return err
	})
	if err := g.Wait(); err != nil {
		return in, s.toStatus(ctx, err)
	}
	if len(in.inRange) > query.MaxSessions || len(in.recent) > query.MaxSessions || len(in.charges) > query.MaxSessions {
		return in, grpcserver.Invalid("range", "more than %d sessions or charges: narrow the range, team_ids or product_codes", query.MaxSessions)
	}
	return in, nil
}

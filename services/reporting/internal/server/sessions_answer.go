package server

import (
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/sessions"
)

// sessionsAnswer applies the rules to what was read and shapes the answer;
// user ids are shown as the organisation's privacy setting says.
func (s *Server) sessionsAnswer(f query.Filter, in sessionsInput, r sessions.Rules, page grpcserver.Page, devices int) *v1.GetSessionsResponse {
	now := s.now()
	show := s.privacy.Users(f.OrgID)
	resp := &v1.GetSessionsResponse{FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
		BriefMinutes: int32(r.Brief.Minutes()), Sessions: int64(len(in.inRange))}
	peaks := sessions.PeaksIn(in.inRange, f.From, f.To, s.zone(f.OrgID))
	highest := map[string]int64{}
	for _, p := range peaks {
		highest[p.Product] = max(highest[p.Product], p.Users)
		resp.Peaks = append(resp.Peaks, &v1.DayPeak{Day: p.Day.Format(query.DateLayout), ProductCode: p.Product,
			PeakUsers: p.Users, PeakAt: timestamppb.New(p.At)})
	}
	brief, charged := sessions.BriefCharges(in.inRange, in.charges, r, now)
	resp.ChargedTokens, resp.BriefCharges = charged, int64(len(brief))
	briefBy := map[string][2]int64{}
	for _, b := range brief {
		resp.BriefTokens += b.Tokens
		n := briefBy[b.Product]
		briefBy[b.Product] = [2]int64{n[0] + 1, n[1] + b.Tokens}
	}
	for _, t := range sessions.ByProduct(in.inRange) {
		resp.ByProduct = append(resp.ByProduct, &v1.ProductSessions{ProductCode: t.Key, Sessions: t.Sessions, Users: t.Users,
			OpenSeconds: t.Open, ActiveSeconds: t.Active, IdleSeconds: t.Idle, IdlePercent: t.IdlePercent(),
			AverageSessionSeconds: t.AverageOpen(), PeakUsers: highest[t.Key],
			BriefCharges: briefBy[t.Key][0], BriefTokens: briefBy[t.Key][1]})
	}
	byDevice := sessions.ByDevice(in.inRange)
	resp.TotalDevices = int64(len(byDevice))
	for _, t := range byDevice[:min(devices, len(byDevice))] {
		resp.ByDevice = append(resp.ByDevice, &v1.DeviceSessions{DeviceId: t.Key, Sessions: t.Sessions, Users: t.Users,
			ProductCodes: t.Products, OpenSeconds: t.Open, ActiveSeconds: t.Active, IdleSeconds: t.Idle,
			LastSeenAt: timestamppb.New(t.LastSeen)})
	}
	open := sessions.OpenNow(in.recent, now, r.Live)
	resp.OpenNowTotal = int64(len(open))
	for _, o := range open[:min(maxOpenNow, len(open))] {
		resp.OpenNow = append(resp.OpenNow, &v1.SessionInfo{TeamId: o.Team, UserId: show(o.User), ProductCode: o.Product,
			DeviceId: o.Device, WindowId: o.Window, StartedAt: timestamppb.New(o.Start), LastSeenAt: timestamppb.New(o.Last),
			ActiveSeconds: o.Active, IdleSeconds: o.Idle})
	}
	shown, next := grpcserver.PageSlice(page, brief, sessions.Brief.Key)
	resp.NextPageToken = next
	for _, b := range shown {
		resp.Brief = append(resp.Brief, &v1.BriefCharge{TeamId: b.Team, UserId: show(b.User), ProductCode: b.Product,
			WindowId: b.Window, ChargedAt: timestamppb.New(b.At), Tokens: b.Tokens, Sessions: b.Sessions,
			OpenSeconds: b.Open, ActiveSeconds: b.Active})
	}
	return resp
}

// sortedCopyOf is codes sorted, leaving the request as it came.
func sortedCopyOf(codes []string) []string {
	out := slices.Clone(codes)
	slices.Sort(out)
	return out
}

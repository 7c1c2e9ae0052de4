package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// SetTimeZone records the organisation's time zone on its catalog subject,
// with who set it, and answers once this replica's settings hold it. The
// ledger itself never reads it: windows and expiry keep server time.
func (l *Ledger) SetTimeZone(ctx context.Context, req *v1.SetTimeZoneRequest) (*v1.SetTimeZoneResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	if _, err := privacy.LoadZone(req.GetZone()); err != nil {
		bad.Add("zone", "%s", err.Error())
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if set, _ := l.Settings.ZoneSetting(p.Org); set.EventID != req.GetEventId() {
		ev := &v1.Event{EventId: req.GetEventId(), Type: "time_zone_set", OrgId: p.Org,
			ServerTime: timestamppb.New(l.Now()), Actor: actorOf(p),
			Payload: &v1.Event_TimeZoneSet{TimeZoneSet: &v1.TimeZoneSet{Zone: req.GetZone()}}}
		if err := l.recordOrgEvent(ctx, ev); err != nil {
			return nil, err
		}
	}
	set, _ := l.Settings.ZoneSetting(p.Org)
	if set.EventID != req.GetEventId() {
		return nil, statusOf(pool.ErrEventIDReused)
	}
	return &v1.SetTimeZoneResponse{Setting: zoneSettingOf(set, true)}, nil
}

// GetTimeZone returns the organisation's time zone setting.
func (l *Ledger) GetTimeZone(ctx context.Context, _ *v1.GetTimeZoneRequest) (*v1.GetTimeZoneResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	set, ok := l.Settings.ZoneSetting(p.Org)
	return &v1.GetTimeZoneResponse{Setting: zoneSettingOf(set, ok)}, nil
}

func zoneSettingOf(set privacy.ZoneSetting, ok bool) *v1.TimeZoneSetting {
	if !ok {
		return &v1.TimeZoneSetting{Zone: "UTC"}
	}
	return &v1.TimeZoneSetting{Zone: set.Zone, SetAt: timestamppb.New(set.At), Actor: set.Actor}
}

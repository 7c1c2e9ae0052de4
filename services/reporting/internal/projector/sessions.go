package projector

import (
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Session event kinds in the sessions table.
const (
	SessionStart     = "start"
	SessionHeartbeat = "heartbeat"
	SessionEnd       = "end"
)

// Sessions projects the session events of the USAGE stream: launches that
// opened or joined a window, heartbeats and session ends. A denied launch
// starts no session and is skipped.
var Sessions = Projection{
	Table:  "sessions_v2",
	Stream: eventlog.UsageStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "user_id", "product_code", "device_id", "window_id",
		"day", "at", "kind", "active",
	},
	Map: sessionRow,
}

func sessionRow(seq uint64, ev *v1.Event) (Record, bool) {
	var (
		user, product, device, window, kind string
		active                              uint8
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_LaunchReceived:
		e := pl.LaunchReceived
		if e.GetDecision() == v1.Decision_DECISION_DENIED {
			return nil, false
		}
		user, product, device, window, kind, active = e.GetUserId(), e.GetProductCode(), e.GetDeviceId(), e.GetWindowId(), SessionStart, 1
	case *v1.Event_HeartbeatReceived:
		e := pl.HeartbeatReceived
		user, product, device, window, kind = e.GetUserId(), e.GetProductCode(), e.GetDeviceId(), e.GetWindowId(), SessionHeartbeat
		if e.GetActive() {
			active = 1
		}
	case *v1.Event_SessionEnded:
		e := pl.SessionEnded
		user, product, device, window, kind = e.GetUserId(), e.GetProductCode(), e.GetDeviceId(), e.GetWindowId(), SessionEnd
	default:
		return nil, false
	}
	at := serverTime(ev)
	day := dayOf(at)
	return &record{seq: seq, day: day, values: []any{
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), user, product, device, window,
		day, at, kind, active,
	}}, true
}

package projector

import (
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Usage event kinds in the usage_events table.
const (
	KindLaunch    = "launch"
	KindHeartbeat = "heartbeat"
	KindEnd       = "end"
)

// UsageEvents projects the USAGE stream: the launcher telemetry that
// sessions (start, end, active and idle time) are computed from.
var UsageEvents = Projection{
	Table:  "usage_events",
	Stream: eventlog.UsageStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "user_id", "product_code", "product_version", "device_id",
		"window_id", "kind", "active", "decision", "deny_reason", "tokens_charged",
		"day", "at", "occurred_at", "clock_skew_ms", "attribute_keys", "attribute_values",
	},
	Map: usageRow,
}

func usageRow(seq uint64, ev *v1.Event) (Record, bool) {
	var (
		user, product, version, device, window, kind, decision, reason string
		active                                                         uint8
		tokens, skew                                                   int64
		occurred                                                       time.Time
		attrs                                                          map[string]string
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_LaunchReceived:
		e := pl.LaunchReceived
		user, product, version, device, window = e.GetUserId(), e.GetProductCode(), e.GetProductVersion(), e.GetDeviceId(), e.GetWindowId()
		kind, tokens, skew, attrs, active = KindLaunch, e.GetTokensCharged(), e.GetClockSkewMs(), e.GetAttributes(), 1
		occurred = tsTime(e.GetOccurredAt())
		if e.GetDecision() != v1.Decision_DECISION_UNSPECIFIED {
			decision = strings.ToLower(strings.TrimPrefix(e.GetDecision().String(), "DECISION_"))
		}
		reason = denyReason(e.GetDenyReason())
	case *v1.Event_HeartbeatReceived:
		e := pl.HeartbeatReceived
		user, product, device, window, kind = e.GetUserId(), e.GetProductCode(), e.GetDeviceId(), e.GetWindowId(), KindHeartbeat
		occurred = tsTime(e.GetOccurredAt())
		if e.GetActive() {
			active = 1
		}
	case *v1.Event_SessionEnded:
		e := pl.SessionEnded
		user, product, device, window, kind = e.GetUserId(), e.GetProductCode(), e.GetDeviceId(), e.GetWindowId(), KindEnd
		occurred = tsTime(e.GetOccurredAt())
	default:
		return nil, false
	}
	at := serverTime(ev)
	day := dayOf(at)
	keys, values := sortedAttributes(attrs)
	return &record{seq: seq, day: day, values: []any{
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), user, product, version, device,
		window, kind, active, decision, reason, tokens,
		day, at, occurred, skew, keys, values,
	}}, true
}

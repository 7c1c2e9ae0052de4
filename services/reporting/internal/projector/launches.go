package projector

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Launch outcomes in the launches table.
const (
	OutcomeCharged = "charged"
	OutcomeCovered = "covered"
	OutcomeDenied  = "denied"
	// OutcomeSubscription: authorized by the user's named subscription, no tokens.
	OutcomeSubscription = "subscription"
)

// Launches projects every launch decision of the LEDGER stream.
var Launches = Projection{
	Table:  "launches_v2",
	Stream: eventlog.LedgerStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "user_id",
		"product_code", "product_version", "device_id", "day", "at",
		"outcome", "deny_reason", "tokens", "renewal", "attribute_keys", "attribute_values",
	},
	Map: launchRow,
}

func launchRow(seq uint64, ev *v1.Event) (Record, bool) {
	at := serverTime(ev)
	day := dayOf(at)
	var (
		user, product, version, device, outcome, reason string
		tokens                                          int64
		renewal                                         uint8
		attrs                                           map[string]string
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_WindowCharged:
		e := pl.WindowCharged
		user, product, version, device, attrs = e.GetUserId(), e.GetProductCode(), e.GetProductVersion(), e.GetDeviceId(), e.GetAttributes()
		outcome, tokens = OutcomeCharged, e.GetTokens()
		if e.GetWindowStart() != nil { // usage counts on the day the window started
			day = dayOf(e.GetWindowStart().AsTime())
		}
		if e.GetRenewal() {
			renewal = 1
		}
	case *v1.Event_LaunchCovered:
		e := pl.LaunchCovered
		user, product, version, device, attrs = e.GetUserId(), e.GetProductCode(), e.GetProductVersion(), e.GetDeviceId(), e.GetAttributes()
		outcome = OutcomeCovered
	case *v1.Event_LaunchSubscribed:
		e := pl.LaunchSubscribed
		user, product, version, device, attrs = e.GetUserId(), e.GetProductCode(), e.GetProductVersion(), e.GetDeviceId(), e.GetAttributes()
		outcome = OutcomeSubscription
	case *v1.Event_LaunchDenied:
		e := pl.LaunchDenied
		user, product, version, device, attrs = e.GetUserId(), e.GetProductCode(), e.GetProductVersion(), e.GetDeviceId(), e.GetAttributes()
		outcome, reason, tokens = OutcomeDenied, denyReason(e.GetReason()), e.GetTokensRequired()
		if e.GetRenewal() {
			renewal = 1
		}
	default:
		return nil, false
	}
	keys, values := sortedAttributes(attrs)
	return &record{seq: seq, day: day, values: []any{
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), user,
		product, version, device, day, at,
		outcome, reason, tokens, renewal, keys, values,
	}}, true
}

// denyReason is the reason's enum name without its prefix, lower case:
// "insufficient_tokens".
func denyReason(r v1.DenyReason) string {
	if r == v1.DenyReason_DENY_REASON_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(r.String(), "DENY_REASON_"))
}

var zeroTime = time.Unix(0, 0).UTC()

// tsTime is ts at second precision; an unset ts is the epoch, DateTime's zero.
func tsTime(ts *timestamppb.Timestamp) time.Time {
	return ts.AsTime().UTC().Truncate(time.Second)
}

package rules

import (
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// launchDenied raises launch_denied (critical) on the first launch refused for
// lack of tokens and stays quiet for the refusals that follow. It re-arms when
// tokens come back: an event shows more available than the event before it
// (a pack added, a refund). At 0 available that is "the balance went above 0
// again"; after a refusal at 5 available for a 10-token product, tokens spent
// elsewhere do not re-arm it, a top-up does.
func launchDenied(f *fold) []*v1.Alert {
	t := f.t
	if t.launchDenied && f.prevKnown && f.pool != nil && t.available > f.prevAvailable {
		t.launchDenied = false
	}
	d := f.denied
	if d == nil || t.launchDenied || !f.cfg.LaunchDenied.Enabled {
		return nil
	}
	t.launchDenied = true
	msg := fmt.Sprintf("Team %s refused a launch of %s for lack of tokens: %d needed, %d left",
		f.raise.team, d.GetProductCode(), d.GetTokensRequired(), t.available)
	return []*v1.Alert{f.alert(KindLaunchDenied, v1.Severity_SEVERITY_CRITICAL, msg, map[string]float64{
		"available":       float64(t.available),
		"live":            float64(t.live),
		"tokens_required": float64(d.GetTokensRequired()),
	})}
}

package rules

import (
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// launchDeniedState remembers whether a team's launch_denied alert has fired
// for the current crossing.
type launchDeniedState struct {
	fired bool
}

// apply raises launch_denied on the first launch refused for lack of tokens
// and stays quiet for the refusals that follow. It re-arms when tokens come
// back: an event shows more available than the event before it (a pack added,
// a refund). At 0 available that is "the balance went above 0 again"; after a
// refusal at 5 available for a 10-token product, tokens spent elsewhere do not
// re-arm it, a top-up does.
func (s *launchDeniedState) apply(t *team, denied *v1.LaunchDenied, c crossing) *v1.Alert {
	if s.fired && t.known && c.available > t.available {
		s.fired = false
	}
	if denied == nil || s.fired {
		return nil
	}
	s.fired = true
	msg := fmt.Sprintf("Team %s refused a launch of %s for lack of tokens: %d needed, %d left",
		c.ev.GetTeamId(), denied.GetProductCode(), denied.GetTokensRequired(), c.available)
	return newAlert(KindLaunchDenied, v1.Severity_SEVERITY_CRITICAL, c, msg, map[string]float64{
		"available":       float64(c.available),
		"live":            float64(c.live),
		"tokens_required": float64(denied.GetTokensRequired()),
	})
}

package rules

import (
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// lowBalanceState remembers whether a team's low_balance alert has fired for
// the current crossing.
type lowBalanceState struct {
	fired bool
}

// apply raises low_balance once when available falls to LowBalancePercent of
// live or below, and re-arms when it rises above again. A pool with no live
// tokens (none bought yet, or all expired) neither fires nor re-arms: there is
// no share to speak of.
func (s *lowBalanceState) apply(cfg Config, c crossing) *v1.Alert {
	if c.live <= 0 {
		return nil
	}
	low := float64(c.available)*100 <= cfg.LowBalancePercent*float64(c.live)
	switch {
	case !low:
		s.fired = false
		return nil
	case s.fired:
		return nil
	}
	s.fired = true
	sev := v1.Severity_SEVERITY_WARNING
	if c.available <= 0 {
		sev = v1.Severity_SEVERITY_CRITICAL
	}
	p := percent(c.available, c.live)
	msg := fmt.Sprintf("Team %s has %d tokens left (%s %%) of %d live", c.ev.GetTeamId(), c.available, formatPercent(p), c.live)
	return newAlert(KindLowBalance, sev, c, msg, map[string]float64{
		"available": float64(c.available),
		"live":      float64(c.live),
		"percent":   p,
		"threshold": cfg.LowBalancePercent,
	})
}

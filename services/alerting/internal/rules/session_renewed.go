package rules

import (
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// sessionRenewed raises session_renewed for every window charged again at
// the 24-hour mark: an application left open overnight. Each renewal is its
// own crossing.
func sessionRenewed(f *fold) []*v1.Alert {
	w := f.charged
	if w == nil || !w.GetRenewal() || !f.cfg.SessionRenewed.Enabled {
		return nil
	}
	msg := fmt.Sprintf("%s of team %s left %s open on %s past its 24-hour window: another %d tokens were charged",
		w.GetUserId(), f.raise.team, w.GetProductCode(), w.GetDeviceId(), w.GetTokens())
	return []*v1.Alert{f.alert(KindSessionRenewed, v1.Severity_SEVERITY_WARNING, msg, map[string]float64{
		"tokens": float64(w.GetTokens()),
	})}
}

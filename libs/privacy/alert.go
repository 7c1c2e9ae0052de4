package privacy

import (
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// hider is a Source that knows when an organisation stopped showing people.
type hider interface {
	HiddenSince(org string) time.Time
}

// HiddenText replaces the text of an alert raised while its organisation
// showed its people, read after it switched to pseudonyms.
const HiddenText = "This alert was raised while the organisation showed people as they are; its text is hidden since it shows pseudonyms."

// Alert returns a as its organisation may see it now. Alerts carry the
// people of their events as the setting was when raised (alerting masks the
// events); one raised while the organisation showed people, read after it
// switched to pseudonyms, has its text hidden (a copy; a is not changed).
// Its id may still hold a user id of that time.
func (p *Policy) Alert(a *v1.Alert) *v1.Alert {
	org := a.GetOrgId()
	h, ok := p.src.(hider)
	if !ok || p.ShowsPersonalData(org) {
		return a
	}
	since := h.HiddenSince(org)
	if since.IsZero() || !a.GetRaisedAt().AsTime().Before(since) {
		return a
	}
	a = proto.Clone(a).(*v1.Alert)
	a.Message = HiddenText
	return a
}

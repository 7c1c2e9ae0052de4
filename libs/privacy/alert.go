package privacy

import (
	"strings"
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
	if p.ShowsPersonalData(org) {
		return p.erasedAlert(a)
	}
	h, ok := p.src.(hider)
	if !ok {
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

// ErasedText replaces the text of an alert that names an erased user.
const ErasedText = "This alert names a person whose personal data was erased; its text is hidden."

// erasedAlert hides the text of an alert of an organisation that shows its
// people when its text or id names a user it erased (a copy; a is not
// changed). Alerts of pseudonymised organisations hold pseudonyms only.
func (p *Policy) erasedAlert(a *v1.Alert) *v1.Alert {
	for user := range p.erasedIn(a.GetOrgId()) {
		if mentions(a.GetMessage(), user) || mentions(a.GetAlertId(), user) {
			a = proto.Clone(a).(*v1.Alert)
			a.Message = ErasedText
			return a
		}
	}
	return a
}

// mentions reports whether text holds id as a whole word: not inside a
// longer id (ids are letters, digits, '-' and '_').
func mentions(text, id string) bool {
	for i := 0; id != ""; {
		j := strings.Index(text[i:], id)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(id)
		if (start == 0 || !idByte(text[start-1])) && (end == len(text) || !idByte(text[end])) {
			return true
		}
		i = start + 1
	}
	return false
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

package tokenctl

import (
	"strings"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// sessionsTable is the --show table of r, with a note of the totals.
func sessionsTable(r *v1.GetSessionsResponse, show string) *table {
	var t *table
	switch show {
	case "peaks":
		t = newTable("DAY", "PRODUCT", "PEAK_USERS", "PEAK_AT")
		for _, p := range r.GetPeaks() {
			t.add(p.GetDay(), p.GetProductCode(), p.GetPeakUsers(), p.GetPeakAt())
		}
	case "devices":
		t = newTable("DEVICE", "SESSIONS", "USERS", "PRODUCTS", "OPEN", "ACTIVE", "IDLE", "LAST_SEEN")
		for _, d := range r.GetByDevice() {
			t.add(d.GetDeviceId(), d.GetSessions(), d.GetUsers(), strings.Join(d.GetProductCodes(), " "),
				seconds(d.GetOpenSeconds()), seconds(d.GetActiveSeconds()), seconds(d.GetIdleSeconds()), d.GetLastSeenAt())
		}
		t.note("%d of %d devices", len(r.GetByDevice()), r.GetTotalDevices())
	case "open":
		t = newTable("TEAM", "USER", "PRODUCT", "DEVICE", "STARTED", "LAST_SEEN", "ACTIVE", "IDLE")
		for _, o := range r.GetOpenNow() {
			t.add(o.GetTeamId(), o.GetUserId(), o.GetProductCode(), o.GetDeviceId(), o.GetStartedAt(), o.GetLastSeenAt(),
				seconds(o.GetActiveSeconds()), seconds(o.GetIdleSeconds()))
		}
		t.note("%d sessions open now", r.GetOpenNowTotal())
	case "brief":
		t = newTable("CHARGED_AT", "TEAM", "USER", "PRODUCT", "TOKENS", "SESSIONS", "OPEN", "ACTIVE")
		for _, b := range r.GetBrief() {
			t.add(b.GetChargedAt(), b.GetTeamId(), b.GetUserId(), b.GetProductCode(), b.GetTokens(), b.GetSessions(),
				seconds(b.GetOpenSeconds()), seconds(b.GetActiveSeconds()))
		}
		t.note("%d charges (%d tokens) open less than %d minutes, of %d tokens charged with sessions",
			r.GetBriefCharges(), r.GetBriefTokens(), r.GetBriefMinutes(), r.GetChargedTokens())
	default:
		t = newTable("PRODUCT", "SESSIONS", "USERS", "OPEN", "ACTIVE", "IDLE", "IDLE_%", "AVERAGE", "PEAK_USERS", "BRIEF", "BRIEF_TOKENS")
		for _, p := range r.GetByProduct() {
			t.add(p.GetProductCode(), p.GetSessions(), p.GetUsers(), seconds(p.GetOpenSeconds()), seconds(p.GetActiveSeconds()),
				seconds(p.GetIdleSeconds()), p.GetIdlePercent(), seconds(p.GetAverageSessionSeconds()),
				p.GetPeakUsers(), p.GetBriefCharges(), p.GetBriefTokens())
		}
	}
	t.note("%d sessions from %s to %s", r.GetSessions(), r.GetFromDate(), r.GetToDate())
	return t
}

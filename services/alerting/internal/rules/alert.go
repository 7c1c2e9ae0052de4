package rules

import (
	"math"
	"strconv"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// AlertID is the stable id of the alert of kind raised for a team by the event
// at LEDGER sequence seq. Organisation and team ids never contain '.', so the
// id is unambiguous; it is also a valid Nats-Msg-Id and KV key.
func AlertID(kind, org, team string, seq uint64) string {
	return kind + "." + org + "." + team + "." + strconv.FormatUint(seq, 10)
}

// newAlert builds the alert of kind raised by c.
func newAlert(kind string, sev v1.Severity, c crossing, msg string, figures map[string]float64) *v1.Alert {
	org, team := c.ev.GetOrgId(), c.ev.GetTeamId()
	return &v1.Alert{
		AlertId:        AlertID(kind, org, team, c.seq),
		OrgId:          org,
		TeamId:         team,
		Kind:           kind,
		Severity:       sev,
		Message:        msg,
		Figures:        figures,
		RaisedAt:       c.ev.GetServerTime(),
		SourceSequence: c.seq,
	}
}

// percent is available as a share of live, rounded to one decimal; 0 when
// there are no live tokens.
func percent(available, live int64) float64 {
	if live <= 0 {
		return 0
	}
	return math.Round(float64(available)*1000/float64(live)) / 10
}

// formatPercent writes p without a useless ".0".
func formatPercent(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

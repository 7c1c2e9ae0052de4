package tokenctl

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// timeLayout is how tables show times, in the local time zone.
const timeLayout = "2006-01-02 15:04:05"

// alertJSON is an alert in -o json: a stable, documented shape with the
// names of the webhook payload, not protojson's.
type alertJSON struct {
	Sequence       uint64             `json:"sequence"`
	AlertID        string             `json:"alert_id"`
	RaisedAt       time.Time          `json:"raised_at"`
	Severity       string             `json:"severity"`
	OrgID          string             `json:"org_id"`
	TeamID         string             `json:"team_id"`
	Kind           string             `json:"kind"`
	Message        string             `json:"message"`
	Figures        map[string]float64 `json:"figures,omitempty"`
	Acknowledged   bool               `json:"acknowledged"`
	AcknowledgedBy string             `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time         `json:"acknowledged_at,omitempty"`
}

func toJSON(a *v1.Alert) alertJSON {
	j := alertJSON{
		Sequence: a.GetSequence(), AlertID: a.GetAlertId(), RaisedAt: a.GetRaisedAt().AsTime().UTC(),
		Severity: severity(a.GetSeverity()), OrgID: a.GetOrgId(), TeamID: a.GetTeamId(), Kind: a.GetKind(),
		Message: a.GetMessage(), Figures: a.GetFigures(), Acknowledged: a.GetAcknowledged(), AcknowledgedBy: a.GetAcknowledgedBy(),
	}
	if a.GetAcknowledgedAt() != nil {
		at := a.GetAcknowledgedAt().AsTime().UTC()
		j.AcknowledgedAt = &at
	}
	return j
}

// severity is "info", "warning" or "critical".
func severity(s v1.Severity) string {
	if s == v1.Severity_SEVERITY_UNSPECIFIED {
		return "-"
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "SEVERITY_"))
}

func localTime(a *v1.Alert) string {
	if a.GetRaisedAt() == nil {
		return "-"
	}
	return a.GetRaisedAt().AsTime().Local().Format(timeLayout)
}

// streamPrinter prints alerts one by one as they come: JSON Lines, CSV rows,
// or table rows under one header with fixed-width columns (a stream cannot be
// aligned on what has not come yet).
type streamPrinter struct {
	w      io.Writer
	format string
	headed bool
	csv    *csv.Writer
}

const streamRow = "%-6s  %-19s  %-8s  %-12s  %-16s  %s\n"

func (p *streamPrinter) print(a *v1.Alert) error {
	switch p.format {
	case outputJSON:
		b, err := json.Marshal(toJSON(a))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	case outputCSV:
		if p.csv == nil {
			p.csv = csv.NewWriter(p.w)
			_ = p.csv.Write([]string{"seq", "time", "severity", "team", "kind", "id", "message"})
		}
		_ = p.csv.Write([]string{fmt.Sprint(a.GetSequence()), a.GetRaisedAt().AsTime().UTC().Format(time.RFC3339), severity(a.GetSeverity()),
			a.GetTeamId(), a.GetKind(), a.GetAlertId(), a.GetMessage()})
		p.csv.Flush()
		return p.csv.Error()
	}
	if !p.headed {
		p.headed = true
		if _, err := fmt.Fprintf(p.w, streamRow, "SEQ", "TIME", "SEVERITY", "TEAM", "KIND", "MESSAGE"); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(p.w, streamRow, fmt.Sprint(a.GetSequence()), localTime(a), severity(a.GetSeverity()),
		a.GetTeamId(), a.GetKind(), a.GetMessage())
	return err
}

// alertsTable is alerts with their ids and acknowledgements.
func alertsTable(alerts []*v1.Alert) *table {
	t := newTable("SEQ", "TIME", "SEVERITY", "TEAM", "KIND", "ACK", "ID", "MESSAGE")
	for _, a := range alerts {
		t.add(a.GetSequence(), localTime(a), severity(a.GetSeverity()), a.GetTeamId(), a.GetKind(), a.GetAcknowledged(), a.GetAlertId(), a.GetMessage())
	}
	return t
}

// printJSON prints v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

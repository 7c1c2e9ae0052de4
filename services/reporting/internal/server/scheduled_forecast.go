package server

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/email"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/export"
)

// ForecastColumns are the columns of a scheduled forecast's file.
var ForecastColumns = []string{"team_id", "month", "tokens_used", "cumulative_tokens", "cumulative_percent", "projected", "projected_run_out_month"}

// forecastMail forecasts each team of the schedule: the run-out and renewal in the text, the months of
// each term in the file.
func (s *Server) forecastMail(ctx context.Context, org string, sch *v1.ReportSchedule, label string) (email.Message, error) {
	teams := sch.GetTeamIds()
	format := exportFormat(sch.GetFormat())
	var file bytes.Buffer
	w, err := export.New(format, &file, "forecast", ForecastColumns)
	if err != nil {
		return email.Message{}, err
	}
	var b strings.Builder
	for _, team := range teams {
		fc, err := s.Forecast(ctx, &v1.ForecastRequest{TeamId: team})
		if err != nil {
			w.Discard()
			return email.Message{}, err
		}
		runOut := "does not run out before its packs expire"
		if fc.GetRunOutAt() != nil {
			runOut = "runs out on " + fc.GetRunOutAt().AsTime().In(s.zone(org)).Format(time.DateOnly)
		}
		fmt.Fprintf(&b, "  %s: %d tokens available, %s; %d expire unspent; suggested renewal %d tokens\n",
			team, fc.GetTokensAvailable(), runOut, fc.GetTokensExpiringUnspent(), fc.GetSuggestedRenewal())
		for _, m := range fc.GetMonths() {
			if err := w.Row([]any{team, m.GetMonth(), m.GetTokensUsed(), m.GetCumulativeTokens(), m.GetCumulativePercent(),
				m.GetProjected(), m.GetProjectedRunOutMonth()}); err != nil {
				return email.Message{}, err
			}
		}
	}
	if err := w.Close(); err != nil {
		return email.Message{}, err
	}
	if file.Len() > MaxAttachment {
		return email.Message{}, fmt.Errorf("the attachment would exceed %d MiB", MaxAttachment>>20)
	}
	att := email.Attachment{Name: "tokenmeter-forecast-" + label + format.Extension(), ContentType: format.ContentType(), Data: file.Bytes()}
	return email.Message{Text: "Forecast by team:\n" + b.String(), Attachments: []email.Attachment{att}}, nil
}

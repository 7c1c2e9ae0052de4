package tokenctl

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) alertsAckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ack ALERT_ID...",
		Short: "Acknowledge alerts (the first acknowledgement stays)",
		Long: `Acknowledge alerts by id (see 'tokenctl alerts list'). Acknowledging an alert
again is harmless: the first acknowledgement, with who made it and when, stays.
With -o json each acknowledged alert is printed as one JSON line.`,
		Example: `  tokenctl alerts ack low_balance.demo.design.1042
  tokenctl alerts list --unacked -o json | jq -r '.[].alert_id' | xargs tokenctl alerts ack`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.completeUnacked,
		RunE: func(cmd *cobra.Command, ids []string) error {
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			var errs []error
			for _, id := range ids {
				resp, err := client.AcknowledgeAlert(cmd.Context(), &v1.AcknowledgeAlertRequest{AlertId: id})
				if err != nil {
					errs = append(errs, fmt.Errorf("ack %s: %w", id, err))
					continue
				}
				if err := printAck(cmd, a.settings.Output, resp.GetAlert()); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		},
	}
}

func printAck(cmd *cobra.Command, output string, al *v1.Alert) error {
	if output == outputJSON {
		b, err := json.Marshal(toJSON(al))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "acknowledged %s (%s, team %s) by %s at %s\n", al.GetAlertId(), al.GetKind(), al.GetTeamId(),
		al.GetAcknowledgedBy(), al.GetAcknowledgedAt().AsTime().Local().Format(timeLayout))
	return err
}

// completeUnacked offers the ids of the latest unacknowledged alerts.
func (a *app) completeUnacked(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	client, err := a.alertingClient(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	resp, err := client.ListAlerts(cmd.Context(), &v1.ListAlertsRequest{UnacknowledgedOnly: true, Limit: 100})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ids := make([]string, 0, len(resp.GetAlerts()))
	for _, al := range resp.GetAlerts() {
		ids = append(ids, al.GetAlertId()+"\t"+al.GetMessage())
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

package tokenctl

import (
	"github.com/spf13/cobra"
)

// Alert kinds, for shell completion of --kind (the server checks them).
var alertKinds = []string{
	"budget_crossed", "burn_pace", "capacity_low", "forecast_run_out", "heavy_user", "inactive_user", "launch_denied",
	"long_session", "low_balance", "multi_product", "pack_expiring", "session_renewed", "usage_spike", "usage_tier",
}

func (a *app) alertsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Watch, list and acknowledge alerts; manage alert rules and webhooks",
		Long: `Alerts are raised by the alerting service once per crossing (low balance, run-out
forecast, expiring packs, spikes, heavy users, sessions left open, refused launches …)
and kept on the ALERTS stream, each with a sequence number.`,
	}
	cmd.AddCommand(a.alertsWatchCommand(), a.alertsListCommand(), a.alertsAckCommand(), a.rulesCommand(), a.webhooksCommand())
	return cmd
}

func completeKinds(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return alertKinds, cobra.ShellCompDirectiveNoFileComp
}

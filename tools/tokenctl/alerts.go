package tokenctl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Alert kinds, for shell completion of --kind (the server checks them).
var alertKinds = []string{
	"budget_crossed", "burn_pace", "capacity_low", "forecast_run_out", "heavy_user", "inactive_user", "launch_denied",
	"long_session", "low_balance", "multi_product", "pack_expiring", "session_renewed", "usage_spike", "usage_tier",
}

func (a *app) alertsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Watch, list and acknowledge alerts",
		Long: `Alerts are raised by the alerting service once per crossing (low balance, run-out
forecast, expiring packs, spikes, heavy users, sessions left open, refused launches …)
and kept on the ALERTS stream, each with a sequence number.`,
	}
	cmd.AddCommand(a.alertsWatchCommand(), a.alertsListCommand(), a.alertsAckCommand())
	return cmd
}

// alertingClient resolves the settings and connects to alerting. The
// connection is lazy: a server that is down shows on the first call.
func (a *app) alertingClient(cmd *cobra.Command) (v1.AlertingServiceClient, func(), error) {
	if err := a.settings.resolve(); err != nil {
		return nil, nil, err
	}
	for _, w := range a.settings.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "tokenctl: warning:", w)
	}
	conn, err := grpcserver.Dial(a.settings.AlertingAddr, a.settings.APIKey)
	if err != nil {
		return nil, nil, fmt.Errorf("alerting address %q: %w (check --alerting-addr or TOKENMETER_ALERTING_ADDR)", a.settings.AlertingAddr, err)
	}
	return v1.NewAlertingServiceClient(conn), func() { _ = conn.Close() }, nil
}

// callContext is ctx acting for --org when a service key needs it.
func (a *app) callContext(ctx context.Context) context.Context {
	if a.settings.Org != "" {
		ctx = auth.ActingFor(ctx, a.settings.Org)
	}
	return ctx
}

// unary runs one call within --timeout.
func unary[Req, Resp any](ctx context.Context, a *app, call func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(a.callContext(ctx), a.settings.Timeout)
	defer cancel()
	resp, err := call(ctx, req)
	if err != nil {
		return resp, a.explain(a.alerting(), err)
	}
	return resp, nil
}

func completeKinds(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return alertKinds, cobra.ShellCompDirectiveNoFileComp
}

// Command alerting folds the event log into alert rules and serves the alert streams.
package main

import (
	"context"
	"log/slog"

	"github.com/tokenmeter/tokenmeter/libs/daemon"
	"github.com/tokenmeter/tokenmeter/services/alerting"
)

func main() {
	var cfg alerting.Config
	daemon.Main("alerting", &cfg, func(ctx context.Context, log *slog.Logger) error {
		svc, err := alerting.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}

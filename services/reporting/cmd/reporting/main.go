// Command reporting projects the event log into ClickHouse and answers the usage reports.
package main

import (
	"context"
	"log/slog"

	"github.com/tokenmeter/tokenmeter/libs/daemon"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

func main() {
	var cfg reporting.Config
	daemon.Main("reporting", &cfg, func(ctx context.Context, log *slog.Logger) error {
		svc, err := reporting.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}

// Command ledger runs a ledger replica: it owns the token pools and decides every charge.
package main

import (
	"context"
	"log/slog"

	"github.com/tokenmeter/tokenmeter/libs/daemon"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

func main() {
	var cfg ledger.Config
	daemon.Main("ledger", &cfg, func(ctx context.Context, log *slog.Logger) error {
		svc, err := ledger.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}

// Command ingestion runs the launcher API (gRPC and HTTP/JSON).
package main

import (
	"context"
	"log/slog"

	"github.com/tokenmeter/tokenmeter/libs/daemon"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

func main() {
	var cfg ingestion.Config
	daemon.Main("ingestion", &cfg, func(ctx context.Context, log *slog.Logger) error {
		svc, err := ingestion.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}

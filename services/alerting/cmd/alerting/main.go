// Command alerting runs tokenmeter's alerting service.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	"github.com/tokenmeter/tokenmeter/services/alerting"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "alerting:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg alerting.Config
	fs := flag.NewFlagSet(alerting.Name, flag.ContinueOnError)
	cfg.Register(fs)
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := telemetry.Logger(alerting.Name, cfg.LogLevel)
	flush, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: alerting.Name, OTLPEndpoint: cfg.OTLPEndpoint})
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = flush(ctx) // the process is ending; nothing is left to report to
	}()
	svc, err := alerting.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}

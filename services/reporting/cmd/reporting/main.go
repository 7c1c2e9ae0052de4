// Command reporting runs tokenmeter's reporting service.
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
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "reporting:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg reporting.Config
	fs := flag.NewFlagSet(reporting.Name, flag.ContinueOnError)
	cfg.Register(fs)
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: reporting.Name, OTLPEndpoint: cfg.OTLPEndpoint})
	if err != nil {
		return err
	}
	defer func() { // flush telemetry last, with its own deadline: ctx is done by then
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdown(flushCtx)
	}()
	svc, err := reporting.New(ctx, cfg, telemetry.Logger(reporting.Name, cfg.LogLevel))
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}

// Package daemon is the life of a tokenmeter service binary: flags with
// environment fallbacks, logging and telemetry, a context cancelled on SIGINT
// or SIGTERM, and an exit code.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
)

// Config is a service's configuration: its own flags plus the common ones.
type Config interface {
	Register(fs *flag.FlagSet)
	Validate() error
	Base() *config.Common
}

// Run is a service's body: build it from the parsed config and run it until
// ctx ends, then shut down gracefully.
type Run func(ctx context.Context, log *slog.Logger) error

// Main runs the service named name and exits: 0 after a clean stop (or -h),
// 1 with the error on stderr otherwise.
func Main(name string, cfg Config, run Run) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Start(ctx, name, os.Args[1:], cfg, run)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Start parses args into cfg, sets up telemetry, calls run and flushes
// telemetry last, with its own deadline since ctx is done by then.
func Start(ctx context.Context, name string, args []string, cfg Config, run Run) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.Register(fs)
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	base := cfg.Base()
	log := telemetry.Logger(name, base.LogLevel)
	otlpTLS, err := base.OTLPTLS()
	if err != nil {
		return err
	}
	metricsTLS, err := base.ServerTLS()
	if err != nil {
		return err
	}
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: name, OTLPEndpoint: base.OTLPEndpoint, TLS: otlpTLS,
		MetricsListen: base.MetricsListen, MetricsTLS: metricsTLS})
	if err != nil {
		return err
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(flushCtx); err != nil {
			log.Warn("flush telemetry", "err", err)
		}
	}()
	return run(ctx, log)
}

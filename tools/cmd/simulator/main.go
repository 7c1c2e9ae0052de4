// Command simulator plays launcher traffic against a local tokenmeter:
// N users across M teams and K products on working-day patterns. It sets up
// rates, packs and assignments through the ledger, makes one launcher key
// per team through ingestion (revoked at the end), and talks to loopback
// addresses only.
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

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launcher"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "simulator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg simulator.Config
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	ingest := fs.String("ingestion-addr", "127.0.0.1:7070", "ingestion gRPC address (loopback only)")
	ledger := fs.String("ledger-addr", "127.0.0.1:7071", "ledger gRPC address (loopback only)")
	adminKey := fs.String("admin-key", "dev-admin-key", "admin key of the organisation to simulate in")
	tokens := fs.Int64("tokens", 100_000, "tokens bought per team before the run")
	timeout := fs.Duration("timeout", 10*time.Minute, "stop after this long")
	fs.IntVar(&cfg.Users, "users", 100, "users")
	fs.IntVar(&cfg.Teams, "teams", 4, "teams")
	fs.IntVar(&cfg.Products, "products", 4, "products (of the built-in catalogue)")
	fs.IntVar(&cfg.Days, "days", 5, "days planned (sent at once: the servers stamp their own time)")
	fs.IntVar(&cfg.MaxEvents, "max-events", 20_000, "stop after this many events")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Start = time.Now()
	if err := errors.Join(simulator.CheckLoopback(*ingest), simulator.CheckLoopback(*ledger), cfg.Validate()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	plan, err := simulator.Plan(cfg)
	if err != nil {
		return err
	}
	lconn, err := grpcserver.Dial(*ledger, *adminKey)
	if err != nil {
		return err
	}
	defer func() { _ = lconn.Close() }()
	if err := simulator.Setup(ctx, v1.NewLedgerServiceClient(lconn), cfg, *tokens); err != nil {
		return err
	}
	iconn, err := grpcserver.Dial(*ingest, *adminKey)
	if err != nil {
		return err
	}
	defer func() { _ = iconn.Close() }()
	keys := simulator.NewKeys(v1.NewIngestionServiceClient(iconn), *ingest)
	defer keys.Revoke(context.WithoutCancel(ctx))
	player := simulator.Player{Client: func(team string) (*launcher.Client, error) { return keys.Client(ctx, team) }}
	start := time.Now()
	st, err := player.Play(ctx, plan)
	fmt.Printf("%d events in %s: %d launches (%d authorized, %d denied), %d heartbeats (%d renewals, %d stops), %d ends, %d queued, %d tokens\n",
		len(plan), time.Since(start).Round(time.Millisecond), st.Launches, st.Authorized, st.Denied, st.Heartbeats, st.Renewals, st.Stops, st.Ends, st.Queued, st.Tokens)
	return err
}

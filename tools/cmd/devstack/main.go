// Command devstack runs tokenmeter on one machine: an embedded NATS JetStream
// server, the four services in this process, demo data on first start. The
// ClickHouse server is expected to answer already (`make run` starts one).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/natsauth/embedded"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/demo"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

type options struct {
	stateDir, natsHost                   string
	natsPort                             int
	clickhouseAddr, clickhouseDB         string
	ingestion, ledger, reporting, alerts string
	ingestionHTTP, console               string
	demoWeeks                            int
	logLevel, otlp, metrics              string
	mailSMTP, mailUI                     string
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	fs.StringVar(&o.stateDir, "state-dir", ".local", "where NATS keeps its data")
	fs.StringVar(&o.natsHost, "nats-host", "127.0.0.1", "embedded NATS host")
	fs.IntVar(&o.natsPort, "nats-port", 14222, "embedded NATS port")
	fs.StringVar(&o.clickhouseAddr, "clickhouse-addr", "127.0.0.1:19000", "ClickHouse native address")
	fs.StringVar(&o.clickhouseDB, "clickhouse-database", "", "ClickHouse database (default: one per state directory, so checkouts share a ClickHouse safely)")
	fs.StringVar(&o.ingestion, "ingestion-listen", "127.0.0.1:7070", "ingestion gRPC address")
	fs.StringVar(&o.ingestionHTTP, "ingestion-http-listen", "127.0.0.1:7080", "ingestion HTTP/JSON address")
	fs.StringVar(&o.ledger, "ledger-listen", "127.0.0.1:7071", "ledger gRPC address")
	fs.StringVar(&o.reporting, "reporting-listen", "127.0.0.1:7072", "reporting gRPC address")
	fs.StringVar(&o.alerts, "alerting-listen", "127.0.0.1:7073", "alerting gRPC address")
	fs.StringVar(&o.console, "console-listen", "127.0.0.1:7074", "web console address (empty: none)")
	fs.IntVar(&o.demoWeeks, "demo-weeks", 6, "weeks of demo launches to load on first start (0: none)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "service log level")
	fs.StringVar(&o.otlp, "otlp-endpoint", "", "OTLP/gRPC collector host:port")
	fs.StringVar(&o.metrics, "metrics-listen", "127.0.0.1:7090", "Prometheus metrics of the four services at /metrics (empty: none)")
	fs.StringVar(&o.mailSMTP, "mail-smtp-listen", "127.0.0.1:1025", "SMTP address of the local mailpit that alerts and scheduled reports are e-mailed to (empty: no e-mail)")
	fs.StringVar(&o.mailUI, "mail-ui-listen", "127.0.0.1:8025", "web UI of the local mailpit: the mail sent")
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	if o.clickhouseDB == "" {
		db, err := databaseFor(o.stateDir)
		if err != nil {
			return err
		}
		o.clickhouseDB = db
	}
	if err := checkPorts(o.listenAddrs()); err != nil {
		return err
	}
	log := telemetry.Logger("devstack", o.logLevel)
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "tokenmeter-devstack", OTLPEndpoint: o.otlp, MetricsListen: o.metrics})
	if err != nil {
		return err
	}
	defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()

	ns, creds, err := startNATS(o)
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()

	mail, stopMail, err := startMailpit(ctx, o, log)
	if err != nil {
		return err
	}
	defer stopMail()
	stack, err := devstack.Start(ctx, devstack.Options{
		NATSURL: ns.ClientURL(), NATSCreds: creds, ClickHouseAddr: o.clickhouseAddr, ClickHouseDatabase: o.clickhouseDB,
		IngestionListen: o.ingestion, IngestionHTTPListen: o.ingestionHTTP, LedgerListen: o.ledger, ReportingListen: o.reporting, AlertingListen: o.alerts,
		ConsoleListen: o.console, Log: log, ResetStaleProjections: true, Mail: mail,
	})
	if err != nil {
		return err
	}
	if mail.Enabled() && o.demoWeeks > 0 {
		if err := demoAlertMail(ctx, stack); err != nil {
			return err
		}
	}
	if err := loadDemo(ctx, stack, natsauth.Client{URL: ns.ClientURL(), Identity: natsauth.Ingestion, Creds: creds[natsauth.Ingestion]}, o.demoWeeks); err != nil {
		return err
	}
	if mail.Enabled() && o.demoWeeks > 0 {
		if err := demoSchedule(ctx, stack); err != nil {
			return err
		}
	}
	printWelcome(stack, o.stateDir, ns.ClientURL(), o.clickhouseAddr, o.clickhouseDB)
	printMail(mail, o.mailUI)
	<-ctx.Done()
	fmt.Println("\nstopping: draining services ...")
	return stack.Wait()
}

// databaseFor names the ClickHouse database of the dev stack whose state is in
// stateDir: checkouts sharing the local ClickHouse each project into their own.
func databaseFor(stateDir string) (string, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return "tokenmeter_dev_" + hex.EncodeToString(sum[:6]), nil
}

func (o options) listenAddrs() []listenAddr {
	return []listenAddr{
		{"embedded NATS", "-nats-port", net.JoinHostPort(o.natsHost, strconv.Itoa(o.natsPort))},
		{"ingestion gRPC", "-ingestion-listen", o.ingestion},
		{"ingestion HTTP", "-ingestion-http-listen", o.ingestionHTTP},
		{"ledger gRPC", "-ledger-listen", o.ledger},
		{"reporting gRPC", "-reporting-listen", o.reporting},
		{"alerting gRPC", "-alerting-listen", o.alerts},
		{"web console", "-console-listen", o.console},
		{"metrics", "-metrics-listen", o.metrics},
		{"mailpit SMTP", "-mail-smtp-listen", o.mailSMTP},
		{"mailpit UI", "-mail-ui-listen", mailUI(o)},
	}
}

// startNATS starts the embedded server with a user per natsauth identity,
// as a deployment has, and returns each identity's seed file. The seeds are
// made once under <state-dir>/nats-seeds and kept.
func startNATS(o options) (*server.Server, map[string]string, error) {
	dir, err := filepath.Abs(filepath.Join(o.stateDir, "nats"))
	if err != nil {
		return nil, nil, err
	}
	seeds := filepath.Join(filepath.Dir(dir), "nats-seeds")
	pubs, err := natsauth.WriteSeeds(seeds, natsauth.Names()...)
	if err != nil {
		return nil, nil, err
	}
	users, err := embedded.Users(pubs)
	if err != nil {
		return nil, nil, err
	}
	opts := &server.Options{
		ServerName: "tokenmeter-dev", Host: o.natsHost, Port: o.natsPort,
		JetStream: true, StoreDir: dir, NoSigs: true,
	}
	embedded.Secure(opts, users)
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		return nil, nil, fmt.Errorf("embedded nats did not start on %s:%d (port in use?)", o.natsHost, o.natsPort)
	}
	creds := make(map[string]string, len(pubs))
	for name := range pubs {
		creds[name] = natsauth.SeedFile(seeds, name)
	}
	return ns, creds, nil
}

// loadDemo loads the demo through the ledger, and its launchers' session
// telemetry through the event log as the ingestion identity (nc).
func loadDemo(ctx context.Context, stack *devstack.Stack, nc natsauth.Client, weeks int) error {
	if weeks == 0 {
		return nil
	}
	admin, err := grpcserver.Dial(stack.Ledger.Addr(), devstack.AdminKey)
	if err != nil {
		return err
	}
	defer admin.Close()
	service, err := grpcserver.Dial(stack.Ledger.Addr(), devstack.ServiceKey)
	if err != nil {
		return err
	}
	defer service.Close()
	owner, err := grpcserver.Dial(stack.Ledger.Addr(), devstack.OwnerKey)
	if err != nil {
		return err
	}
	defer owner.Close()
	// The demo's people are made up: its owner lets every page show them.
	if _, err := v1Ledger(owner).SetPersonalData(ctx, &v1.SetPersonalDataRequest{
		Show: true, Reason: "demo data: made-up people", EventId: "demo-personal-data",
	}); err != nil {
		return fmt.Errorf("demo personal-data setting: %w", err)
	}
	loaded, err := demo.Loaded(ctx, v1Ledger(admin))
	if err != nil {
		return fmt.Errorf("check demo data: %w", err)
	}
	if loaded {
		fmt.Println("demo data: already loaded (kept from the last run)")
		return nil
	}
	fmt.Printf("demo data: loading %d weeks of launches ...\n", weeks)
	conn, js, err := eventlog.Connect(ctx, nc, "tokenmeter-demo", slog.New(slog.DiscardHandler), eventlog.Streams{Read: []string{eventlog.UsageStream}})
	if err != nil {
		return err
	}
	defer func() { _ = conn.Drain() }()
	n, err := demo.LoadWithSessions(ctx, admin, service, demo.UsageTo(js, devstack.DemoOrg), devstack.DemoOrg, time.Now(), weeks)
	if err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	fmt.Printf("demo data: %d launches loaded\n", n)
	reporting, err := grpcserver.Dial(stack.Reporting.Addr(), devstack.AdminKey)
	if err != nil {
		return err
	}
	defer reporting.Close()
	if err := demo.LoadPlans(ctx, reporting, time.Now(), 30*time.Second); err != nil {
		return err
	}
	fmt.Println("demo data: design's planned project 'Bridge tender' recorded")
	return nil
}

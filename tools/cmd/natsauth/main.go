// Command natsauth renders tokenmeter's NATS authorization from libs/natsauth:
//
//	natsauth conf          print the authorization block (deploy/nats/auth.conf)
//	natsauth seeds DIR     make an nkey seed file per identity in DIR (kept if there)
//	                       and print the server's environment: TOKENMETER_NATS_<NAME>_NKEY=U...
//	natsauth -url U -creds ADMIN_SEED [-replicas N] [-partitions N] [-usage-max-age D] provision
//	                       bring every stream to today's configuration as the admin: the
//	                       services create what is missing but may not change a stream
//	                       (this narrows a LEDGER/USAGE made before partitions to
//	                       ledger.*.* / usage.*.*, which partition streams need); limits
//	                       an operator set on a stream stay, LEDGER's age limit excepted
//
// A service reads its seed with -nats-creds; the server reads the public keys
// from its environment. Seeds are secrets, public keys are not.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "natsauth:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("natsauth", flag.ContinueOnError)
	url := fs.String("url", "nats://127.0.0.1:4222", "provision: the NATS server")
	creds := fs.String("creds", "", "provision: the admin identity's seed or .creds file")
	replicas := fs.Int("replicas", 0, "provision: stream replicas (0: keep what each stream has, at least 1)")
	partitions := fs.Int("partitions", 1, "provision: also the partition streams LEDGER-<p> and USAGE-<p> of this many partitions")
	usageMaxAge := fs.Duration("usage-max-age", 0, "provision: how long USAGE streams keep telemetry, at least 168h (0: as they are; made keeping everything); "+
		"ClickHouse keeps what reporting projected, but projections can then be rebuilt from the log only as far back as it reaches")
	readable := fs.Bool("readable", false, "seeds: make the seed files 0644 (their directory stays 0700), for containers running as another user, as compose's bind mounts need")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "conf":
		_, err := io.WriteString(out, natsauth.Conf())
		return err
	case fs.NArg() == 2 && fs.Arg(0) == "seeds":
		return seeds(fs.Arg(1), *readable, out)
	case fs.NArg() == 1 && fs.Arg(0) == "provision":
		o := eventlog.StreamOptions{Replicas: *replicas, Partitions: *partitions, UsageMaxAge: *usageMaxAge, Update: true}
		if err := eventlog.CheckUsageMaxAge(o.UsageMaxAge); err != nil {
			return err
		}
		return provision(natsauth.Client{URL: *url, Identity: natsauth.Admin, Creds: *creds}, o, out)
	default:
		return fmt.Errorf("usage: natsauth conf | natsauth [-readable] seeds DIR | natsauth -url U -creds F [-replicas N] [-partitions N] [-usage-max-age D] provision")
	}
}

// provision updates every stream as the admin identity.
func provision(c natsauth.Client, o eventlog.StreamOptions, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, js, err := eventlog.Connect(ctx, c, "natsauth-provision", slog.New(slog.DiscardHandler), eventlog.Streams{})
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := eventlog.Provision(ctx, js, o); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "provisioned LEDGER, USAGE and ALERTS and %d partition streams of each of LEDGER and USAGE\n", eventlog.PartitionStreams(o.Partitions))
	if err != nil {
		return err
	}
	return printRetention(ctx, js, o.Partitions, out)
}

// printRetention says how long each USAGE stream keeps telemetry: one set
// by hand on a partition stream stays, and the admin should see it.
func printRetention(ctx context.Context, js jetstream.JetStream, partitions int, out io.Writer) error {
	for _, name := range eventlog.UsageStreams(partitions) {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		keeps := "all telemetry"
		if age := s.CachedInfo().Config.MaxAge; age > 0 {
			keeps = "telemetry for " + age.String()
		}
		if _, err := fmt.Fprintf(out, "%s keeps %s\n", name, keeps); err != nil {
			return err
		}
	}
	return nil
}

func seeds(dir string, readable bool, out io.Writer) error {
	pubs, err := natsauth.WriteSeeds(dir, natsauth.Names()...)
	if err != nil {
		return err
	}
	for _, name := range natsauth.Names() {
		if readable {
			if err := os.Chmod(natsauth.SeedFile(dir, name), 0o644); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(out, "%s=%s\n", natsauth.NkeyEnv(name), pubs[name]); err != nil {
			return err
		}
	}
	return nil
}

// Package config reads a process's configuration: flags, with environment
// variables as fallbacks (flag "nats-url" ← TOKENMETER_NATS_URL).
package config

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/peterbourgon/ff/v3"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// EnvPrefix prefixes every environment variable.
const EnvPrefix = "TOKENMETER"

// Parse parses args into fs, taking unset flags from the environment.
func Parse(fs *flag.FlagSet, args []string) error {
	return ff.Parse(fs, args, ff.WithEnvVarPrefix(EnvPrefix))
}

// EnvName is the environment variable that backs a flag.
func EnvName(flagName string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// Common holds what every service needs.
type Common struct {
	Listen  string
	NATSURL string
	// NATSCreds is the .creds or nkey seed file of the service's NATS identity.
	NATSCreds    string
	OTLPEndpoint string
	APIKeys      string
	// APIKeysFile holds more static keys, reloaded on SIGHUP or when it changes.
	APIKeysFile string
	LogLevel    string
	// TLS of every listener and of the calls to other services.
	TLS certs.Files
	// InsecurePlaintext allows listening beyond loopback without TLS.
	InsecurePlaintext bool
	// MetricsListen serves Prometheus metrics at /metrics ("" : none).
	MetricsListen string
	// RateLimit and RateBurst bound each api key's calls (services' keys aside).
	RateLimit float64
	RateBurst int
	// ShutdownTimeout bounds each step of a graceful stop: calls in flight,
	// HTTP doors, NATS draining.
	ShutdownTimeout time.Duration
}

// Register adds the common flags to fs with the service's default listen address.
func (c *Common) Register(fs *flag.FlagSet, defaultListen string) {
	fs.StringVar(&c.Listen, "listen", defaultListen, "gRPC listen address (host:port; :0 picks a free port)")
	fs.StringVar(&c.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "NATS credentials of this service's identity: a .creds file or an nkey seed file (empty: anonymous, which a secured server refuses)")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", "", "OTLP/gRPC collector host:port; empty disables export")
	fs.StringVar(&c.APIKeys, "api-keys", "", "static keyring: comma-separated [id@]secret:org:role[:team] or [id@]sha256:<hex>:org:role[:team] (role admin|launcher|service; a service key ends :service:<its service>; org * lets it act for any org)")
	fs.StringVar(&c.APIKeysFile, "api-keys-file", "", "file of more keyring entries (one a line or comma-separated, # comments), reloaded on SIGHUP or when it changes")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.TLS.Cert, "tls-cert", "", "PEM certificate chain of every listener, and the client certificate for mutual TLS (reloaded when the file changes)")
	fs.StringVar(&c.TLS.Key, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&c.TLS.ClientCA, "tls-client-ca", "", "PEM CAs whose client certificates gRPC servers verify; service keys must then come with one (mutual TLS)")
	fs.StringVar(&c.TLS.CA, "tls-ca", "", "PEM CAs trusted when calling other services (empty: the system roots); calls use TLS when this or -tls-cert is set")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "", "host:port serving Prometheus metrics at /metrics (empty: none; TLS with -tls-cert)")
	fs.Float64Var(&c.RateLimit, "rate-limit", 500, "calls a second each admin or launcher key may make (0: no limit); more are ResourceExhausted with a retry delay")
	fs.IntVar(&c.RateBurst, "rate-burst", 1000, "calls a key may make at once above its rate")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "how long each step of a graceful stop may take (calls in flight, HTTP doors, NATS draining) before it is forced")
	fs.BoolVar(&c.InsecurePlaintext, "insecure-plaintext", false, "serve without TLS on a non-loopback address (bearer keys then cross the network in clear)")
}

// CheckListen refuses a listener beyond loopback without TLS, unless
// InsecurePlaintext says it is meant.
func (c *Common) CheckListen(flagName, addr string) error {
	if addr == "" || c.TLS.Serving() || c.InsecurePlaintext || certs.Loopback(addr) {
		return nil
	}
	return fmt.Errorf("-%s %s is not a loopback address: give -tls-cert and -tls-key, or -insecure-plaintext to serve plaintext on purpose", flagName, addr)
}

// Throttle is the per-key and per-peer throttle of every server.
func (c *Common) Throttle() *auth.Throttle { return auth.NewThrottle(c.RateLimit, c.RateBurst) }

// ServerTLS is the listeners' TLS configuration, nil without -tls-cert.
func (c *Common) ServerTLS() (*tls.Config, error) {
	if !c.TLS.Serving() {
		return nil, nil
	}
	return c.TLS.Server()
}

// OTLPTLS is the TLS of the OTLP exporter: nil (plaintext) for a collector
// on loopback or with -insecure-plaintext, else the system roots or -tls-ca.
func (c *Common) OTLPTLS() (*tls.Config, error) {
	if c.OTLPEndpoint == "" || c.InsecurePlaintext || certs.Loopback(c.OTLPEndpoint) {
		return nil, nil
	}
	return c.TLS.Client()
}

// NATS is how the service reaches NATS as identity (a natsauth name). The
// TLS files apply to NATS too; tls:// URLs require TLS.
func (c *Common) NATS(identity string) (natsauth.Client, error) {
	n := natsauth.Client{URL: c.NATSURL, Identity: identity, Creds: c.NATSCreds}
	if !c.TLS.Dialing() {
		return n, nil
	}
	conf, err := c.TLS.Client()
	if err != nil {
		return n, fmt.Errorf("nats tls: %w", err)
	}
	n.TLS = conf
	return n, nil
}

// ConnectNATS dials NATS as identity (a natsauth name, also the client
// name) and provisions and waits for the streams s names.
func (c *Common) ConnectNATS(ctx context.Context, identity string, log *slog.Logger, s eventlog.Streams) (*nats.Conn, jetstream.JetStream, error) {
	client, err := c.NATS(identity)
	if err != nil {
		return nil, nil, err
	}
	return eventlog.Connect(ctx, client, identity, log, s)
}

// ClientTLS is the TLS configuration of calls to other services, nil when
// they go in plaintext (neither -tls-cert nor -tls-ca).
func (c *Common) ClientTLS() (*tls.Config, error) {
	if !c.TLS.Dialing() {
		return nil, nil
	}
	return c.TLS.Client()
}

// Validate joins every problem with the common settings.
func (c *Common) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, Required("listen"))
	}
	if c.NATSURL == "" {
		errs = append(errs, Required("nats-url"))
	}
	if c.APIKeys == "" && c.APIKeysFile == "" {
		errs = append(errs, Required("api-keys"))
	} else if spec, err := c.keySpec(); err != nil {
		errs = append(errs, err)
	} else if _, err := auth.ParseSpec(spec); err != nil {
		errs = append(errs, fmt.Errorf("api keys: %w", err))
	}
	if err := c.TLS.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("-shutdown-timeout %s: want a positive duration", c.ShutdownTimeout))
	}
	errs = append(errs, c.CheckListen("listen", c.Listen), c.CheckListen("metrics-listen", c.MetricsListen))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Required is the error for a missing setting, naming both ways to give it.
func Required(flagName string) error {
	return fmt.Errorf("-%s (or %s) is required", flagName, EnvName(flagName))
}

// StopWithin is the bound of each step of a graceful stop (a zero
// ShutdownTimeout, as in a config built in code, takes the default).
func (c *Common) StopWithin() time.Duration {
	if c.ShutdownTimeout <= 0 {
		return DefaultShutdownTimeout
	}
	return c.ShutdownTimeout
}

// Base returns the common settings; a service config embedding Common gets
// it for free, which is how libs/daemon reads them.
func (c *Common) Base() *Common { return c }

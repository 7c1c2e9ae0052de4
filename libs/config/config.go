// Package config reads a process's configuration: flags, with environment
// variables as fallbacks (flag "nats-url" ← TOKENMETER_NATS_URL).
package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/peterbourgon/ff/v3"
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
	Listen       string
	NATSURL      string
	OTLPEndpoint string
	APIKeys      string
	LogLevel     string
}

// Register adds the common flags to fs with the service's default listen address.
func (c *Common) Register(fs *flag.FlagSet, defaultListen string) {
	fs.StringVar(&c.Listen, "listen", defaultListen, "gRPC listen address (host:port; :0 picks a free port)")
	fs.StringVar(&c.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", "", "OTLP/gRPC collector host:port; empty disables export")
	fs.StringVar(&c.APIKeys, "api-keys", "", "static keyring: comma-separated secret:org:role[:team] (role admin|launcher|service; org * lets a service key act for any org)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
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
	if c.APIKeys == "" {
		errs = append(errs, Required("api-keys"))
	}
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

// Base returns the common settings; a service config embedding Common gets
// it for free, which is how libs/daemon reads them.
func (c *Common) Base() *Common { return c }

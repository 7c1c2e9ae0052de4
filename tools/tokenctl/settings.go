package tokenctl

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/tokenmeter/tokenmeter/libs/certs"
)

// A setting is one connection or output setting, given by flag, environment
// variable or config-file key, in that order of precedence. A new service's
// address is one more line in specs.
type spec struct {
	flag, short, env, key, def, usage string
}

var specs = []spec{
	{flag: "alerting-addr", env: "TOKENMETER_ALERTING_ADDR", key: "alerting_addr", def: "127.0.0.1:7073",
		usage: "alerting service address (host:port)"},
	{flag: "api-key", env: "TOKENMETER_API_KEY", key: "api_key",
		usage: "API key: an admin key of your organisation (or a service key with --org); prefer the environment or the config file"},
	{flag: "ingestion-addr", env: "TOKENMETER_INGESTION_ADDR", key: "ingestion_addr", def: "127.0.0.1:7070",
		usage: "ingestion service address (host:port)"},
	{flag: "ledger-addr", env: "TOKENMETER_LEDGER_ADDR", key: "ledger_addr", def: "127.0.0.1:7071",
		usage: "ledger service address (host:port)"},
	{flag: "org", env: "TOKENMETER_ORG", key: "org",
		usage: "organisation a service key acts for (an admin key is bound to its own)"},
	{flag: "output", short: "o", env: "TOKENMETER_OUTPUT", key: "output", def: "table",
		usage: "output format: table, json (protojson of the answer) or csv (the table's rows)"},
	{flag: "reporting-addr", env: "TOKENMETER_REPORTING_ADDR", key: "reporting_addr", def: "127.0.0.1:7072",
		usage: "reporting service address (host:port)"},
	{flag: "service-key", env: "TOKENMETER_SERVICE_KEY", key: "service_key",
		usage: "service key, only for 'demo load' (it replays history through the ledger, which only a service key may do); needs --org"},
	{flag: "tls", env: "TOKENMETER_TLS", key: "tls", def: "auto",
		usage: "auto (TLS, except plaintext to a loopback address without --tls-ca), on, or off (plaintext: the key crosses the network in clear)"},
	{flag: "tls-ca", env: "TOKENMETER_TLS_CA", key: "tls_ca",
		usage: "PEM CAs to verify the services with (default: the system roots)"},
	{flag: "tls-cert", env: "TOKENMETER_TLS_CERT", key: "tls_cert",
		usage: "PEM client certificate, for services that want one with a service key (mutual TLS)"},
	{flag: "tls-key", env: "TOKENMETER_TLS_KEY", key: "tls_key",
		usage: "PEM key of --tls-cert"},
	{flag: "timeout", env: "TOKENMETER_TIMEOUT", key: "timeout", def: "10s",
		usage: "time limit of each call (a watch's stream excepted)"},
}

// Output formats.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputCSV   = "csv"
)

// settings are the resolved settings of one invocation.
type settings struct {
	flags  *pflag.FlagSet
	getenv func(string) string
	raw    map[string]*string // flag name → flag value

	AlertingAddr, IngestionAddr, LedgerAddr, ReportingAddr string
	APIKey, ServiceKey, Org, Output                        string
	TLS                                                    string
	TLSFiles                                               certs.Files
	Timeout                                                time.Duration
	// Config is the config file read ("" when there was none).
	Config string
	// from says where each setting came from, for messages ("--api-key",
	// "TOKENMETER_API_KEY", "api_key in /path", "default").
	from map[string]string
	// Warnings are worth telling the user but do not stop the command.
	Warnings []string
	resolved bool
	err      error
}

func registerSettings(flags *pflag.FlagSet, getenv func(string) string) *settings {
	s := &settings{flags: flags, getenv: getenv, raw: map[string]*string{}}
	flags.String("config", "", "config file (env TOKENMETER_CONFIG; default $XDG_CONFIG_HOME/tokenmeter/config.yaml)")
	for _, sp := range specs {
		usage := fmt.Sprintf("%s (env %s, config %s)", sp.usage, sp.env, sp.key)
		s.raw[sp.flag] = flags.StringP(sp.flag, sp.short, sp.def, usage)
	}
	return s
}

// resolve reads the config file and settles every setting once.
func (s *settings) resolve() error {
	if s.resolved {
		return s.err
	}
	s.resolved = true
	s.err = s.load()
	return s.err
}

func (s *settings) load() error {
	path, explicit, err := s.configPath()
	if err != nil {
		return err
	}
	file, err := s.readConfig(path, explicit)
	if err != nil {
		return err
	}
	vals := map[string]string{}
	s.from = map[string]string{}
	for _, sp := range specs {
		switch v, inFile := file[sp.key]; {
		case s.flags.Changed(sp.flag):
			vals[sp.flag], s.from[sp.flag] = *s.raw[sp.flag], "--"+sp.flag
		case s.getenv(sp.env) != "":
			vals[sp.flag], s.from[sp.flag] = s.getenv(sp.env), sp.env
		case inFile:
			vals[sp.flag], s.from[sp.flag] = v, sp.key+" in "+path
		default:
			vals[sp.flag], s.from[sp.flag] = sp.def, "default"
		}
	}
	s.AlertingAddr, s.IngestionAddr, s.LedgerAddr, s.ReportingAddr = vals["alerting-addr"], vals["ingestion-addr"], vals["ledger-addr"], vals["reporting-addr"]
	s.APIKey, s.ServiceKey, s.Org = vals["api-key"], vals["service-key"], vals["org"]
	s.Output = strings.ToLower(vals["output"])
	s.TLS = strings.ToLower(vals["tls"])
	s.TLSFiles = certs.Files{CA: vals["tls-ca"], Cert: vals["tls-cert"], Key: vals["tls-key"]}

	var errs []error
	for _, svc := range []string{"alerting", "ingestion", "ledger", "reporting"} {
		if vals[svc+"-addr"] == "" {
			errs = append(errs, fmt.Errorf("%s address is empty (%s): give host:port", svc, s.from[svc+"-addr"]))
		}
	}
	if s.TLS != "auto" && s.TLS != "on" && s.TLS != "off" {
		errs = append(errs, fmt.Errorf("tls %q (%s): want auto, on or off", vals["tls"], s.from["tls"]))
	}
	if (s.TLSFiles.Cert == "") != (s.TLSFiles.Key == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if s.Output != outputTable && s.Output != outputJSON && s.Output != outputCSV {
		errs = append(errs, fmt.Errorf("output %q (%s): want table, json or csv", vals["output"], s.from["output"]))
	}
	if s.Timeout, err = time.ParseDuration(vals["timeout"]); err != nil || s.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %q (%s): want a positive duration such as 10s", vals["timeout"], s.from["timeout"]))
	}
	return errors.Join(errs...)
}

// transport is the TLS a call to addr goes with (nil: plaintext).
func (s *settings) transport(addr string) (*tls.Config, error) {
	if s.TLS == "off" || s.TLS == "auto" && s.TLSFiles.CA == "" && certs.Loopback(addr) {
		return nil, nil
	}
	return s.TLSFiles.Client()
}

// configPath is --config, else TOKENMETER_CONFIG, else the XDG default;
// explicit says the user named it.
func (s *settings) configPath() (path string, explicit bool, err error) {
	if s.flags.Changed("config") {
		p, _ := s.flags.GetString("config")
		return p, true, nil
	}
	if p := s.getenv("TOKENMETER_CONFIG"); p != "" {
		return p, true, nil
	}
	dir := s.getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := s.home()
		if err != nil {
			return "", false, nil //nolint:nilerr // no home: no default config file
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "tokenmeter", "config.yaml"), false, nil
}

func (s *settings) home() (string, error) {
	if h := s.getenv("HOME"); h != "" {
		return h, nil
	}
	return os.UserHomeDir()
}

// readConfig returns the keys of the config file at path; a missing default
// file is no config, a missing named one an error.
func (s *settings) readConfig(path string, explicit bool) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	s.Config = path
	file := map[string]string{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return nil, fmt.Errorf("config file %s: %w (want 'key: value' lines, e.g. 'alerting_addr: host:7073')", path, err)
	}
	known := make([]string, 0, len(specs))
	for _, sp := range specs {
		known = append(known, sp.key)
	}
	var unknown []string
	for k := range file {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("config file %s: unknown key %s (known: %s)", path, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	if file["api_key"] != "" || file["service_key"] != "" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("config file %s holds an API key and others may read it: chmod 600 %s", path, path))
		}
	}
	return file, nil
}

package reporting

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/advice"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/console/sso"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// Config is the reporting service's configuration.
type Config struct {
	config.Common
	// ClickHouseAddr is one server, or with ClickHouseCluster some nodes of
	// the cluster (comma-separated) to learn the others from.
	ClickHouseAddr string
	// ClickHouseCluster, when set, names the cluster (in the servers'
	// remote_servers) reporting lays its tables out on: sharded by
	// organisation, replicated, read through Distributed tables.
	ClickHouseCluster  string
	ClickHouseDatabase string
	ClickHouseUser     string
	ClickHousePassword string
	// ClickHouseTLS dials ClickHouse's secure native port with TLS, verified
	// with -tls-ca (or the system roots), presenting -tls-cert when given.
	ClickHouseTLS bool
	// ClickHouseMaxExecution bounds every query ClickHouse runs for this
	// service (its max_execution_time), reports and exports alike.
	ClickHouseMaxExecution time.Duration
	// FlushRows and FlushInterval bound a projection block.
	FlushRows     int
	FlushInterval time.Duration
	// ClickHousePing is how often ClickHouse is pinged, so that its loss
	// and recovery are logged (0: 5s).
	ClickHousePing time.Duration

	// LedgerAddr and LedgerAPIKey (a service key) reach the ledger for the
	// tokens remaining and live packs; empty: reports say remaining is unknown.
	LedgerAddr   string
	LedgerAPIKey string
	// LedgerAPIKeyFile holds LedgerAPIKey instead, reread on SIGHUP.
	LedgerAPIKeyFile string
	LedgerTimeout    time.Duration

	// ConsoleListen is where the admin web console listens (empty: no
	// console); AlertingAddr lets its alert pages reach the alerting service.
	ConsoleListen string
	AlertingAddr  string
	// IngestionAddr lets its access keys page reach ingestion.
	IngestionAddr string
	// ConsoleOIDC signs people into the console through the organisation's
	// identity provider (no issuer: API-key sign-in only).
	ConsoleOIDC sso.Config
	// Replicas are the JetStream replicas of the session key bucket.
	Replicas int

	// UserHashKey keys the pseudonyms of organisations that do not show
	// personal data (their own setting, on the log). PersonalDataOrgs is the
	// retired flag that listed the others: set, it stops the start.
	UserHashKey      string
	PersonalDataOrgs string

	// TokenPrice and Currency price a token; Subscriptions the named
	// subscriptions per product ("CODE=yearly price[:name],…").
	TokenPrice    float64
	Currency      string
	Subscriptions string
	// HeavyDaysPerYear, HeavyDaysPerMonth and IdleDays are the advice's rules of thumb.
	HeavyDaysPerYear  int
	HeavyDaysPerMonth float64
	IdleDays          int
	// TokenBuckets are the upper bounds of the by-product token buckets.
	TokenBuckets string
	// SessionMaxGap caps one gap between a session's events in active/idle time.
	SessionMaxGap time.Duration
	Replication
	// Mail sends scheduled reports.
	Mail MailConfig
}

// Register adds the flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "127.0.0.1:7072")
	c.Replication.register(fs)
	fs.StringVar(&c.ClickHouseAddr, "clickhouse-addr", "127.0.0.1:19000", "ClickHouse native protocol host:port (with -clickhouse-cluster: some nodes, comma-separated, to learn the cluster from)")
	fs.StringVar(&c.ClickHouseCluster, "clickhouse-cluster", "", "ClickHouse cluster (its remote_servers name) to shard and replicate the tables on; empty: one server")
	fs.StringVar(&c.ClickHouseDatabase, "clickhouse-database", "tokenmeter", "ClickHouse database (created if missing)")
	fs.StringVar(&c.ClickHouseUser, "clickhouse-user", "default", "ClickHouse user")
	fs.StringVar(&c.ClickHousePassword, "clickhouse-password", "", "ClickHouse password")
	fs.BoolVar(&c.ClickHouseTLS, "clickhouse-tls", false, "dial ClickHouse with TLS (its tcp_port_secure), verified with -tls-ca or the system roots")
	fs.DurationVar(&c.ClickHouseMaxExecution, "clickhouse-max-execution-time", time.Minute, "longest one ClickHouse query may run (whole seconds; a report or export over it fails)")
	fs.IntVar(&c.FlushRows, "projector-flush-rows", 5000, "rows per ClickHouse insert block")
	fs.DurationVar(&c.FlushInterval, "projector-flush-interval", 200*time.Millisecond, "longest a projected row waits for its insert")
	fs.DurationVar(&c.ClickHousePing, "clickhouse-ping-interval", defaultClickHousePing, "how often ClickHouse is pinged to log its loss and recovery")
	fs.StringVar(&c.LedgerAddr, "ledger-addr", "", "ledger gRPC host:port for tokens remaining (empty: reported unknown)")
	fs.StringVar(&c.LedgerAPIKey, "ledger-api-key", "", "service api key for the ledger")
	fs.StringVar(&c.LedgerAPIKeyFile, "ledger-api-key-file", "", "file holding -ledger-api-key, reread on SIGHUP or when it changes")
	fs.DurationVar(&c.LedgerTimeout, "ledger-timeout", 2*time.Second, "longest a balance read from the ledger may take")
	fs.StringVar(&c.ConsoleListen, "console-listen", "127.0.0.1:7074", "host:port of the admin web console (empty: none)")
	c.registerOIDC(fs)
	fs.StringVar(&c.AlertingAddr, "alerting-addr", "", "alerting gRPC host:port for the console's alert pages (empty: those pages say so)")
	fs.StringVar(&c.IngestionAddr, "ingestion-addr", "", "ingestion gRPC host:port for the console's access keys page (empty: that page says so)")
	fs.IntVar(&c.Replicas, "replicas", 1, "JetStream replicas of reporting's buckets (console session keys, projection leases, report schedules)")
	fs.StringVar(&c.PersonalDataOrgs, "personal-data-orgs", "", "retired: each organisation's owner sets it (tokenctl personal-data); refused when set")
	privacy.RegisterKey(fs, &c.UserHashKey)
	fs.Float64Var(&c.TokenPrice, "token-price", 3, "price of one token, for licensing advice")
	fs.StringVar(&c.Currency, "currency", "USD", "currency of token and subscription prices")
	fs.StringVar(&c.Subscriptions, "subscriptions", "", "yearly named-subscription prices: CODE=price[:name],… (e.g. ACAD=1975:AutoCAD)")
	fs.IntVar(&c.HeavyDaysPerYear, "advice-heavy-days-per-year", 100, "more days a year than this make a heavy user")
	fs.Float64Var(&c.HeavyDaysPerMonth, "advice-heavy-days-per-month", 12, "this many days a month on average make a heavy user")
	fs.IntVar(&c.IdleDays, "advice-idle-days", 90, "days without a charge after which an assigned user should be unassigned")
	fs.StringVar(&c.TokenBuckets, "token-buckets", "100,500,1000", "upper bounds of the by-product token buckets")
	fs.DurationVar(&c.SessionMaxGap, "session-max-gap", 15*time.Minute, "longest gap between a session's events counted as active or idle time")
	c.Mail.register(fs)
}

func (c *Config) registerOIDC(fs *flag.FlagSet) {
	o := &c.ConsoleOIDC
	fs.StringVar(&o.Issuer, "console-oidc-issuer", "", "OpenID Connect issuer URL the console signs people in with (empty: API keys only)")
	fs.StringVar(&o.ClientID, "console-oidc-client-id", "", "the console's client id at the identity provider")
	fs.StringVar(&o.ClientSecretFile, "console-oidc-client-secret-file", "", "file holding the console's client secret")
	fs.StringVar(&o.RedirectURL, "console-oidc-redirect-url", "", "the console's https://host/auth/callback as registered at the identity provider")
	fs.StringVar(&o.OrgClaim, "console-oidc-org-claim", "tokenmeter_org", "ID token claim naming the person's organisation (string or array)")
	fs.StringVar(&o.RoleClaim, "console-oidc-role-claim", "tokenmeter_role", "ID token claim naming the person's role (string or array, e.g. groups)")
	fs.StringVar(&o.GrantsFile, "console-oidc-grants-file", "", "file of org:claim:role[:team] lines: who may sign in, and the role they hold (first match wins)")
	fs.StringVar(&o.CAFile, "console-oidc-ca", "", "PEM CAs trusted for the identity provider (empty: the system roots)")
	fs.DurationVar(&o.Lifetime, "console-session-lifetime", 8*time.Hour, "how long a console sign-in lasts (1s to 168h)")
	fs.IntVar(&o.MaxSessions, "console-max-sessions", 10_000, "most console sessions held at once; sign-ins beyond are refused")
}

// maxClickHouseAddrs bounds -clickhouse-addr's list.
const maxClickHouseAddrs = 16

var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

// addrs are -clickhouse-addr's servers.
func (c *Config) addrs() []string { return strings.Split(c.ClickHouseAddr, ",") }

// checkClickHouseAddrs wants one host:port, or with -clickhouse-cluster up
// to maxClickHouseAddrs of them.
func (c *Config) checkClickHouseAddrs() error {
	if c.ClickHouseAddr == "" {
		return config.Required("clickhouse-addr")
	}
	addrs := c.addrs()
	if len(addrs) > 1 && c.ClickHouseCluster == "" {
		return fmt.Errorf("-clickhouse-addr: one host:port without -clickhouse-cluster")
	}
	if len(addrs) > maxClickHouseAddrs {
		return fmt.Errorf("-clickhouse-addr: %d addresses, at most %d", len(addrs), maxClickHouseAddrs)
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("-clickhouse-addr %s: want host:port", quote.Prefix(a))
		}
	}
	return nil
}

// oidc is ConsoleOIDC with the cookies' Secure flag off only under -insecure-plaintext.
func (c *Config) oidc() sso.Config {
	o := c.ConsoleOIDC
	o.Insecure = c.InsecurePlaintext
	return o
}

// buckets parses TokenBuckets: increasing positive integers.
func (c *Config) buckets() ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(c.TokenBuckets, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n <= 0 || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("-token-buckets %q: want increasing positive integers", c.TokenBuckets)
		}
		out = append(out, n)
	}
	return out, nil
}

// checkRetired refuses -personal-data-orgs rather than ignore it: an
// organisation it listed would otherwise quietly switch to pseudonyms.
func checkRetired(c *Config) error {
	if c.PersonalDataOrgs != "" {
		return errors.New("-personal-data-orgs is retired: each organisation's owner sets its personal-data setting (tokenctl personal-data set --show, or the console's settings page); unset it")
	}
	return nil
}

// Validate joins every configuration problem.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate(), c.CheckListen("console-listen", c.ConsoleListen), c.oidc().Validate(), privacy.CheckKey(c.UserHashKey),
		checkRetired(c), c.Replication.validate(), c.Mail.SMTP.Validate()}
	errs = append(errs, c.checkClickHouseAddrs())
	if c.ClickHouseCluster != "" && !clusterName.MatchString(c.ClickHouseCluster) {
		errs = append(errs, fmt.Errorf("-clickhouse-cluster %s: want letters, digits, '_' and '-', at most 64", quote.Prefix(c.ClickHouseCluster)))
	}
	if c.ClickHouseDatabase == "" {
		errs = append(errs, config.Required("clickhouse-database"))
	} else if err := schema.CheckDatabase(c.ClickHouseDatabase); err != nil {
		errs = append(errs, fmt.Errorf("-clickhouse-database: %w", err))
	}
	if c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("-replicas %d: want at most 5", c.Replicas))
	}
	if c.FlushRows < 1 {
		errs = append(errs, fmt.Errorf("-projector-flush-rows %d: want at least 1", c.FlushRows))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("-projector-flush-interval %s: want a positive duration", c.FlushInterval))
	}
	if c.SessionMaxGap < 0 {
		errs = append(errs, fmt.Errorf("-session-max-gap %s: must not be negative", c.SessionMaxGap))
	}
	if _, err := c.buckets(); err != nil {
		errs = append(errs, err)
	}
	if _, err := advice.ParseSubscriptions(c.Subscriptions); err != nil {
		errs = append(errs, fmt.Errorf("-subscriptions: %w", err))
	}
	if c.TokenPrice < 0 {
		errs = append(errs, fmt.Errorf("-token-price %g: must not be negative", c.TokenPrice))
	}
	if c.ConsoleOIDC.Enabled() && !c.TLS.Serving() && !c.InsecurePlaintext {
		errs = append(errs, errors.New("-console-oidc-issuer: the console's session cookie is Secure: serve it with -tls-cert/-tls-key (or -insecure-plaintext for development)"))
	}
	if c.LedgerAddr != "" && c.LedgerAPIKey == "" && c.LedgerAPIKeyFile == "" {
		errs = append(errs, fmt.Errorf("-ledger-api-key is required with -ledger-addr"))
	}
	return errors.Join(errs...)
}

// Package tokenctl is tokenmeter's admin CLI: one cobra command tree over the
// services' gRPC APIs (no second path to the data). Each area is a command
// group (teams, users, products, packs, balance, keys, budgets, capacity,
// alerts, report, export, demo) with one use case per file; every command
// takes the connection settings shared by all — flags, then environment, then
// the config file, then defaults — from the root.
package tokenctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// Options are what a process gives the command tree besides its arguments.
type Options struct {
	// Getenv reads the environment (nil: os.Getenv). Tests pass their own.
	Getenv func(string) string
	// ReconnectMin and ReconnectMax bound a watch's backoff between
	// reconnections (defaults 500ms and 10s).
	ReconnectMin, ReconnectMax time.Duration
	// ProgressEvery is how often long work prints a progress line when
	// stderr is not a terminal (default 5s; a terminal gets a live bar).
	ProgressEvery time.Duration

	// afterStep, when set, is called by export after each chunk written and
	// by demo load after each launch sent, with the count so far (tests
	// interrupt there).
	afterStep func(n int64)
	// pageSize is how many items each page of a list call asks for
	// (default 1,000, the most a server gives); tests lower it.
	pageSize int
}

func (o *Options) defaults() {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 500 * time.Millisecond
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = 10 * time.Second
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.pageSize <= 0 {
		o.pageSize = 1000
	}
}

// app is the state shared by every command of one invocation.
type app struct {
	o        Options
	settings *settings
	conns    map[string]*conn
	warned   bool
}

// New builds the command tree. Run it with ExecuteContext; errors come back
// unprinted (Run prints them).
func New(o Options) *cobra.Command {
	_, root := newApp(o)
	return root
}

func newApp(o Options) (*app, *cobra.Command) {
	o.defaults()
	a := &app{o: o, conns: map[string]*conn{}}
	root := &cobra.Command{
		Use:   "tokenctl",
		Short: "Administer tokenmeter: teams, packs, balances, keys, budgets, alerts, reports and exports",
		Long: `tokenctl talks to tokenmeter's services over gRPC: the ledger (teams, users,
products, packs, balances, budgets, capacity), ingestion (launcher keys),
reporting (reports, exports) and alerting (alerts, rules, webhooks).

Connection settings come from flags, then the environment (TOKENMETER_*), then
the config file, then defaults. The config file is YAML, e.g.

    ledger_addr: ledger.example.internal:7071
    ingestion_addr: ingestion.example.internal:7070
    reporting_addr: reporting.example.internal:7072
    alerting_addr: alerting.example.internal:7073
    api_key: <an admin key of your organisation>

Keep it private (chmod 600): it holds a credential.

Every command prints a table by default; -o json prints the service's answer
as protojson (field names as in the .proto files), -o csv the table's rows.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	a.settings = registerSettings(root.PersistentFlags(), o.Getenv)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())
	})
	_ = root.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{outputTable, outputJSON, outputCSV}, cobra.ShellCompDirectiveNoFileComp
	})
	root.AddGroup(&cobra.Group{ID: groupLedger, Title: "Teams, users, products and tokens (ledger):"},
		&cobra.Group{ID: groupAccess, Title: "Launcher and access keys (ingestion):"},
		&cobra.Group{ID: groupReports, Title: "Reports and exports (reporting):"},
		&cobra.Group{ID: groupAlerts, Title: "Alerts (alerting):"},
		&cobra.Group{ID: groupTools, Title: "Tools:"})
	for _, c := range []*cobra.Command{a.teamsCommand(), a.usersCommand(), a.productsCommand(), a.packsCommand(),
		a.balanceCommand(), a.transactionsCommand(), a.budgetsCommand(), a.capacityCommand(), a.subscriptionsCommand(), a.personalDataCommand(), a.groupsCommand(),
		a.timeZoneCommand()} {
		c.GroupID = groupLedger
		root.AddCommand(c)
	}
	keys, access, whoami := a.keysCommand(), a.accessCommand(), a.whoamiCommand()
	keys.GroupID, access.GroupID, whoami.GroupID = groupAccess, groupAccess, groupAccess
	report, export, adv, plans := a.reportCommand(), a.exportCommand(), a.adviceApplyCommand(), a.plansCommand()
	report.GroupID, export.GroupID, adv.GroupID, plans.GroupID = groupReports, groupReports, groupReports, groupReports
	alerts := a.alertsCommand()
	alerts.GroupID = groupAlerts
	demo := a.demoCommand()
	demo.GroupID = groupTools
	root.AddCommand(keys, access, whoami, report, export, adv, plans, alerts, demo)
	root.SetHelpCommandGroupID(groupTools)
	root.SetCompletionCommandGroupID(groupTools)
	return a, root
}

// Command groups of the help.
const (
	groupLedger  = "ledger"
	groupAccess  = "access"
	groupReports = "reports"
	groupAlerts  = "alerts"
	groupTools   = "tools"
)

// Run executes args and prints any error to stderr as what went wrong and
// what to do; it returns the process exit code.
func Run(ctx context.Context, o Options, args []string, stdout, stderr io.Writer) int {
	a, cmd := newApp(o)
	defer a.close()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		if ctx.Err() != nil {
			// Interrupted (a watch stops cleanly instead, with 0); long
			// work says how to resume.
			if errors.Is(err, errInterrupted) {
				fmt.Fprintln(stderr, "tokenctl:", err)
			}
			return 130
		}
		fmt.Fprintln(stderr, "tokenctl:", err)
		return 1
	}
	return 0
}

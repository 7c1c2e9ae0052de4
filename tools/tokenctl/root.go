// Package tokenctl is tokenmeter's admin CLI: one cobra command tree over the
// services' gRPC APIs (no second path to the data). Each area is a command
// group (`alerts` today; ledger, reports, … later) whose commands take the
// connection settings shared by all — flags, then environment, then the
// config file, then defaults — from the root.
package tokenctl

import (
	"context"
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
}

// app is the state shared by every command of one invocation.
type app struct {
	o        Options
	settings *settings
}

// New builds the command tree. Run it with ExecuteContext; errors come back
// unprinted (Run prints them).
func New(o Options) *cobra.Command {
	o.defaults()
	a := &app{o: o}
	root := &cobra.Command{
		Use:   "tokenctl",
		Short: "Administer tokenmeter: alerts today, every admin operation soon",
		Long: `tokenctl talks to tokenmeter's services over gRPC.

Connection settings come from flags, then the environment (TOKENMETER_*), then
the config file, then defaults. The config file is YAML, e.g.

    alerting_addr: alerting.example.internal:7073
    api_key: <an admin key of your organisation>

Keep it private (chmod 600): it holds a credential.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	a.settings = registerSettings(root.PersistentFlags(), o.Getenv)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())
	})
	_ = root.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{outputTable, outputJSON}, cobra.ShellCompDirectiveNoFileComp
	})
	root.AddCommand(a.alertsCommand())
	return root
}

// Run executes args and prints any error to stderr as what went wrong and
// what to do; it returns the process exit code.
func Run(ctx context.Context, o Options, args []string, stdout, stderr io.Writer) int {
	cmd := New(o)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		if ctx.Err() != nil {
			return 130 // interrupted (a watch stops cleanly instead, with 0)
		}
		fmt.Fprintln(stderr, "tokenctl:", err)
		return 1
	}
	return 0
}

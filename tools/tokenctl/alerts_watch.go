package tokenctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) alertsWatchCommand() *cobra.Command {
	w := &watch{app: a}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow alerts as they are raised; resumes where it left off",
		Long: `Follow the alert stream and print each alert as it comes.

A watch remembers the last alert it printed in a state file and the next run
resumes right after it: no alert missed while it was stopped, none printed twice.
The first run starts from now. The state file is kept per alerting address,
API key and filters under $XDG_STATE_HOME/tokenmeter/alerts-watch/ (or
~/.local/state/…), or where --state-file says. --from N starts at sequence N
instead (--from 1: every alert kept).

When alerting goes away the watch reconnects with backoff and resumes; Ctrl-C
stops it. With -o json each alert is one JSON line.`,
		Example: `  tokenctl alerts watch
  tokenctl alerts watch --team design --kind low_balance,launch_denied
  tokenctl alerts watch --from 1 -o json | jq .message`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w.fromSet = cmd.Flags().Changed("from")
			return w.run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&w.teams, "team", nil, "only these teams (repeat or comma-separate)")
	f.StringSliceVar(&w.kinds, "kind", nil, "only these kinds, e.g. low_balance,launch_denied (repeat or comma-separate)")
	f.Uint64Var(&w.from, "from", 0, "start at this ALERTS sequence instead of where the last watch stopped (0: from now)")
	f.StringVar(&w.statePath, "state-file", "", "where the watch records its position (default under $XDG_STATE_HOME/tokenmeter/alerts-watch/)")
	_ = cmd.RegisterFlagCompletionFunc("kind", completeKinds)
	return cmd
}

// watch is one run of `alerts watch`.
type watch struct {
	app          *app
	teams, kinds []string
	from         uint64
	fromSet      bool
	statePath    string

	client  v1.AlertingServiceClient
	printer *streamPrinter
	stderr  io.Writer
	wait    time.Duration // the next reconnection's backoff
}

func (w *watch) run(cmd *cobra.Command) error {
	a := w.app
	client, err := a.alertingClient(cmd)
	if err != nil {
		return err
	}
	w.client, w.stderr, w.wait = client, cmd.ErrOrStderr(), a.o.ReconnectMin
	w.teams, w.kinds = sortedSet(w.teams), sortedSet(w.kinds)
	w.printer = &streamPrinter{w: cmd.OutOrStdout(), format: a.settings.Output}
	if w.statePath == "" {
		s := a.settings
		if w.statePath, err = defaultStatePath(a.o.Getenv, s.AlertingAddr, s.APIKey, s.Org, w.teams, w.kinds); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	next, err := w.start(ctx)
	if ctx.Err() != nil {
		return nil //nolint:nilerr // Ctrl-C before the first alert
	}
	if err != nil {
		return err
	}
	// Record the starting point at once: a watch stopped before its first
	// alert still resumes here, and an unwritable state file shows now.
	if err := w.save(next - 1); err != nil {
		return err
	}
	fmt.Fprintf(w.stderr, "tokenctl: watching alerts at %s from sequence %d (state %s)\n", a.settings.AlertingAddr, next, w.statePath)
	for {
		next, err = w.follow(ctx, next)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // Ctrl-C: the state already holds the last alert printed
		}
		if !retryable(err) {
			return w.app.explain(w.app.alerting(), v1.AlertingService_WatchAlerts_FullMethodName, err)
		}
		if !w.backoff(ctx, fmt.Sprintf("lost alerting at %s (%s); resuming from sequence %d", a.settings.AlertingAddr, status.Convert(err).Message(), next)) {
			return nil
		}
	}
}

// start is the first sequence to ask for: --from, else after the state
// file's, else after the newest alert there is now. It asks for the newest
// alert in any case, so a bad key or address shows before the watch begins.
func (w *watch) start(ctx context.Context) (uint64, error) {
	var newest uint64
	for {
		var err error
		if newest, err = w.newest(ctx); err == nil {
			break
		}
		if !retryable(err) {
			return 0, err
		}
		if !w.backoff(ctx, err.Error()) {
			return 0, ctx.Err()
		}
	}
	if w.fromSet && w.from > 0 {
		return w.from, nil
	}
	if !w.fromSet {
		st, found, err := loadState(w.statePath)
		if err != nil {
			return 0, err
		}
		if found {
			if newest < st.LastSequence {
				fmt.Fprintf(w.stderr, "tokenctl: warning: the state file says sequence %d was printed but the newest alert is %d: "+
					"was the alert stream reset? Pass --from 1 to start over\n", st.LastSequence, newest)
			}
			return st.LastSequence + 1, nil
		}
	}
	return newest + 1, nil
}

// newest is the sequence of the newest alert of the watched teams (0: none).
func (w *watch) newest(ctx context.Context) (uint64, error) {
	resp, err := w.client.ListAlerts(ctx, &v1.ListAlertsRequest{TeamIds: w.teams, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(resp.GetAlerts()) == 0 {
		return 0, nil
	}
	return resp.GetAlerts()[0].GetSequence(), nil
}

// follow streams alerts from next until the stream ends, printing each and
// recording it; it returns the sequence to resume from and why it ended (a
// call's status as it came, or a local failure).
func (w *watch) follow(ctx context.Context, next uint64) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := time.Now()
	stream, err := w.client.WatchAlerts(ctx, &v1.WatchAlertsRequest{FromSequence: next, TeamIds: w.teams, Kinds: w.kinds})
	if err != nil {
		return next, err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "the stream ended")
			}
			if time.Since(started) > w.app.o.ReconnectMax {
				w.wait = w.app.o.ReconnectMin // it was up for a while: start the backoff afresh
			}
			return next, err
		}
		al := resp.GetAlert()
		if al.GetSequence() < next {
			continue // never print one twice, whatever the server sends
		}
		if err := w.printer.print(al); err != nil {
			return next, fmt.Errorf("print alert: %w", err)
		}
		next = al.GetSequence() + 1
		if err := w.save(al.GetSequence()); err != nil {
			return next, err
		}
		w.wait = w.app.o.ReconnectMin
	}
}

// save records that every alert up to seq is done.
func (w *watch) save(seq uint64) error {
	s := w.app.settings
	st := watchState{Endpoint: s.AlertingAddr, Org: s.Org, Teams: w.teams, Kinds: w.kinds, LastSequence: seq, UpdatedAt: time.Now().UTC()}
	return st.save(w.statePath)
}

// backoff tells why it waits, waits and doubles the next wait; false if ctx
// ended meanwhile.
func (w *watch) backoff(ctx context.Context, why string) bool {
	fmt.Fprintf(w.stderr, "tokenctl: %s; retrying in %s\n", why, w.wait.Round(time.Millisecond))
	t := time.NewTimer(w.wait)
	defer t.Stop()
	w.wait = min(2*w.wait, w.app.o.ReconnectMax)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

package tokenctl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/demo"
)

func (a *app) demoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load demo data: products, teams, packs, users and weeks of launch history",
	}
	cmd.AddCommand(a.demoLoadCommand())
	return cmd
}

func (a *app) demoLoadCommand() *cobra.Command {
	var (
		p         demoPlan
		teams     string
		statePath string
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Backfill demo history through the ledger; Ctrl-C and re-run resumes",
		Long: `Load demo data into your organisation: the seed documents' products and daily
rates, one purchase pack per team sized for its history, --users users per
team assigned to every product, and --weeks of weekday launches ending the
day before --until (working mornings, a second product now and then,
launches again after lunch that the open window covers).

The products, packs and assignments are set with your admin key (--api-key).
The history is replayed through the ledger's Authorize with the server time
of each launch, which only a service key may do: give it with --service-key
(or TOKENMETER_SERVICE_KEY) and name your organisation with --org.

Every launch has an event id made from the plan (team, user, product, day),
so the ledger charges each at most once however often it is sent: re-running
the command changes nothing that is already there. A state file records how
far the load got; after Ctrl-C (or a lost connection) the same command
resumes from there, on the same days even if the date has changed since.`,
		Example: `  tokenctl demo load --org demo --weeks 6
  tokenctl demo load --org acme --teams design,civil,plant --users 20 --weeks 26 --until 2026-03-31`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p.Teams = uniqueInOrder(strings.Split(teams, ","))
			l := &demoLoad{app: a, cmd: cmd, plan: p, untilSet: cmd.Flags().Changed("until"), statePath: statePath}
			return l.run()
		},
	}
	f := cmd.Flags()
	f.StringVar(&teams, "teams", "design,civil", "teams to load, comma-separated")
	f.IntVar(&p.Users, "users", 6, "users per team")
	f.IntVar(&p.Weeks, "weeks", 6, "weeks of history (1-52)")
	f.StringVar(&p.Until, "until", time.Now().UTC().Format(time.DateOnly), "the history ends the day before this date")
	f.Uint64Var(&p.Seed, "seed", 42, "seed of the plan: the same seed, the same history")
	f.StringVar(&statePath, "state-file", "", "where the load records its progress (default under $XDG_STATE_HOME/tokenmeter/demo-load/)")
	return cmd
}

// demoLoad is one run of `demo load`.
type demoLoad struct {
	app       *app
	cmd       *cobra.Command
	plan      demoPlan
	untilSet  bool
	statePath string
}

func (l *demoLoad) run() error {
	a := l.app
	if err := a.settings.resolve(); err != nil {
		return err
	}
	s := a.settings
	if s.ServiceKey == "" || s.Org == "" {
		return errors.New("demo load replays history through the ledger's Authorize, which takes a service key: " +
			"set --service-key (or TOKENMETER_SERVICE_KEY) and name your organisation with --org (or TOKENMETER_ORG)")
	}
	st, err := l.loadState()
	if err != nil {
		return err
	}
	if err := l.plan.validate(); err != nil {
		return err
	}
	launches := l.plan.launches()
	admin, err := a.ledgerClient(l.cmd)
	if err != nil {
		return err
	}
	if !st.SetupDone {
		if err := l.setup(admin, launches); err != nil {
			return err
		}
		st.SetupDone = true
		if err := st.save(l.statePath); err != nil {
			return err
		}
	}
	svcConn, err := a.dial(l.cmd, svcLedger, s.ServiceKey)
	if err != nil {
		return err
	}
	service := v1.NewLedgerServiceClient(svcConn)
	if n := st.Done; n > 0 {
		fmt.Fprintf(l.cmd.ErrOrStderr(), "tokenctl: resuming the demo load at launch %d of %d (state %s)\n", n+1, len(launches), l.statePath)
	}
	pr := a.newProgress(l.cmd, "demo load", "launches", int64(len(launches)), int64(st.Done))
	err = l.replay(service, launches, st, pr)
	pr.finish(err)
	if err != nil {
		if l.cmd.Context().Err() != nil {
			return fmt.Errorf("%w: the demo load stopped after %d of %d launches; run the same command again to resume it", errInterrupted, st.Done, len(launches))
		}
		return fmt.Errorf("%w\n%d of %d launches are in; run the same command again to resume", err, st.Done, len(launches))
	}
	if err := st.remove(l.statePath); err != nil {
		return err
	}
	return l.report(admin, len(launches))
}

// setup sets the products, one pack per team and the assignments.
func (l *demoLoad) setup(admin v1.LedgerServiceClient, launches []demoLaunch) error {
	ctx := l.cmd.Context()
	start := l.plan.start()
	current, err := l.app.listProducts(ctx, admin)
	if err != nil {
		return err
	}
	have := map[string]*v1.Product{}
	for _, pr := range current.GetProducts() {
		have[pr.GetProductCode()] = pr
	}
	// Event ids derive from the history's start: a re-run, or a retry after
	// a failure, applies nothing twice.
	day := start.Format("20060102")
	for _, pr := range demo.Products {
		if c := have[pr.Code]; c != nil && c.GetDailyRate() == pr.Rate && !c.GetEffectiveFrom().AsTime().After(start) {
			continue // already there, from before the history
		}
		if _, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{
			EventId: "demo-rate-" + pr.Code + "-" + day, ProductCode: pr.Code, Name: pr.Name, Group: pr.Group, DailyRate: pr.Rate,
			EffectiveFrom: timestamppb.New(start.AddDate(-1, 0, 0)),
		}); err != nil {
			return fmt.Errorf("product %s: %w", pr.Code, err)
		}
	}
	for _, team := range l.plan.Teams {
		if _, err := admin.AddPack(ctx, &v1.AddPackRequest{
			EventId: "demo-pack-" + team + "-" + day, TeamId: team, PackId: team + "-demo-" + day,
			Tokens: l.plan.packTokens(launches, team), UnitPriceMicros: 3_000_000, Currency: "USD",
			PurchasedAt: timestamppb.New(start.AddDate(0, 0, -1)), Source: v1.PackSource_PACK_SOURCE_PURCHASE, Reason: "demo purchase",
		}); err != nil {
			return fmt.Errorf("pack of %s: %w", team, err)
		}
		for ui := range l.plan.Users {
			user := l.plan.userID(team, ui)
			if _, err := admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "demo-assign-" + team + "-" + user + "-" + day,
				TeamId: team, UserId: user, ProductCodes: []string{"*"}}); err != nil {
				return fmt.Errorf("assign %s: %w", user, err)
			}
		}
	}
	return nil
}

// replay sends the launches from st.Done on, recording progress. They go
// one at a time in time order across teams, as launches happen: the event
// log then reads like real life to reporting and alerting (replaying teams
// side by side interleaves months and slows the ClickHouse projection
// down), and a count is the whole checkpoint.
func (l *demoLoad) replay(service v1.LedgerServiceClient, launches []demoLaunch, st *demoState, pr *progress) error {
	ctx := l.cmd.Context()
	saved := time.Now()
	defer func() { _ = st.save(l.statePath) }()
	for i := st.Done; i < len(launches); i++ {
		ln := launches[i]
		if _, err := service.Authorize(ctx, authorizeOf(ln)); err != nil {
			return fmt.Errorf("launch %s: %w", ln.id, err)
		}
		st.Done = i + 1
		pr.set(int64(st.Done))
		if time.Since(saved) > time.Second {
			saved = time.Now()
			if err := st.save(l.statePath); err != nil {
				return err
			}
		}
		if l.app.o.afterStep != nil {
			l.app.o.afterStep(int64(st.Done))
		}
	}
	return nil
}

func authorizeOf(ln demoLaunch) *v1.AuthorizeRequest {
	return &v1.AuthorizeRequest{
		Launch: &v1.LaunchRequest{
			EventId: ln.id, TeamId: ln.team, UserId: ln.user, ProductCode: ln.product, ProductVersion: "2026",
			DeviceId: ln.user + "-laptop", OccurredAt: timestamppb.New(ln.at), Attributes: map[string]string{"project": ln.project},
		},
		ReceivedAt: timestamppb.New(ln.at),
	}
}

// report prints the teams' balances as the ledger has them now.
func (l *demoLoad) report(admin v1.LedgerServiceClient, launches int) error {
	resp := &v1.ListTeamsResponse{}
	for _, team := range l.plan.Teams {
		b, err := admin.GetBalance(l.cmd.Context(), &v1.GetBalanceRequest{TeamId: team})
		if err != nil {
			return err
		}
		resp.Teams = append(resp.Teams, b.GetBalance())
	}
	t := balanceTable(resp.GetTeams())
	t.note("loaded %d launches over %d weeks up to %s for %d users in %d teams", launches, l.plan.Weeks, l.plan.Until,
		l.plan.Users*len(l.plan.Teams), len(l.plan.Teams))
	return l.app.emit(l.cmd, resp, t)
}

// uniqueInOrder drops blanks and repeats, keeping the given order (a
// team's position shapes its history).
func uniqueInOrder(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

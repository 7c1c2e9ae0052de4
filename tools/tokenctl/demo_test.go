package tokenctl

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

func testDemoLoadResumes(t *testing.T, s *stack) {
	env := s.env(t)
	plan := func(team string) []string {
		return []string{"demo", "load", "--teams", team, "--users", "3", "--weeks", "3", "--until", "2026-03-02"}
	}
	// Straight through.
	out := ok(t, env, plan("dl-whole")...)
	require.Contains(t, out, "loaded ")

	// The same plan for another team, interrupted twice, then resumed.
	var total int64
	interrupt := func(after int64) result {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		return ctlCtx(ctx, Options{afterStep: func(n int64) {
			total = max(total, n)
			if n == after {
				cancel()
			}
		}}, env, plan("dl-parts")...)
	}
	r := interrupt(10)
	require.Equal(t, 130, r.code, r.stderr)
	require.Contains(t, r.stderr, "tokenctl: interrupted: the demo load stopped after 10 of ")
	require.Contains(t, r.stderr, "run the same command again to resume it")
	r = interrupt(25)
	require.Equal(t, 130, r.code, r.stderr)
	require.Contains(t, r.stderr, "resuming the demo load at launch 11 of ")
	require.Equal(t, int64(25), total, "the resumed run started after the 10 done")
	r = ctlWith(t, Options{}, env, plan("dl-parts")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "resuming the demo load at launch 26 of ")
	require.Contains(t, r.stderr, "demo load: done, ")

	// Both pools hold the same history, and a full re-run charges nothing
	// twice: its event ids are those of the first run, so it appends nothing.
	before := logEvents(t, s, "dl-parts")
	require.Positive(t, before)
	again := ok(t, env, plan("dl-parts")...)
	require.Contains(t, again, "loaded ")
	require.Equal(t, before, logEvents(t, s, "dl-parts"), "the re-run appended events")
	whole, parts := balance(t, s, "dl-whole"), balance(t, s, "dl-parts")
	require.Positive(t, whole.GetUsed())
	require.Equal(t, whole.GetUsed(), parts.GetUsed())
	require.Equal(t, whole.GetAvailable(), parts.GetAvailable())
	require.Equal(t, whole.GetPurchased(), parts.GetPurchased())

	r = ctl(t, map[string]string{"TOKENMETER_LEDGER_ADDR": s.Ledger.Addr(), "TOKENMETER_API_KEY": env["TOKENMETER_API_KEY"],
		"XDG_CONFIG_HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir()}, plan("dl-x")...)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "takes a service key: set --service-key (or TOKENMETER_SERVICE_KEY) and name your organisation with --org")
}

// logEvents counts the events of a team's pool in the log.
func logEvents(t *testing.T, s *stack, team string) int {
	t.Helper()
	nc, err := nats.Connect(s.natsURL, testkit.Options(t, s.natsURL, "reader")...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	n := 0
	_, err = eventlog.ReadSubject(t.Context(), js, eventlog.LedgerStream, eventlog.LedgerSubject(devstack.DemoOrg, team), 0,
		func(eventlog.Stored) error { n++; return nil })
	require.NoError(t, err)
	return n
}

func balance(t *testing.T, s *stack, team string) *v1.Balance {
	t.Helper()
	b, err := s.ledger.GetBalance(t.Context(), &v1.GetBalanceRequest{TeamId: team})
	require.NoError(t, err)
	return b.GetBalance()
}

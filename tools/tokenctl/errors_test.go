package tokenctl

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func testErrors(t *testing.T, s *stack) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"tokens not a number", nil, []string{"packs", "add", "err-a", "p1", "lots"},
			[]string{`invalid TOKENS "lots": want a positive whole number`}},
		{"missing argument", nil, []string{"packs", "add", "err-a", "p1"},
			[]string{"tokenctl packs add takes 3 argument(s), TEAM PACK_ID TOKENS; got 2", "run 'tokenctl packs add --help' for usage"}},
		{"bad team id, named by the server", nil, []string{"balance", "a.b"},
			[]string{`invalid TEAM: team_id "a.b" must be 1-64 letters, digits, '-' or '_'`}},
		{"reason required by the server", nil, []string{"packs", "remove", "err-a", "5"},
			[]string{"invalid --reason: is required: say why tokens are taken out"}},
		{"two fields wrong", nil, []string{"packs", "move", "err-a", "err-a", "5"},
			[]string{"invalid --reason: is required", "invalid TO_TEAM: must differ from team_id"}},
		{"bad date, named by the server", nil, []string{"report", "by-day", "--team", "err-a", "--from", "2026-13-01"},
			[]string{`invalid --from: "2026-13-01" is not a YYYY-MM-DD date`}},
		{"unknown range", nil, []string{"report", "summary", "--range", "2m"},
			[]string{`invalid --range "2m": want one of this-month, last-3-months, last-6-months, last-9-months, last-12-months (or 3m, 6m, 9m, 12m)`}},
		{"range and dates", nil, []string{"export", "x.csv", "--range", "3m", "--from", "2026-01-01"},
			[]string{"give --range or --from/--to, not both"}},
		{"unknown pack source", nil, []string{"packs", "add", "err-a", "p1", "10", "--source", "gift"},
			[]string{`invalid --source "gift": want one of purchase, true-up, adjustment`}},
		{"remove more than there is", nil, []string{"packs", "remove", "err-a", "5", "--reason", "x"},
			[]string{"ledger refused: "}},
		{"launcher key", map[string]string{"TOKENMETER_API_KEY": "dev-launcher-design"}, []string{"teams", "list"},
			[]string{"this key's role launcher may not call ListTeams (viewer, admin, owner may); ask an owner of your organisation for a viewer key ('tokenctl access create viewer')"}},
		{"unknown key", map[string]string{"TOKENMETER_API_KEY": "nope"}, []string{"keys", "list"},
			[]string{"ingestion at " + s.Ingestion.Addr() + " does not accept the API key from TOKENMETER_API_KEY"}},
		{"ledger down: the change may be retried", map[string]string{"TOKENMETER_LEDGER_ADDR": "127.0.0.1:1"},
			[]string{"packs", "add", "err-a", "p1", "10", "--event-id", "err-retry-1"},
			[]string{"cannot reach ledger at 127.0.0.1:1: nothing listens there; is it running? check --ledger-addr or TOKENMETER_LEDGER_ADDR",
				"the change may or may not have been applied: repeat it with --event-id err-retry-1"}},
		{"bad output", map[string]string{"TOKENMETER_OUTPUT": "yaml"}, []string{"teams", "list"},
			[]string{`output "yaml" (TOKENMETER_OUTPUT): want table, json or csv`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := s.env(t)
			for k, v := range tt.env {
				env[k] = v
			}
			r := ctl(t, env, tt.args...)
			require.Equal(t, 1, r.code, "stdout: %s", r.out)
			require.Empty(t, r.out)
			require.Regexp(t, `^tokenctl: .*`+regexp.QuoteMeta(tt.want[0]), r.stderr)
			for _, w := range tt.want {
				require.Contains(t, r.stderr, w)
			}
		})
	}
}

func testCompletion(t *testing.T, s *stack) {
	env := s.env(t)
	ok(t, env, "packs", "add", "cmp-team", "cmp-1", "10")
	ok(t, env, "products", "set-rate", "CMP-PROD", "3", "--name", "Completion")

	out := ok(t, env, "completion", "bash")
	require.Contains(t, out, "__start_tokenctl")
	require.Contains(t, ok(t, env, "__complete", "balance", ""), "cmp-team\t10 tokens available")
	require.Contains(t, ok(t, env, "__complete", "packs", "move", "cmp-team", ""), "cmp-team")
	require.Contains(t, ok(t, env, "__complete", "products", "set-rate", ""), "CMP-PROD\tCompletion")
	require.Contains(t, ok(t, env, "__complete", "users", "assign", "cmp-team", "ann", "--products", ""), "CMP-PROD")
	out = ok(t, env, "__complete", "report", "by-day", "--range", "")
	for _, r := range []string{"this-month", "last-3-months", "last-12-months"} {
		require.Contains(t, out, r)
	}
	require.Contains(t, ok(t, env, "__complete", "alerts", "rules", "set", "cmp-team", "low"), "low_balance.percent=")
	require.Contains(t, ok(t, env, "__complete", "packs", "add", "x", "y", "1", "--source", ""), "true-up")
}

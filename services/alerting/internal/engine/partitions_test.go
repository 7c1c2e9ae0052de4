package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// Each partition stream's engine resumes from its own stream's alerts: the
// streams' sequences overlap, so one engine judging by another's history
// would take its new alerts for published ones (or publish old ones again).
func TestPartitionEnginesResumeFromTheirOwnAlerts(t *testing.T) {
	t.Parallel()
	js := connect(t)
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{Update: true, Partitions: 2}, eventlog.LedgerStreams(2)...))
	count := newPublishLog()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	design := &ledger{t: t, js: js, at: at, partitioned: true, part: 0}
	ops := &ledger{t: t, js: js, at: at, partitioned: true, part: 1}
	var want []string
	last := map[string]uint64{}
	expect := func(team string, seq uint64) {
		want = append(want, rules.AlertID(rules.KindLowBalance, "acme", team, seq))
		last[team] = seq
	}

	design.append("design", packAdded, 1000, 1000)
	for i := range 6 {
		design.append("design", charged, int64(900-100*i), 1000)
	}
	expect("design", design.append("design", charged, 100, 1000)) // LEDGER-0's 8th event
	ops.append("ops", packAdded, 1000, 1000)
	expect("ops", ops.append("ops", charged, 100, 1000)) // LEDGER-1's 2nd
	run := func() {
		d, o := startOn(t, js, count, "LEDGER-0"), startOn(t, js, count, "LEDGER-1")
		d.wait(t, last["design"])
		o.wait(t, last["ops"])
		d.stop(t)
		o.stop(t)
	}
	run()

	ops.append("ops", packAdded, 1100, 2000)
	expect("ops", ops.append("ops", charged, 300, 2000)) // LEDGER-1's 4th: below LEDGER-0's last alert
	run()
	run()

	got := stored(t, js)
	require.ElementsMatch(t, want, ids(got), "every alert once, none lost")
	for _, a := range got {
		require.Equal(t, map[string]string{"design": "LEDGER-0", "ops": "LEDGER-1"}[a.GetTeamId()], a.GetSourceStream())
	}
	n, dupes := count.published()
	require.Equal(t, len(want), n, "no alert published again by a restart")
	require.Zero(t, dupes)
}

package alerting_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting"
)

// splitLedger narrows LEDGER to the one-stream layout's subjects and
// creates n partition streams beside it, as provisioning a partitioned log does.
func splitLedger(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{Update: true, Partitions: n}, eventlog.LedgerStreams(n)...))
}

// alertFacts are what an alert says, without what depends on the layout
// (its id and source sequence name a stream's sequence).
func alertFacts(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var out []string
	_, err := eventlog.ReadSubject(t.Context(), js, eventlog.AlertsStream, "alerts.>", 0, func(s eventlog.Stored) error {
		a := s.Event.GetAlert()
		out = append(out, fmt.Sprintf("%s/%s %s %s at %s: %s %v", a.GetOrgId(), a.GetTeamId(), a.GetKind(), a.GetSeverity(),
			a.GetRaisedAt().AsTime().Format(time.RFC3339), a.GetMessage(), a.GetFigures()))
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	return out
}

// The same events raise the same alerts whether the pools are in one
// LEDGER stream or spread over partition streams (found after the start)
// beside the one-stream layout; each alert names the stream it came from.
func TestPartitionedLogRaisesTheSameAlerts(t *testing.T) {
	t.Parallel()
	pools := []struct {
		org, team string
		part      int
	}{{"acme", "design", 0}, {"acme", "ops", 1}, {"other", "eng", 2}, {"acme", "legacy", subject.Unpartitioned}}
	run := func(partitioned bool) (facts, sources []string) {
		h := startServiceWith(t, true, func(c *alerting.Config) { c.StreamScan = 20 * time.Millisecond })
		admin, err := jetstream.New(testkit.Connect(t, h.url, "admin"))
		require.NoError(t, err)
		if partitioned {
			splitLedger(t, admin, 3)
		}
		in := func(i int) int {
			if partitioned {
				return pools[i].part
			}
			return subject.Unpartitioned
		}
		for i, p := range pools {
			h.appendIn(in(i), p.org, p.team, packAdded(), 1000, 1000)
		}
		for round := range 3 {
			for i, p := range pools {
				h.appendIn(in(i), p.org, p.team, charged(), int64(300-100*round), 1000)
				h.appendIn(in(i), p.org, p.team, &v1.Event{Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{
					ProductCode: "RVT", Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, TokensRequired: 200}}}, int64(300-100*round), 1000)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err = eventlog.ReadSubject(ctx, admin, eventlog.AlertsStream, "alerts.>", 0, func(s eventlog.Stored) error {
			sources = append(sources, s.Event.GetAlert().GetSourceStream())
			return nil
		})
		require.NoError(t, err)
		return alertFacts(t, admin), sources
	}
	one, oneSources := run(false)
	split, splitSources := run(true)
	require.Len(t, one, 4*2, "a denied launch and a low balance a pool")
	require.Equal(t, one, split, "the same alerts on either layout")
	require.Subset(t, []string{"LEDGER"}, oneSources)
	for _, s := range []string{"LEDGER", "LEDGER-0", "LEDGER-1", "LEDGER-2"} {
		require.Contains(t, splitSources, s, "alerts from every stream")
	}
}

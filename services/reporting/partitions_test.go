package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// addPartitions narrows LEDGER and USAGE to the one-stream layout's
// subjects and creates partitions from..to-1 of each beside them, as
// provisioning a partitioned log does.
func addPartitions(t *testing.T, natsURL string, from, to int) {
	t.Helper()
	js, err := jetstream.New(testkit.Connect(t, natsURL, "admin"))
	require.NoError(t, err)
	// Provisioning keeps the streams it finds: partitions below from stay.
	names := append(eventlog.LedgerStreams(to), eventlog.UsageStreams(to)...)
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{Update: true, Partitions: to}, names...))
}

// chargeIn appends n charges of 10 tokens to acme's team in partition p.
func chargeIn(t *testing.T, js jetstream.JetStream, p int, team string, from, n int) {
	t.Helper()
	at := time.Now().UTC().Add(-time.Hour)
	for i := from; i < from+n; i++ {
		ev := charge("acme", team, fmt.Sprintf("%s-%d", team, i), "REVIT", 10, at)
		_, err := eventlog.Append(t.Context(), js, subject.LedgerSubjectIn(p, "acme", team), ev, nil)
		require.NoError(t, err)
	}
}

func acmeTotal(t *testing.T, svc interface{ Addr() string }, teams ...string) int64 {
	r, err := client(t, svc.Addr(), acmeKey).GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{TeamIds: teams})
	require.NoError(t, err)
	return r.GetTotalTokens()
}

var partitionTeams = []string{"legacy", "design", "ops", "late"}

// Reporting projects the one-stream layout and every partition stream,
// LEDGER's and USAGE's, a partition created after its start included, and
// waits for all of them before it calls the log projected.
func TestEveryPartitionStreamIsProjected(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	cfg := serviceConfig(t, natsURL)
	cfg.StreamScan = 50 * time.Millisecond
	addPartitions(t, natsURL, 0, 2)
	svc, _ := runService(t, cfg)
	js := logAs(t, natsURL, "ledger")

	chargeIn(t, js, subject.Unpartitioned, "legacy", 0, 3)
	chargeIn(t, js, 0, "design", 0, 5)
	chargeIn(t, js, 1, "ops", 0, 7)
	require.Eventually(t, func() bool { return acmeTotal(t, svc, partitionTeams...) == 150 }, 10*time.Second, 10*time.Millisecond)
	require.True(t, svc.CaughtUp(t.Context(), eventlog.LedgerStream))

	addPartitions(t, natsURL, 2, 3) // a change of N while reporting runs
	chargeIn(t, js, 2, "late", 0, 4)
	require.Eventually(t, func() bool { return acmeTotal(t, svc, partitionTeams...) == 190 }, 10*time.Second, 10*time.Millisecond,
		"the partition created after the start is found and projected")
	require.Equal(t, int64(40), acmeTotal(t, svc, "late"))
	require.Eventually(t, func() bool { return svc.CaughtUp(t.Context(), eventlog.LedgerStream) }, 5*time.Second, 10*time.Millisecond)

	usage := logAs(t, natsURL, "ingestion")
	ack, err := eventlog.Append(t.Context(), usage, subject.UsageSubjectIn(2, "acme", "late"), &v1.Event{
		EventId: "launch-1", OrgId: "acme", TeamId: "late", ServerTime: timestamppb.Now(),
		Payload: &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{UserId: "ann", ProductCode: "REVIT", WindowId: "w1"}},
	}, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return svc.StreamCaughtUpTo("USAGE-2") >= ack.Sequence }, 10*time.Second, 10*time.Millisecond)
	require.True(t, svc.CaughtUp(t.Context(), eventlog.UsageStream))
}

// Two replicas share the streams through one lease each: every stream is
// projected by one of them, and when one stops the other takes its
// partitions over, each from its own position, no charge lost or doubled.
func TestReplicasSharePartitionStreams(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	cfg := serviceConfig(t, natsURL)
	cfg.ProjectionLease = time.Second
	addPartitions(t, natsURL, 0, 3)
	a, stopA := runService(t, cfg)
	b, _ := runService(t, cfg)
	const streams = 2 * 4
	require.Eventually(t, func() bool { return a.Projecting()+b.Projecting() == streams }, 10*time.Second, 10*time.Millisecond,
		"each of the %d streams is projected by one replica", streams)

	js := logAs(t, natsURL, "ledger")
	publish := func(from, n int) {
		chargeIn(t, js, subject.Unpartitioned, "legacy", from, n)
		chargeIn(t, js, 0, "design", from, n)
		chargeIn(t, js, 1, "ops", from, 2*n)
		chargeIn(t, js, 2, "late", from, 3*n)
	}
	publish(0, 5)
	require.Eventually(t, func() bool { return acmeTotal(t, a, partitionTeams...) == 350 }, 10*time.Second, 10*time.Millisecond)
	stopA()
	publish(100, 3)
	require.Eventually(t, func() bool { return acmeTotal(t, b, partitionTeams...) == 560 }, 5*cfg.ProjectionLease, 10*time.Millisecond,
		"the other replica takes the stopped one's streams over")
	require.Equal(t, streams, b.Projecting())
	for range 5 { // a second projection would add its copies within a flush or two
		time.Sleep(100 * time.Millisecond)
		require.Equal(t, int64(560), acmeTotal(t, b, partitionTeams...), "every charge once")
	}
	require.Equal(t, int64(240), acmeTotal(t, b, "late"))
}

// Refused launches page newest first by time over every partition stream,
// whose sequences overlap: every refusal once, in the order one stream gives.
func TestDenialPagesOverPartitionStreams(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	cfg := serviceConfig(t, natsURL)
	addPartitions(t, natsURL, 0, 2)
	showPersonalData(t, natsURL, "acme")
	svc, _ := runService(t, cfg)
	js := logAs(t, natsURL, "ledger")
	now := time.Now().UTC().Truncate(time.Second)
	var want []string
	for i := range 6 {
		team, part := "design", 0
		if i%2 == 1 {
			team, part = "ops", 1
		}
		user := fmt.Sprintf("u%d", i)
		_, err := eventlog.Append(t.Context(), js, subject.LedgerSubjectIn(part, "acme", team), &v1.Event{
			EventId: "deny-" + user, OrgId: "acme", TeamId: team, ServerTime: timestamppb.New(now.Add(time.Duration(i-7) * time.Hour)),
			Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: user, ProductCode: "REVIT",
				Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, TokensRequired: 10}},
		}, nil)
		require.NoError(t, err)
		want = append([]string{team + " " + user}, want...) // newest first
	}
	c := client(t, svc.Addr(), acmeKey)
	req := &v1.GetDenialsRequest{TeamIds: []string{"design", "ops"}, PageSize: 2}
	require.Eventually(t, func() bool {
		r, err := c.GetDenials(t.Context(), &v1.GetDenialsRequest{TeamIds: req.TeamIds})
		return err == nil && r.GetTotalDenials() == 6
	}, 10*time.Second, 10*time.Millisecond)
	var seen []string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3)
		resp, err := c.GetDenials(t.Context(), req)
		require.NoError(t, err)
		for _, d := range resp.GetDenials() {
			seen = append(seen, d.GetTeamId()+" "+d.GetUserId())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	require.Equal(t, want, seen)
}

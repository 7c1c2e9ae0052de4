package chaos

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The ledger checks find each fault they look for: a lost charge, a charge
// of other tokens, a refusal logged as a charge, an event id decided twice,
// a pool below zero.
func TestLedgerChecksFindFaults(t *testing.T) {
	l := &ledgerLog{decisions: map[string][]decided{}, charges: map[string]teamTotals{}, packs: map[string]int64{}}
	charged := func(seq uint64, id string, tokens, available int64) {
		l.add(eventlog.Stored{Sequence: seq, Event: &v1.Event{EventId: id, TeamId: "design",
			Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{Tokens: tokens, Pool: &v1.PoolFigures{Available: available}}}}})
	}
	charged(1, "ok", 3, 7)
	charged(2, "other-tokens", 3, 4)
	charged(3, "refused-but-charged", 2, 2)
	charged(4, "twice", 2, 0)
	charged(5, "twice", 2, -2)
	authorized := func(id string, tokens int64) attempt {
		return attempt{id: id, code: codes.OK, decision: v1.Decision_DECISION_AUTHORIZED, tokens: tokens}
	}
	f := l.faults([]attempt{
		authorized("ok", 3),
		authorized("lost", 3),
		authorized("other-tokens", 5),
		{id: "refused-but-charged", code: codes.OK, decision: v1.Decision_DECISION_DENIED},
		{id: "unanswered", code: codes.Unavailable},
	})
	require.Equal(t, []string{"lost"}, f.missing)
	require.Len(t, f.wrong, 2)
	require.Contains(t, f.wrong[0], "other-tokens")
	require.Contains(t, f.wrong[1], "refused-but-charged")
	require.Len(t, f.twice, 1)
	require.Len(t, f.twice["twice"], 2)
	require.Len(t, f.negative, 1)
	require.Equal(t, teamTotals{Charges: 5, Tokens: 12}, l.charges["design"])
}

// The cluster checks find a stream without a leader, one short of a
// replica and one with a replica behind, and who leads what.
func TestClusterChecksFindFaults(t *testing.T) {
	info := func(name, leader string, replicas ...*jetstream.PeerInfo) *jetstream.StreamInfo {
		return &jetstream.StreamInfo{Config: jetstream.StreamConfig{Name: name},
			Cluster: &jetstream.ClusterInfo{Leader: leader, Replicas: replicas}}
	}
	current := &jetstream.PeerInfo{Name: "nats-1", Current: true}
	infos := []*jetstream.StreamInfo{
		info("OK", "nats-0", current, &jetstream.PeerInfo{Name: "nats-2", Current: true}),
		info("LEADERLESS", "", current, current),
		info("SHORT", "nats-0", current),
		info("BEHIND", "nats-2", current, &jetstream.PeerInfo{Name: "nats-0"}),
		{Config: jetstream.StreamConfig{Name: "UNCLUSTERED"}},
	}
	bad := notCurrent(infos, 3)
	require.Len(t, bad, 4)
	for i, name := range []string{"LEADERLESS", "SHORT", "BEHIND", "UNCLUSTERED"} {
		require.True(t, strings.HasPrefix(bad[i], name+":"), bad[i])
	}
	require.Empty(t, notCurrent(infos[:1], 3))
	require.Equal(t, map[string][]string{"nats-0": {"OK", "SHORT"}, "nats-2": {"BEHIND"}}, leadersOf(infos))

	// A run without the ledgers' balancer ended so: LEDGER's partitions
	// spread, USAGE's on two nodes.
	parts := []*jetstream.StreamInfo{info("LEDGER-0", "nats-2"), info("LEDGER-1", "nats-1"), info("LEDGER-2", "nats-0"),
		info("USAGE-0", "nats-1"), info("USAGE-1", "nats-0"), info("USAGE-2", "nats-1"), info("USAGE", "nats-2")}
	require.Equal(t, []string{"USAGE partitions led by map[nats-0:[USAGE-1] nats-1:[USAGE-0 USAGE-2]]"}, unspread(parts, 3))
	require.Empty(t, unspread(parts, 2), "two partitions: two nodes each")
	parts[5] = info("USAGE-2", "nats-2")
	require.Empty(t, unspread(parts, 3))
}

// listenerRig is a rigged component: a TCP listener on addr.
type listenerRig struct {
	addr  string
	l     net.Listener
	kills int
}

func (r *listenerRig) Kill() error { r.kills++; return r.l.Close() }

func (r *listenerRig) Start() (err error) {
	r.l, err = net.Listen("tcp", r.addr)
	return err
}

// A component another rig runs is killed and started through that rig,
// and counts as back once its address accepts again.
func TestRiggedComponentBounces(t *testing.T) {
	r := &listenerRig{addr: freeAddr(t)}
	require.NoError(t, r.Start())
	p := &proc{name: "rigged", addr: r.addr, rig: r}
	o, err := bounce(p, 10*time.Millisecond)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.l.Close() })
	require.Equal(t, 1, r.kills)
	require.GreaterOrEqual(t, o.back.Sub(o.killed), 10*time.Millisecond)
	require.True(t, p.answers(), "the rigged component accepts again")
}

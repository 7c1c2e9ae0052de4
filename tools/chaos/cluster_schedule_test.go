package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// clusterCycle is round i of the cluster's faults, 10 s apart (the steps
// run in turn, so a slow restart delays the next kill): the NATS node
// leading LEDGER, a ledger replica (the two in turn), the reporting replica
// projecting LEDGER (down longer than its lease, so the other takes over)
// and, with a ClickHouse cluster, one of its replicas (each in turn).
func clusterCycle(i int, down time.Duration, chReplicas int) []step {
	steps := []step{
		{at: 2 * time.Second, pick: leadingNATS, down: down},
		{at: 12 * time.Second, pick: func(s *stack) *proc { return []*proc{s.ledgerB, s.ledgerA}[i%2] }, down: down},
		{at: 22 * time.Second, pick: projectingLedger, down: down + 3*time.Second},
	}
	if chReplicas > 0 {
		steps = append(steps, step{at: 34 * time.Second, down: down,
			pick: func(s *stack) *proc { return s.ch.replicas[i%chReplicas] }})
	}
	return steps
}

// clusterPlan is the short schedule (one cycle, down 3 s) or, for a
// duration, as many cycles as fit (at least four, so each ledger replica
// and each NATS node's leadership is killed more than once), down 6 s.
func clusterPlan(duration time.Duration, chReplicas int) (steps []step, load time.Duration) {
	length := 32 * time.Second
	if chReplicas > 0 {
		length += 12 * time.Second
	}
	if duration == 0 {
		return clusterCycle(0, 3*time.Second, chReplicas), length
	}
	length += 10 * time.Second
	cycles := max(int(duration/length), 4)
	for i := range cycles {
		for _, s := range clusterCycle(i, 6*time.Second, chReplicas) {
			s.at += time.Duration(i) * length
			steps = append(steps, s)
		}
	}
	return steps, time.Duration(cycles) * length
}

// leadingNATS is the node leading the busiest LEDGER stream: killing it
// moves the appends' leader under load.
func leadingNATS(s *stack) *proc {
	nc := s.connect(natsauth.Reader)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(s.t.Context(), 10*time.Second)
	defer cancel()
	var busiest *jetstream.StreamInfo
	for _, st := range s.existing(ctx, s.jetStream(nc), subject.LedgerStreamOf) {
		if info := st.CachedInfo(); busiest == nil || info.State.Msgs > busiest.State.Msgs {
			busiest = info
		}
	}
	for _, n := range s.natsNodes {
		if busiest != nil && busiest.Cluster != nil && n.name == busiest.Cluster.Leader {
			return n
		}
	}
	return s.natsNodes[len(s.natsNodes)-1]
}

// projectingLedger is the reporting replica whose current life last took a
// LEDGER stream's lease and has not lost it (by its log), or the first.
func projectingLedger(s *stack) *proc {
	for _, r := range s.reportings {
		holds := false
		for _, l := range r.current().lines() {
			key, _ := l.attrs["key"].(string)
			if _, ok := subject.PartitionOfStream(key, subject.LedgerStream); !ok {
				continue
			}
			if strings.HasPrefix(l.msg, "lease taken") {
				holds = true
			} else if strings.HasPrefix(l.msg, "lease lost") {
				holds = false
			}
		}
		if holds {
			return r
		}
	}
	return s.reporting
}

// checkReplication requires every stream of the account (buckets included)
// to be replicated on every node, with a leader and every replica current
// again after the kills, and, with three streams or more, their leaders on
// more than one node; each group's partition streams' (LEDGER-<p>, USAGE-<p>)
// leaders on min(3, partitions) nodes (the ledgers' balancer spreads them). It returns each leader's streams.
func checkReplication(t *testing.T, s *stack) map[string][]string {
	t.Helper()
	nc := s.connect(natsauth.Admin)
	defer nc.Close()
	js := s.jetStream(nc)
	var infos []*jetstream.StreamInfo
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		infos = streamInfos(t, js)
		if (notCurrent(infos, s.cfg.natsNodes) == nil && unspread(infos, s.cfg.partitions) == nil) || time.Now().After(deadline) {
			break
		}
	}
	assert.Empty(t, notCurrent(infos, s.cfg.natsNodes), "streams without a leader and every replica current")
	assert.Empty(t, unspread(infos, s.cfg.partitions), "partition streams led by fewer than min(3, partitions) nodes")
	for _, info := range infos {
		assert.Equal(t, s.cfg.natsNodes, info.Config.Replicas, "stream %s's replicas", info.Config.Name)
	}
	leaders := leadersOf(infos)
	if len(infos) >= 3 {
		assert.Greater(t, len(leaders), 1, "nodes leading the %d streams: %v", len(infos), leaders)
	}
	return leaders
}

// unspread describes LEDGER's and USAGE's partition streams when either
// group's leaders are on fewer than min(3, partitions) nodes.
func unspread(infos []*jetstream.StreamInfo, partitions int) []string {
	var out []string
	for _, base := range []string{subject.LedgerStream, subject.UsageStream} {
		var group []*jetstream.StreamInfo
		for _, info := range infos {
			if p, ok := subject.PartitionOfStream(info.Config.Name, base); ok && p >= 0 {
				group = append(group, info)
			}
		}
		if leaders := leadersOf(group); len(group) > 0 && len(leaders) < min(3, partitions) {
			out = append(out, fmt.Sprintf("%s partitions led by %v", base, leaders))
		}
	}
	return out
}

// leadersOf are the streams each node leads.
func leadersOf(infos []*jetstream.StreamInfo) map[string][]string {
	leaders := map[string][]string{}
	for _, info := range infos {
		if info.Cluster != nil && info.Cluster.Leader != "" {
			leaders[info.Cluster.Leader] = append(leaders[info.Cluster.Leader], info.Config.Name)
		}
	}
	return leaders
}

func streamInfos(t *testing.T, js jetstream.JetStream) []*jetstream.StreamInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	list := js.ListStreams(ctx)
	var out []*jetstream.StreamInfo
	for info := range list.Info() {
		out = append(out, info)
	}
	require.NoError(t, list.Err())
	sort.Slice(out, func(i, j int) bool { return out[i].Config.Name < out[j].Config.Name })
	return out
}

// notCurrent describes the streams that lack a leader or a current replica
// on one of n nodes.
func notCurrent(infos []*jetstream.StreamInfo, n int) []string {
	var out []string
	for _, info := range infos {
		c := info.Cluster
		if c == nil || c.Leader == "" || len(c.Replicas) != n-1 {
			out = append(out, fmt.Sprintf("%s: cluster %+v", info.Config.Name, c))
			continue
		}
		for _, r := range c.Replicas {
			if !r.Current || r.Offline {
				out = append(out, fmt.Sprintf("%s: replica %s current %t offline %t", info.Config.Name, r.Name, r.Current, r.Offline))
			}
		}
	}
	return out
}

package balance

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

var nodes3 = []string{"n0", "n1", "n2"}

// streamsOn makes group's streams led as leaders says, each replicated on
// every node of current.
func streamsOn(group string, current []string, leaders ...string) []Stream {
	out := make([]Stream, len(leaders))
	for i, l := range leaders {
		var others []string
		for _, n := range current {
			if n != l {
				others = append(others, n)
			}
		}
		out[i] = Stream{Name: fmt.Sprintf("%s-%d", group, i), Group: group, Leader: l, Current: others}
	}
	return out
}

// apply is the move done: the stream's leader is To.
func apply(streams []Stream, m Move, current []string) {
	for i := range streams {
		if streams[i].Name == m.Stream {
			streams[i] = streamsOn(streams[i].Group, current, m.To)[0]
			streams[i].Name = m.Stream
		}
	}
}

func leadersPerNode(streams []Stream, group string) map[string]int {
	out := map[string]int{}
	for _, s := range streams {
		if group == "" || s.Group == group {
			out[s.Leader]++
		}
	}
	return out
}

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		name    string
		streams []Stream
		want    Move
		moves   bool
	}{
		{"even groups stay", slices.Concat(streamsOn("LEDGER", nodes3, "n0", "n1", "n2"), streamsOn("USAGE", nodes3, "n1", "n2", "n0")), Move{}, false},
		{"off by one stays", streamsOn("LEDGER", nodes3, "n0", "n0", "n1", "n1", "n2"), Move{}, false},
		{"all on one: the first stream to the idlest", streamsOn("LEDGER", nodes3, "n0", "n0", "n0"), Move{"LEDGER-0", "n0", "n1"}, true},
		{"group before totals", slices.Concat(streamsOn("LEDGER", nodes3, "n1", "n2", "n0"), streamsOn("USAGE", nodes3, "n2", "n2", "n2")), Move{"USAGE-0", "n2", "n0"}, true},
		{"even groups, uneven totals", slices.Concat(streamsOn("LEDGER", nodes3, "n0", "n0", "n1", "n2"), streamsOn("USAGE", nodes3, "n0", "n0", "n1", "n2")), Move{"LEDGER-0", "n0", "n1"}, true},
		{"an election in progress: no move", append(streamsOn("LEDGER", nodes3, "n0", "n0", "n0"), Stream{Name: "LEDGER-9", Group: "LEDGER"}), Move{}, false},
		{"a node without a current replica gets nothing", streamsOn("LEDGER", []string{"n0", "n1"}, "n0", "n0", "n0"), Move{"LEDGER-0", "n0", "n1"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, ok := Decide(c.streams)
			require.Equal(t, c.moves, ok)
			require.Equal(t, c.want, m)
		})
	}
}

// Totals: with four partitions per group, LEDGER 2/1/1 and USAGE 2/1/1 on
// the same node is even per group but 4/2/2 overall; one move makes it 3/3/2.
func TestDecideEvensTotals(t *testing.T) {
	streams := slices.Concat(streamsOn("LEDGER", nodes3, "n0", "n0", "n1", "n2"), streamsOn("USAGE", nodes3, "n0", "n0", "n1", "n2"))
	streams[3].Leader, streams[3].Current = "n0", []string{"n1", "n2"} // LEDGER-3 from n2 to n0: 3/1/0 → uneven group
	m, ok := Decide(streams)
	require.True(t, ok)
	require.Equal(t, Move{"LEDGER-0", "n0", "n2"}, m)
	apply(streams, m, nodes3)
	m, ok = Decide(streams)
	require.True(t, ok, "LEDGER 2/1/1, USAGE 2/1/1, both led most by n0: 4/2/2")
	apply(streams, m, nodes3)
	require.Equal(t, map[string]int{"n0": 3, "n1": 3, "n2": 2}, leadersPerNode(streams, ""))
	_, ok = Decide(streams)
	require.False(t, ok)
}

// From any start, repeated moves end with every group and the totals within
// one of even, and then no more moves; a down node is never a target.
func TestDecideConverges(t *testing.T) {
	for partitions := 2; partitions <= 8; partitions++ {
		for _, current := range [][]string{nodes3, {"n0", "n1"}, {"n0", "n1", "n2", "n3", "n4"}} {
			leaders := make([]string, partitions)
			for i := range leaders {
				leaders[i] = current[0]
			}
			streams := slices.Concat(streamsOn("LEDGER", current, leaders...), streamsOn("USAGE", current, leaders...))
			moves := 0
			for {
				m, ok := Decide(streams)
				if !ok {
					break
				}
				require.Contains(t, current, m.To)
				apply(streams, m, current)
				moves++
				require.Less(t, moves, 4*partitions, "%d partitions on %v: no end", partitions, current)
			}
			for _, g := range []string{"LEDGER", "USAGE", ""} {
				spread(t, leadersPerNode(streams, g), current)
			}
		}
	}
}

func spread(t *testing.T, counts map[string]int, nodes []string) {
	t.Helper()
	lo, hi := counts[nodes[0]], counts[nodes[0]]
	for _, n := range nodes {
		lo, hi = min(lo, counts[n]), max(hi, counts[n])
	}
	require.LessOrEqual(t, hi-lo, 1, "leaders per node %v", counts)
}

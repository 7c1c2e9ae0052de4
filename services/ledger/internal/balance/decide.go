// Package balance spreads the Raft leaders of the partition streams
// (LEDGER-<p>, USAGE-<p>) over the NATS cluster's nodes: NATS elects leaders
// at random and never moves them back, so after node restarts one node can
// lead every partition and carry every append. Decide is the pure rule;
// Balancer reads the streams' leaders and asks one to step down.
package balance

import (
	"cmp"
	"maps"
	"slices"
)

// Stream is what one partition stream's info says about its leadership.
type Stream struct {
	// Name is the stream (LEDGER-3); Group the streams it is balanced among
	// (LEDGER): each group is spread on its own, so LEDGER's appends and
	// USAGE's both spread.
	Name, Group string
	// Leader is the node leading it ("" during an election).
	Leader string
	// Current are the nodes holding a current, online replica other than
	// the leader: the only ones leadership may move to.
	Current []string
}

// Move asks Stream's leader on From to step down in favour of To.
type Move struct {
	Stream, From, To string
}

// Decide returns at most one move, so a stepdown (a moment of failed-over
// appends on that stream) happens at most once per call. It evens the
// leaders of each group first (its busiest node leads more than one stream
// more than its idlest), then the nodes' totals over all groups without
// unevening a group. Nothing moves while a stream has no leader: the view is
// half known during an election.
func Decide(streams []Stream) (Move, bool) {
	for _, s := range streams {
		if s.Leader == "" {
			return Move{}, false
		}
	}
	total := leaderCounts(streams)
	groups := groupsOf(streams)
	for _, g := range groups {
		if m, ok := evenGroup(g, total); ok {
			return m, true
		}
	}
	return evenTotal(groups, total)
}

// evenGroup moves a stream from the group's busiest node to its idlest
// current node when they differ by more than one.
func evenGroup(g []Stream, total map[string]int) (Move, bool) {
	counts := leaderCounts(g)
	for _, from := range byLoad(counts, total, true) {
		for _, s := range streamsLedBy(g, from) {
			for _, to := range byLoad(counts, total, false) {
				if counts[from]-counts[to] > 1 && slices.Contains(s.Current, to) {
					return Move{Stream: s.Name, From: from, To: to}, true
				}
			}
		}
	}
	return Move{}, false
}

// evenTotal moves a stream from the node leading most streams overall to
// one leading at least two fewer, in a group where the source leads more
// than the target (so the group stays as even as it was).
func evenTotal(groups [][]Stream, total map[string]int) (Move, bool) {
	for _, from := range byLoad(total, nil, true) {
		for _, to := range byLoad(total, nil, false) {
			if total[from]-total[to] <= 1 {
				continue
			}
			for _, g := range groups {
				counts := leaderCounts(g)
				if counts[from] <= counts[to] {
					continue
				}
				for _, s := range streamsLedBy(g, from) {
					if slices.Contains(s.Current, to) {
						return Move{Stream: s.Name, From: from, To: to}, true
					}
				}
			}
		}
	}
	return Move{}, false
}

// leaderCounts counts the streams each node leads, with 0 for every node
// holding a current replica.
func leaderCounts(streams []Stream) map[string]int {
	counts := map[string]int{}
	for _, s := range streams {
		counts[s.Leader]++
		for _, n := range s.Current {
			counts[n] += 0
		}
	}
	return counts
}

// groupsOf splits streams by group, in order of group name, each by stream name.
func groupsOf(streams []Stream) [][]Stream {
	by := map[string][]Stream{}
	for _, s := range streams {
		by[s.Group] = append(by[s.Group], s)
	}
	var out [][]Stream
	for _, name := range slices.Sorted(maps.Keys(by)) {
		g := by[name]
		slices.SortFunc(g, func(a, b Stream) int { return cmp.Compare(a.Name, b.Name) })
		out = append(out, g)
	}
	return out
}

// byLoad orders nodes by counts, busiest first when desc, ties broken by
// tie (the totals; nil: none) the same way, then by name, so every replica
// computes the same move.
func byLoad(counts, tie map[string]int, desc bool) []string {
	nodes := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(nodes, func(a, b string) int {
		c := cmp.Or(cmp.Compare(counts[a], counts[b]), cmp.Compare(tie[a], tie[b]))
		if desc {
			return -c
		}
		return c
	})
	return nodes
}

func streamsLedBy(g []Stream, node string) []Stream {
	var out []Stream
	for _, s := range g {
		if s.Leader == node {
			out = append(out, s)
		}
	}
	return out
}

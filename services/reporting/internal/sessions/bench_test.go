package sessions

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// benchSessions is n sessions of a year: 500 users, 6 products, 50 devices.
func benchSessions(n int) ([]Session, []Charge) {
	rng := rand.New(rand.NewPCG(1, 2))
	ss := make([]Session, n)
	cs := make([]Charge, 0, n)
	for i := range ss {
		start := day0.Add(time.Duration(rng.IntN(365*24*60)) * time.Minute)
		s := Session{Team: "t", User: fmt.Sprintf("u%d", rng.IntN(500)), Product: fmt.Sprintf("P%d", rng.IntN(6)),
			Device: fmt.Sprintf("d%d", rng.IntN(50)), Window: fmt.Sprintf("w%d", i), Start: start,
			Last: start.Add(time.Duration(rng.IntN(8*60)) * time.Minute), Ended: true, Active: int64(rng.IntN(20000)), Idle: int64(rng.IntN(9000))}
		ss[i] = s
		cs = append(cs, Charge{Team: s.Team, User: s.User, Product: s.Product, Window: s.Window, At: s.Start, Tokens: 7})
	}
	return ss, cs
}

// BenchmarkRules applies every rule of the report to MaxSessions-sized
// input (200,000 sessions); BenchmarkSortEdges is the raw component, one
// sort of their 400,000 interval ends, to compare it with.
func BenchmarkRules(b *testing.B) {
	ss, cs := benchSessions(200_000)
	from, to := day0, day0.AddDate(1, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		Peaks(ss, from, to)
		ByProduct(ss)
		ByDevice(ss)
		BriefCharges(ss, cs, Rules{Brief: DefaultBrief, Live: 15 * time.Minute}, to)
	}
}

func BenchmarkSortEdges(b *testing.B) {
	ss, _ := benchSessions(200_000)
	b.ReportAllocs()
	for b.Loop() {
		edges := make([]edge, 0, 2*len(ss))
		for _, s := range ss {
			edges = append(edges, edge{s.Start, s.User, 1}, edge{s.Last, s.User, -1})
		}
		slices.SortFunc(edges, func(a, b edge) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.delta, b.delta)) })
	}
}

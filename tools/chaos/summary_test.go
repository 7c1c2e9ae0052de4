package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// summary is what a run prints: what it did and what it found.
type summary struct {
	outages      []outage
	answers      []attempt
	loadFor      time.Duration
	ledgerSeq    uint64
	resumes      [][2]uint64 // resume_after, LEDGER's last sequence at the kill
	admitted     int
	refused      int
	worstRefusal time.Duration
	rss          int64
	leaders      map[string][]string // a cluster's streams by leading node
}

func (s summary) print(t *testing.T) {
	var b strings.Builder
	launches, authorized, refused, unavailable, timeouts := answered(s.answers)
	fmt.Fprintf(&b, "chaos: %d kills in %s, %d launches (%d calls), %d authorized, %d refused, %d Unavailable answers, %d timeouts; LEDGER at %d\n",
		len(s.outages), s.loadFor.Round(time.Second), launches, len(s.answers), authorized, refused, unavailable, timeouts, s.ledgerSeq)
	for _, o := range s.outages {
		f := figuresOf(o, s.answers)
		fmt.Fprintf(&b, "  %-9s down %6s: %4d calls, %4d Unavailable (worst %s), %d timeouts, worst answer %s\n",
			o.p.name, o.back.Sub(o.killed).Round(time.Millisecond), f.calls, f.unavailable,
			f.worstUnavailable.Round(time.Millisecond), f.timeouts, f.worst.Round(time.Millisecond))
		if why, n := mostOf(f.why); n > 0 {
			fmt.Fprintf(&b, "            mostly (%d) %q\n", n, why)
		}
	}
	for _, r := range s.resumes {
		fmt.Fprintf(&b, "  reporting restart resumed LEDGER after %d (last sequence at the kill %d)\n", r[0], r[1])
	}
	if s.admitted+s.refused > 0 {
		fmt.Fprintf(&b, "  burst: %d admitted, %d refused (slowest refusal %s), ingestion peak RSS %d MiB\n",
			s.admitted, s.refused, s.worstRefusal.Round(time.Millisecond), s.rss>>20)
	}
	for _, node := range slices.Sorted(maps.Keys(s.leaders)) {
		fmt.Fprintf(&b, "  %s leads %d streams: %s\n", node, len(s.leaders[node]), strings.Join(s.leaders[node], " "))
	}
	verdict := "all invariants held"
	if t.Failed() {
		verdict = "INVARIANTS FAILED (see above)"
	}
	b.WriteString("  " + verdict)
	t.Log(b.String())
}

// mostOf is the most frequent key of counts and its count.
func mostOf(counts map[string]int) (key string, n int) {
	for k, c := range counts {
		if c > n || (c == n && k < key) {
			key, n = k, c
		}
	}
	return key, n
}

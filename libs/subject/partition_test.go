package subject

import "testing"

func TestPartitionNaming(t *testing.T) {
	if got := PartitionOf("acme", "eng", 1); got != Unpartitioned {
		t.Fatalf("n=1: partition %d, want Unpartitioned", got)
	}
	seen := map[int]bool{}
	for _, team := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		p := PartitionOf("acme", team, 4)
		if p < 0 || p >= 4 || p != PartitionOf("acme", team, 4) {
			t.Fatalf("team %s: partition %d not stable in [0,4)", team, p)
		}
		seen[p] = true
	}
	if len(seen) < 3 {
		t.Fatalf("12 teams fell into %d of 4 partitions", len(seen))
	}
	if s := LedgerSubjectIn(3, "acme", "eng"); s != "ledger.3.acme.eng" || LedgerStreamOf(3) != "LEDGER-3" {
		t.Fatalf("partition 3: %s %s", s, LedgerStreamOf(3))
	}
	if s := UsageSubjectIn(Unpartitioned, "acme", "eng"); s != "usage.acme.eng" || UsageStreamOf(Unpartitioned) != "USAGE" {
		t.Fatalf("legacy usage: %s %s", s, UsageStreamOf(Unpartitioned))
	}
	for _, c := range []struct {
		subject   string
		p         int
		org, team string
		ok        bool
	}{
		{"ledger.acme.eng", Unpartitioned, "acme", "eng", true},
		{"ledger.7.acme._catalog", 7, "acme", "_catalog", true},
		{"usage.0.3.x", 0, "3", "x", true},
		{"ledger.07.acme.eng", 0, "", "", false},
		{"ledger.32.acme.eng", 0, "", "", false},
		{"alerts.acme.eng.kind", 0, "", "", false},
	} {
		p, org, team, ok := PoolOfSubject(c.subject)
		if ok != c.ok || ok && (p != c.p || org != c.org || team != c.team) {
			t.Errorf("PoolOfSubject(%s) = %d %s %s %v", c.subject, p, org, team, ok)
		}
	}
	if got := StreamSubjects("USAGE-12"); len(got) != 1 || got[0] != "usage.12.*.*" {
		t.Fatalf("USAGE-12 captures %v", got)
	}
	if got := StreamSubjects("LEDGER-x"); got != nil {
		t.Fatalf("LEDGER-x captures %v", got)
	}
}

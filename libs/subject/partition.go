package subject

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// MaxPartitions bounds how many partitions LEDGER and USAGE may be split
// into: natsauth grants name every partition stream, and each reader holds
// one consumer per partition.
const MaxPartitions = 32

// Unpartitioned is the partition of the one-stream layout: stream LEDGER
// with subjects ledger.<org>.<team> (and USAGE alike), the layout every
// deployment had before partitions.
const Unpartitioned = -1

// PartitionOf is the partition a new pool (org, team) goes to among n: a
// stable FNV-1a hash, the same on every replica and release. Placement is
// recorded when a pool is created, so a pool keeps its partition when n
// changes; n <= 1 is the one-stream layout.
func PartitionOf(org, team string, n int) int {
	if n <= 1 {
		return Unpartitioned
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(org))
	_, _ = h.Write([]byte{'.'})
	_, _ = h.Write([]byte(team))
	return int(h.Sum32() % uint32(n))
}

// LedgerStreamOf is the LEDGER stream of partition p: LEDGER-<p>, or
// LEDGER for Unpartitioned.
func LedgerStreamOf(p int) string { return streamOf(LedgerStream, p) }

// UsageStreamOf is the USAGE stream of partition p.
func UsageStreamOf(p int) string { return streamOf(UsageStream, p) }

func streamOf(base string, p int) string {
	if p < 0 {
		return base
	}
	return base + "-" + strconv.Itoa(p)
}

// LedgerSubjectIn is the subject of pool (org, team) in partition p:
// ledger.<p>.<org>.<team>, or ledger.<org>.<team> for Unpartitioned. The
// token counts differ, so the legacy stream (ledger.*.*) and the partition
// streams (ledger.<p>.*.*) never capture each other's subjects.
func LedgerSubjectIn(p int, org, team string) string {
	if p < 0 {
		return LedgerSubject(org, team)
	}
	return "ledger." + strconv.Itoa(p) + "." + org + "." + team
}

// UsageSubjectIn is the subject of a team's launcher telemetry in partition p.
func UsageSubjectIn(p int, org, team string) string {
	if p < 0 {
		return UsageSubject(org, team)
	}
	return "usage." + strconv.Itoa(p) + "." + org + "." + team
}

// StreamSubjects is what stream name captures: "ledger.*.*" for LEDGER,
// "ledger.<p>.*.*" for LEDGER-<p> (USAGE alike); nil for any other name.
func StreamSubjects(name string) []string {
	for _, k := range []struct{ stream, prefix string }{{LedgerStream, "ledger"}, {UsageStream, "usage"}} {
		if name == k.stream {
			return []string{k.prefix + ".*.*"}
		}
		if p, ok := PartitionOfStream(name, k.stream); ok {
			return []string{k.prefix + "." + strconv.Itoa(p) + ".*.*"}
		}
	}
	return nil
}

// PartitionOfStream reports the partition of stream name among base's
// streams: Unpartitioned for base itself, p for base-<p>.
func PartitionOfStream(name, base string) (int, bool) {
	if name == base {
		return Unpartitioned, true
	}
	rest, ok := strings.CutPrefix(name, base+"-")
	if !ok {
		return 0, false
	}
	p, err := strconv.Atoi(rest)
	if err != nil || p < 0 || p >= MaxPartitions || strconv.Itoa(p) != rest {
		return 0, false
	}
	return p, true
}

// PoolOfSubject splits a LEDGER or USAGE subject of either layout into its
// partition, organisation and team (team may be CatalogToken).
func PoolOfSubject(s string) (p int, org, team string, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 3 || (parts[0] != "ledger" && parts[0] != "usage") {
		return 0, "", "", false
	}
	switch len(parts) {
	case 3:
		return Unpartitioned, parts[1], parts[2], true
	case 4:
		p, err := strconv.Atoi(parts[1])
		if err != nil || p < 0 || p >= MaxPartitions || strconv.Itoa(p) != parts[1] {
			return 0, "", "", false
		}
		return p, parts[2], parts[3], true
	}
	return 0, "", "", false
}

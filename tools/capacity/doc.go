// Package capacity holds the benchmarks behind docs/CAPACITY.md (its tests
// only): how the event log's cost per append behaves as LEDGER is split into
// partitions on one server and on a three-node cluster, and how many bytes
// a launch leaves in JetStream and in ClickHouse.
package capacity

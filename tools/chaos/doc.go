// Package chaos is tokenmeter's own fault suite (its tests only): the four
// service binaries, a second ledger replica and a nats-server process of
// their own, a fresh ClickHouse database, a load of concurrent launches, and
// a schedule that kills each process with SIGKILL under that load and starts
// it again. It then checks, from the LEDGER stream and ClickHouse, that no
// authorized charge was lost, none was made twice, no pool went below zero
// and the projections equal the ledger, and that outages were answered fast,
// overload shed, restarts cheap and every loss and recovery logged once.
//
// TestClusterChaos does the same on a three-node NATS cluster with every
// stream replicated on all three, two reporting replicas and the dev
// ClickHouse cluster (2 shards × 2 replicas), killing a NATS node, a ledger
// replica, a reporting replica and a ClickHouse replica in turn, and checks
// the streams' replication and the spread of their leaders, no projected row
// stored twice and the killed ClickHouse replica caught up too.
//
// `go test ./chaos` (and so `make test`) runs a short schedule of each;
// `make chaos` and `make test-cluster` run the full ones for CHAOS_DURATION
// and CLUSTER_DURATION.
package chaos

// Package chaos is tokenmeter's own fault suite (its tests only): the four
// service binaries, a second ledger replica and a nats-server process of
// their own, a fresh ClickHouse database, a load of concurrent launches, and
// a schedule that kills each process with SIGKILL under that load and starts
// it again. It then checks, from the LEDGER stream and ClickHouse, that no
// authorized charge was lost, none was made twice, no pool went below zero
// and the projections equal the ledger, and that outages were answered fast,
// overload shed, restarts cheap and every loss and recovery logged once.
//
// `go test ./chaos` (and so `make test`) runs a short schedule;
// `make chaos` runs the full one for CHAOS_DURATION.
package chaos

// Package testkit starts the real infrastructure tokenmeter's tests run against: an
// embedded JetStream-enabled NATS server per test, and a fresh ClickHouse database per
// test on the project's dev ClickHouse (deploy/clickhouse/dev/start.sh, `make clickhouse`).
//
// Nothing here skips but ClickHouseCluster, and only when the dev ClickHouse cluster
// cannot start on the machine: a test that needs ClickHouse fails, and says how to start
// one, when none answers.
package testkit

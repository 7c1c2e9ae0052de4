package chaos

import (
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// clickHouseTarget is where reporting projects and the checks read.
type clickHouseTarget struct {
	// conn reads the projections (in a cluster, through its Distributed
	// tables, which carry the names reports read).
	conn driver.Conn
	// env is reporting's configuration for it.
	env []string
	// replicas are the ClickHouse cluster's replicas the cluster schedule
	// kills in turn (procs whose rig kills and starts them, ready when their
	// native port accepts); none for the shared server of `make clickhouse`.
	replicas []*proc
}

// oneClickHouse is a fresh database on the shared ClickHouse server.
func oneClickHouse(t *testing.T) clickHouseTarget {
	conn, database := testkit.ClickHouse(t)
	return clickHouseTarget{conn: conn, env: []string{"TOKENMETER_CLICKHOUSE_ADDR=" + testkit.ClickHouseAddr(),
		"TOKENMETER_CLICKHOUSE_DATABASE=" + database}}
}

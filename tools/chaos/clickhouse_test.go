package chaos

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// clickHouseTarget is where reporting projects and the checks read.
type clickHouseTarget struct {
	// conn reads the shared server's projections; for the cluster, reader
	// opens one after the faults.
	conn driver.Conn
	// env is reporting's configuration for it.
	env []string
	// replicas are the ClickHouse cluster's replicas the cluster schedule
	// kills in turn (procs whose rig kills and starts them, ready when their
	// native port accepts); none for the shared server of `make clickhouse`.
	replicas []*proc
	// cluster is the ClickHouse cluster, nil for the shared server.
	cluster *testkit.CHCluster
}

// oneClickHouse is a fresh database on the shared ClickHouse server.
func oneClickHouse(t *testing.T) clickHouseTarget {
	conn, database := testkit.ClickHouse(t)
	return clickHouseTarget{conn: conn, env: []string{"TOKENMETER_CLICKHOUSE_ADDR=" + testkit.ClickHouseAddr(),
		"TOKENMETER_CLICKHOUSE_DATABASE=" + database}}
}

// noClusterEnv set to 1 skips TestClusterChaos where the dev ClickHouse
// cluster cannot run; otherwise the test starts it or fails.
const noClusterEnv = "TOKENMETER_NO_CLUSTER"

// clusterClickHouse is a fresh database on every node of the dev ClickHouse
// cluster (2 shards × 2 replicas, started if it is not running), read
// through its Distributed tables, with each replica a proc to kill.
func clusterClickHouse(t *testing.T) clickHouseTarget {
	c := testkit.MustClickHouseCluster(t)
	target := clickHouseTarget{cluster: &c,
		env: []string{"TOKENMETER_CLICKHOUSE_ADDR=" + strings.Join(c.Nodes, ","), "TOKENMETER_CLICKHOUSE_CLUSTER=" + c.Name,
			"TOKENMETER_CLICKHOUSE_DATABASE=" + c.Database}}
	for shard := 1; shard <= 2; shard++ {
		for replica := 1; replica <= 2; replica++ {
			n := c.Node(t, shard, replica)
			target.replicas = append(target.replicas,
				&proc{name: fmt.Sprintf("clickhouse-s%dr%d", shard, replica), addr: n.Addr, rig: n})
		}
	}
	return target
}

// skipWithoutCluster skips the test, saying why, when noClusterEnv is 1.
func skipWithoutCluster(t *testing.T) {
	if os.Getenv(noClusterEnv) == "1" {
		t.Skipf("%s=1: no ClickHouse cluster here, and TestClusterChaos runs reporting on one "+
			"(deploy/clickhouse/dev/cluster.sh, `make clickhouse-cluster`)", noClusterEnv)
	}
}

// reader is a connection for the checks after the faults: the suite's own
// for one server; for the cluster a fresh one through its Distributed
// tables (which carry the names reports read), so that no pooled
// connection points at a killed replica.
func (c clickHouseTarget) reader(t *testing.T) driver.Conn {
	if c.cluster == nil {
		return c.conn
	}
	return c.cluster.Open(t, c.cluster.Nodes...)
}

package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ClickHouseClusterName is the cluster deploy/clickhouse/dev/cluster.sh serves:
// 2 shards x 2 replicas, shard S replica R on 127.0.0.1:191SR.
const ClickHouseClusterName = "tokenmeter"

var clusterNodes = []string{"127.0.0.1:19111", "127.0.0.1:19112", "127.0.0.1:19121", "127.0.0.1:19122"}

// CHCluster is a fresh database on every node of the dev ClickHouse cluster.
type CHCluster struct {
	Name     string
	Database string
	// Nodes are every node's native address, shard by shard.
	Nodes []string
}

var startCluster sync.Once

// ClickHouseCluster gives the test a fresh database test_<hex> on every node of
// the dev ClickHouse cluster, starting the rig (cluster.sh start) when a node
// does not answer; the database is dropped on every node when the test ends.
// It skips, saying why, only when the rig cannot start on this machine.
func ClickHouseCluster(t testing.TB) CHCluster {
	t.Helper()
	return clickHouseCluster(t, t.Skipf)
}

// MustClickHouseCluster is ClickHouseCluster for a test that exists to run
// on the cluster: a rig that cannot start fails it instead of skipping.
func MustClickHouseCluster(t testing.TB) CHCluster {
	t.Helper()
	return clickHouseCluster(t, t.Fatalf)
}

func clickHouseCluster(t testing.TB, cannot func(format string, args ...any)) CHCluster {
	t.Helper()
	useCluster(t) // before the start: cluster.sh start would restart a node another test stopped
	var startErr error
	startCluster.Do(func() { startErr = clusterScript("start") })
	if startErr != nil {
		cannot("testkit: the dev ClickHouse cluster cannot start here (deploy/clickhouse/dev/cluster.sh start, `make clickhouse-cluster`): %v", startErr)
	}
	c := CHCluster{Name: ClickHouseClusterName, Database: "test_" + randomHex(8), Nodes: clusterNodes}
	ctx, cancel := context.WithTimeout(context.Background(), clickHouseTimeout)
	defer cancel()
	for _, addr := range c.Nodes {
		admin := clusterAdmin(t, addr)
		if err := admin.Exec(ctx, "CREATE DATABASE "+c.Database); err != nil {
			t.Fatalf("testkit: create database %s on %s: %v", c.Database, addr, err)
		}
		t.Cleanup(func() { dropDatabase(t, clusterAdmin(t, addr), c.Database) })
		_ = admin.Close()
	}
	return c
}

// StopReplica stops shard's replica (both from 1) of the dev cluster until
// the test ends, when it is started again on its data. It acts on the rig
// running the node, which may have been started from another checkout. No
// test of another process runs on the cluster meanwhile.
func (c CHCluster) StopReplica(t testing.TB, shard, replica int) {
	t.Helper()
	takeClusterDown(t)
	root, err := rigStateRoot(shard, replica)
	if err != nil {
		t.Fatalf("testkit: stop shard %d replica %d: %v", shard, replica, err)
	}
	if err := clusterScriptIn(root, "stop-node", fmt.Sprint(shard), fmt.Sprint(replica)); err != nil {
		t.Fatalf("testkit: stop shard %d replica %d: %v", shard, replica, err)
	}
	t.Cleanup(func() {
		if err := clusterScriptIn(root, "start-node", fmt.Sprint(shard), fmt.Sprint(replica)); err != nil {
			t.Errorf("testkit: start shard %d replica %d again: %v", shard, replica, err)
		}
	})
	addr := c.Nodes[(shard-1)*2+replica-1]
	ctx, cancel := context.WithTimeout(context.Background(), clickHouseTimeout)
	defer cancel()
	if admin := clusterAdmin(t, addr); admin.Ping(ctx) == nil {
		t.Fatalf("testkit: %s still answers after stopping shard %d replica %d", addr, shard, replica)
	}
}

// Open connects to the test's database on addrs (failing over in order).
func (c CHCluster) Open(t testing.TB, addrs ...string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: addrs, Auth: clickhouse.Auth{Database: c.Database},
		DialTimeout: 2 * time.Second, ConnOpenStrategy: clickhouse.ConnOpenInOrder})
	if err != nil {
		t.Fatalf("testkit: open %v: %v", addrs, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func clusterAdmin(t testing.TB, addr string) driver.Conn {
	t.Helper()
	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("testkit: open ClickHouse at %s: %v", addr, err)
	}
	return admin
}

// clusterScript runs deploy/clickhouse/dev/cluster.sh with args.
func clusterScript(args ...string) error { return clusterScriptIn("", args...) }

// clusterScriptIn runs cluster.sh with args on the rig whose state is under
// stateRoot (its TOKENMETER_STATE_DIR; empty: the script's default).
func clusterScriptIn(stateRoot string, args ...string) error {
	script, err := repoFile("deploy/clickhouse/dev/cluster.sh")
	if err != nil {
		return err
	}
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), "TOKENMETER_NO_INSTALL=1")
	if stateRoot != "" {
		cmd.Env = append(cmd.Env, "TOKENMETER_STATE_DIR="+stateRoot)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", script, strings.Join(args, " "), err, out)
	}
	return nil
}

// repoFile finds rel in the repository holding the working directory.
func repoFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.work above the working directory")
		}
		dir = parent
	}
}

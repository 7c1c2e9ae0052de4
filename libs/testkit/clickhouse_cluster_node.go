package testkit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// CHNode is one node of the dev ClickHouse cluster that a fault test kills
// with SIGKILL and starts again on its data, through cluster.sh and the pid
// file of the rig that runs it (which may have been started from another
// checkout: the ports are fixed, the state directory is not).
type CHNode struct {
	Shard, Replica int
	// Addr is its native address.
	Addr string

	mu        sync.Mutex
	stateRoot string // the running rig's TOKENMETER_STATE_DIR, found by Kill
	down      bool
}

// Node is shard's replica (both from 1). If the test ends with it killed,
// it is started again. No test of another process runs on the cluster from
// here to the end of the test.
func (c CHCluster) Node(t testing.TB, shard, replica int) *CHNode {
	t.Helper()
	takeClusterDown(t)
	if shard < 1 || shard > 2 || replica < 1 || replica > 2 {
		t.Fatalf("testkit: the dev cluster has shards 1-2 and replicas 1-2, not shard %d replica %d", shard, replica)
	}
	n := &CHNode{Shard: shard, Replica: replica, Addr: c.Nodes[(shard-1)*2+replica-1]}
	t.Cleanup(func() {
		n.mu.Lock()
		down := n.down
		n.mu.Unlock()
		if down {
			if err := n.Start(); err != nil {
				t.Errorf("testkit: %v", err)
			}
		}
	})
	return n
}

// Kill ends the node's clickhouse-server with SIGKILL and waits until it
// is gone.
func (n *CHNode) Kill() error {
	root, err := rigStateRoot(n.Shard, n.Replica)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stateRoot = root
	if err := clusterScriptIn(root, "kill-node", strconv.Itoa(n.Shard), strconv.Itoa(n.Replica)); err != nil {
		return fmt.Errorf("kill shard %d replica %d: %w", n.Shard, n.Replica, err)
	}
	n.down = true
	return nil
}

// Start starts the node again on its data (the rig Kill found) and waits
// until it answers.
func (n *CHNode) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := clusterScriptIn(n.stateRoot, "start-node", strconv.Itoa(n.Shard), strconv.Itoa(n.Replica)); err != nil {
		return fmt.Errorf("start shard %d replica %d: %w", n.Shard, n.Replica, err)
	}
	n.down = false
	return nil
}

// rigStateRoot is the state directory of the rig running shard's replica:
// the clickhouse-server whose config is <root>/clickhouse-cluster/sSrR/config.xml.
func rigStateRoot(shard, replica int) (string, error) {
	suffix := fmt.Sprintf("/clickhouse-cluster/s%dr%d/config.xml", shard, replica)
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return "", err
	}
	for _, f := range procs {
		cmdline, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(cmdline, []byte("clickhouse")) {
			continue
		}
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			config, ok := strings.CutPrefix(arg, "--config-file=")
			if root, found := strings.CutSuffix(config, suffix); ok && found {
				return root, nil
			}
		}
	}
	return "", fmt.Errorf("testkit: no clickhouse-server of shard %d replica %d runs (no process with --config-file=...%s)", shard, replica, suffix)
}

package testkit

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// clusterUse keeps a test that stops or kills a node of the dev ClickHouse
// cluster from running beside any other test on it: `go test ./...` runs
// packages in parallel processes. Each test on the cluster holds this
// process's shared flock on one file for all rigs (the ports are fixed);
// one that takes a node down converts it to exclusive until the test ends.
var clusterUse struct {
	sync.Mutex
	file      *os.File
	users     int
	exclusive bool
}

// clusterLockPath is the lock file every checkout's tests share.
func clusterLockPath() string {
	return filepath.Join(os.TempDir(), "tokenmeter-clickhouse-cluster.lock")
}

// useCluster takes the shared lock for t's duration (waiting while a test
// elsewhere has a node down).
func useCluster(t testing.TB) {
	t.Helper()
	clusterUse.Lock()
	defer clusterUse.Unlock()
	if clusterUse.users == 0 {
		f, err := os.OpenFile(clusterLockPath(), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatalf("testkit: open the cluster lock: %v", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
			_ = f.Close()
			t.Fatalf("testkit: take the cluster lock: %v", err)
		}
		clusterUse.file = f
	}
	clusterUse.users++
	t.Cleanup(func() {
		clusterUse.Lock()
		defer clusterUse.Unlock()
		clusterUse.users--
		if clusterUse.users == 0 {
			_ = syscall.Flock(int(clusterUse.file.Fd()), syscall.LOCK_UN)
			_ = clusterUse.file.Close()
			clusterUse.file, clusterUse.exclusive = nil, false
		}
	})
}

// takeClusterDown makes the lock t holds exclusive (waiting for the tests
// of other processes on the cluster to end) before a node goes down.
func takeClusterDown(t testing.TB) {
	t.Helper()
	clusterUse.Lock()
	defer clusterUse.Unlock()
	if clusterUse.users == 0 {
		t.Fatalf("testkit: a node taken down outside a test on the cluster")
	}
	if clusterUse.exclusive {
		return
	}
	if err := syscall.Flock(int(clusterUse.file.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("testkit: take the cluster lock for a node down: %v", err)
	}
	clusterUse.exclusive = true
}

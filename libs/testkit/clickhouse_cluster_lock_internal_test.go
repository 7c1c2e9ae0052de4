package testkit

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// otherProcess tries the cluster lock as another test process would, on a
// file description of its own, without waiting.
func otherProcess(t *testing.T, how int) error {
	t.Helper()
	f, err := os.OpenFile(clusterLockPath(), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
	return err
}

// Tests on the cluster share it; one with a node down has it alone, and
// the lock is free again once it ends.
func TestClusterLockKeepsOthersOutWhileANodeIsDown(t *testing.T) {
	t.Run("on the cluster", func(t *testing.T) {
		useCluster(t)
		if err := otherProcess(t, syscall.LOCK_SH); err != nil {
			t.Fatalf("another test on the cluster was kept out: %v", err)
		}
		if err := otherProcess(t, syscall.LOCK_EX); !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Fatalf("another test took a node down while this one ran: %v", err)
		}
		t.Run("a node down", func(t *testing.T) {
			takeClusterDown(t)
			if err := otherProcess(t, syscall.LOCK_SH); !errors.Is(err, syscall.EWOULDBLOCK) {
				t.Fatalf("another test ran on the cluster with a node down: %v", err)
			}
		})
	})
	if err := otherProcess(t, syscall.LOCK_EX); err != nil {
		t.Fatalf("the lock is still held after the tests ended: %v", err)
	}
}

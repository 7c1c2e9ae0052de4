package testkit

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A node's rig is found from its server's --config-file, whichever
// checkout's state directory that is under.
func TestRigStateRootFromConfigFlag(t *testing.T) {
	root := t.TempDir()
	config := filepath.Join(root, "clickhouse-cluster", "s9r9", "config.xml")
	// "; :" keeps bash from exec'ing sleep, so the flag stays in its cmdline.
	cmd := exec.Command("bash", "-c", "sleep 60; :", "clickhouse-server", "--config-file="+config)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	got, err := rigStateRoot(9, 9)
	require.NoError(t, err)
	require.Equal(t, root, got)
	_, err = rigStateRoot(9, 8)
	require.ErrorContains(t, err, "no clickhouse-server of shard 9 replica 8 runs")
}

package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A taken address is named with the flag that moves it and the process that
// holds it (this test's own), before anything starts.
func TestCheckPortsNamesTheHolder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	freeAddr := free.Addr().String()
	require.NoError(t, free.Close())

	require.NoError(t, checkPorts([]listenAddr{{"ledger gRPC", "-ledger-listen", freeAddr}, {"web console", "-console-listen", ""}}))

	err = checkPorts([]listenAddr{
		{"ledger gRPC", "-ledger-listen", freeAddr},
		{"reporting gRPC", "-reporting-listen", l.Addr().String()},
	})
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "reporting gRPC address "+l.Addr().String()+" is taken")
	require.Contains(t, msg, fmt.Sprintf("by pid %d (", os.Getpid()))
	require.True(t, strings.HasSuffix(msg, "move this one with -reporting-listen"), msg)
}

func TestDatabaseForIsOnePerStateDir(t *testing.T) {
	a, err := databaseFor("/srv/one/.local")
	require.NoError(t, err)
	b, err := databaseFor("/srv/two/.local")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.Regexp(t, `^tokenmeter_dev_[0-9a-f]{12}$`, a)
	again, err := databaseFor("/srv/one/.local")
	require.NoError(t, err)
	require.Equal(t, a, again)
}

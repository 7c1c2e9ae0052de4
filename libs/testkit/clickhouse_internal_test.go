package testkit

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fatalRecorder records Fatalf instead of failing the test that owns it.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestClickHouseUnreachableFailsWithHowTo(t *testing.T) {
	t.Parallel()
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	rec := &fatalRecorder{TB: t}
	var wg sync.WaitGroup
	wg.Go(func() { openClickHouse(rec, addr) })
	wg.Wait()

	t.Log(rec.msg)
	require.Contains(t, rec.msg, addr)
	require.Contains(t, rec.msg, "make clickhouse")
	require.Contains(t, rec.msg, "deploy/clickhouse/dev/start.sh")
}

package outage_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/outage"
)

// Many failures and successes make one line per loss and one per recovery.
func TestOneLineEachWay(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tr := outage.New(slog.New(slog.NewTextHandler(&buf, nil)), "db unreachable", "db reachable again")
	tr.OK(t.Context())
	require.Empty(t, buf.String(), "a dependency that was never lost is not news")
	for range 3 {
		for range 5 {
			tr.Fail(t.Context(), errors.New(strings.Repeat("x", 10000)))
		}
		require.True(t, tr.Down())
		tr.OK(t.Context())
		tr.OK(t.Context())
		require.False(t, tr.Down())
	}
	out := buf.String()
	require.Equal(t, 3, strings.Count(out, `msg="db unreachable"`), out)
	require.Equal(t, 3, strings.Count(out, `msg="db reachable again"`), out)
	require.Equal(t, 3, strings.Count(out, "failures=5"), out)
	require.Less(t, len(out), 3*1000, "error text is cut")
}

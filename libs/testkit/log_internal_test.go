package testkit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogRingKeepsTheLastLinesInOrder(t *testing.T) {
	r := &logRing{}
	for i := range keptLogLines + 50 {
		_, _ = fmt.Fprintf(r, "line %d\n", i)
	}
	lines := strings.Split(strings.TrimSuffix(r.String(), "\n"), "\n")
	require.Len(t, lines, keptLogLines)
	require.Equal(t, "line 50", lines[0])
	require.Equal(t, fmt.Sprintf("line %d", keptLogLines+49), lines[len(lines)-1])
}

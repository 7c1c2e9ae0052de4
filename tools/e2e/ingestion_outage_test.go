package e2e

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// logBuffer is a log the test reads while the service writes it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count is how many lines say msg.
func (b *logBuffer) count(msg string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), "msg=\""+msg+"\"")
}

// The ledger stopped and started again, twice: ingestion logs one line when
// it goes and one when it is back, each time.
func TestLedgerLossAndRecoveryAreLoggedOnce(t *testing.T) {
	logs := &logBuffer{}
	led, _ := limitedIngestion(t, slog.New(slog.NewTextHandler(logs, nil)), func(*ingestion.Config) {})
	const lost, back = "ledger unreachable", "ledger reachable again"
	for round := 1; round <= 2; round++ {
		led.stop()
		require.Eventually(t, func() bool { return logs.count(lost) == round }, 10*time.Second, 10*time.Millisecond,
			"round %d: the loss is logged", round)
		led.start()
		require.Eventually(t, func() bool { return logs.count(back) == round }, 20*time.Second, 10*time.Millisecond,
			"round %d: the recovery is logged", round)
		require.Equal(t, round, logs.count(lost), "round %d: one line for the loss, however often it retried", round)
	}
}

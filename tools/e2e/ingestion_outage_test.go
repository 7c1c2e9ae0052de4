package e2e

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// The ledger stopped and started again, twice: ingestion logs one line when
// it goes and one when it is back, each time.
func TestLedgerLossAndRecoveryAreLoggedOnce(t *testing.T) {
	logs := &testkit.Output{}
	led, _ := limitedIngestion(t, slog.New(slog.NewTextHandler(logs, nil)), func(*ingestion.Config) {})
	const lost, back = "ledger unreachable", "ledger reachable again"
	for round := 1; round <= 2; round++ {
		led.stop()
		require.Eventually(t, func() bool { return logs.Count(`msg="`+lost+`"`) == round }, 10*time.Second, 10*time.Millisecond,
			"round %d: the loss is logged", round)
		led.start()
		require.Eventually(t, func() bool { return logs.Count(`msg="`+back+`"`) == round }, 20*time.Second, 10*time.Millisecond,
			"round %d: the recovery is logged", round)
		require.Equal(t, round, logs.Count(`msg="`+lost+`"`), "round %d: one line for the loss, however often it retried", round)
	}
}

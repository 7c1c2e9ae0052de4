package ledger_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

// -balance-interval falls back to TOKENMETER_BALANCE_INTERVAL, defaults to a
// minute, takes 0 for never and is bounded.
func TestBalanceIntervalFlag(t *testing.T) {
	var cfg ledger.Config
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	cfg.Register(fs)
	require.NoError(t, config.Parse(fs, nil))
	require.Equal(t, time.Minute, cfg.BalanceInterval)
	t.Setenv("TOKENMETER_BALANCE_INTERVAL", "25h")
	fs = flag.NewFlagSet("ledger", flag.ContinueOnError)
	cfg.Register(fs)
	require.NoError(t, config.Parse(fs, nil))
	require.ErrorContains(t, cfg.Validate(), "balance-interval 25h0m0s: want 0 (never) to 24h")
	require.NoError(t, config.Parse(fs, []string{"-balance-interval", "0"}))
	require.NotContains(t, fmt.Sprint(cfg.Validate()), "balance-interval")
}

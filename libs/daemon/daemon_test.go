package daemon

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/config"
)

type testConfig struct {
	config.Common
	Extra string
}

func (c *testConfig) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, ":0")
	fs.StringVar(&c.Extra, "extra", "", "an extra flag")
}

func (c *testConfig) Validate() error { return c.Common.Validate() }

func TestStartReadsFlagsAndEnvironment(t *testing.T) {
	t.Setenv("TOKENMETER_EXTRA", "from-env")
	t.Setenv("TOKENMETER_API_KEYS", "secret-key:acme:admin")
	var cfg testConfig
	ran := false
	err := Start(t.Context(), "test", []string{"-listen", "127.0.0.1:1"}, &cfg, func(context.Context, *slog.Logger) error {
		ran = true
		return nil
	})
	require.NoError(t, err)
	require.True(t, ran)
	require.Equal(t, "from-env", cfg.Extra, "environment fallback")
	require.Equal(t, "127.0.0.1:1", cfg.Listen, "a flag wins")
}

func TestStartRefusesBadConfigWithoutRunning(t *testing.T) {
	t.Setenv("TOKENMETER_API_KEYS", "")
	var cfg testConfig
	err := Start(t.Context(), "test", []string{"-log-level", "loud"}, &cfg, func(context.Context, *slog.Logger) error {
		t.Fatal("must not run")
		return nil
	})
	require.ErrorContains(t, err, "TOKENMETER_API_KEYS")
	require.ErrorContains(t, err, "log-level", "every problem at once")
	require.ErrorIs(t, Start(t.Context(), "test", []string{"-h"}, &cfg, nil), flag.ErrHelp)
	require.False(t, errors.Is(err, flag.ErrHelp))
}

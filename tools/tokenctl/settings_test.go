package tokenctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

func resolveWith(t *testing.T, env map[string]string, args ...string) (*settings, error) {
	t.Helper()
	fs := pflag.NewFlagSet("tokenctl", pflag.ContinueOnError)
	s := registerSettings(fs, func(k string) string { return env[k] })
	require.NoError(t, fs.Parse(args))
	return s, s.resolve()
}

func TestSettingsPrecedence(t *testing.T) {
	t.Parallel()
	cfgDir := t.TempDir()
	path := filepath.Join(cfgDir, "tokenmeter", "config.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte("alerting_addr: file:7073\napi_key: file-key\norg: file-org\ntimeout: 3s\n"), 0o600))

	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		addr, key  string
		from       string
		timeout    time.Duration
		configRead string
	}{
		{"defaults without a config file", map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, nil,
			"127.0.0.1:7073", "", "default", 10 * time.Second, ""},
		{"config file", map[string]string{"XDG_CONFIG_HOME": cfgDir}, nil,
			"file:7073", "file-key", "alerting_addr in " + path, 3 * time.Second, path},
		{"environment over the file", map[string]string{"XDG_CONFIG_HOME": cfgDir, "TOKENMETER_ALERTING_ADDR": "env:7073", "TOKENMETER_API_KEY": "env-key"}, nil,
			"env:7073", "env-key", "TOKENMETER_ALERTING_ADDR", 3 * time.Second, path},
		{"flags over the environment", map[string]string{"XDG_CONFIG_HOME": cfgDir, "TOKENMETER_ALERTING_ADDR": "env:7073"},
			[]string{"--alerting-addr", "flag:7073", "--api-key", "flag-key", "--timeout", "1m"},
			"flag:7073", "flag-key", "--alerting-addr", time.Minute, path},
		{"a flag set to its default still wins", map[string]string{"XDG_CONFIG_HOME": cfgDir}, []string{"--alerting-addr", "127.0.0.1:7073"},
			"127.0.0.1:7073", "file-key", "--alerting-addr", 3 * time.Second, path},
		{"--config names the file", map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, []string{"--config", path},
			"file:7073", "file-key", "alerting_addr in " + path, 3 * time.Second, path},
		{"TOKENMETER_CONFIG names the file", map[string]string{"TOKENMETER_CONFIG": path}, nil,
			"file:7073", "file-key", "alerting_addr in " + path, 3 * time.Second, path},
		{"no file at HOME/.config/tokenmeter/config.yaml", map[string]string{"HOME": filepath.Dir(filepath.Dir(filepath.Dir(path)))}, nil,
			"127.0.0.1:7073", "", "default", 10 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := resolveWith(t, tt.env, tt.args...)
			require.NoError(t, err)
			require.Equal(t, tt.addr, s.AlertingAddr)
			require.Equal(t, tt.key, s.APIKey)
			require.Equal(t, tt.from, s.from["alerting-addr"])
			require.Equal(t, tt.timeout, s.Timeout)
			require.Equal(t, tt.configRead, s.Config)
		})
	}
}

func TestSettingsValidateJoinsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := resolveWith(t, map[string]string{"XDG_CONFIG_HOME": t.TempDir(), "TOKENMETER_OUTPUT": "xml"},
		"--timeout", "-1s", "--alerting-addr", "")
	require.ErrorContains(t, err, `output "xml" (TOKENMETER_OUTPUT): want table, json or csv`)
	require.ErrorContains(t, err, `timeout "-1s" (--timeout): want a positive duration`)
	require.ErrorContains(t, err, "alerting address is empty (--alerting-addr)")

	empty := filepath.Join(t.TempDir(), "empty.yaml")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	s, err := resolveWith(t, nil, "--config", empty)
	require.NoError(t, err, "an empty config file is no settings")
	require.Equal(t, "127.0.0.1:7073", s.AlertingAddr)
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90m":                  now.Add(-90 * time.Minute),
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.AddDate(0, 0, -7),
		"2026-03-01T08:00:00Z": time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		"2026-03-01":           time.Date(2026, 3, 1, 0, 0, 0, 0, time.Local),
	} {
		got, err := parseSince(in, now)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: got %s, want %s", in, got, want)
	}
	for _, bad := range []string{"", "-1h", "0d", "7days", "d", "yesterday", "2026-13-01"} {
		_, err := parseSince(bad, now)
		require.ErrorContains(t, err, "invalid --since", bad)
	}
}

func TestStatePathIsKeyedByEndpointCredentialAndFilters(t *testing.T) {
	t.Parallel()
	env := func(k string) string { return map[string]string{"XDG_STATE_HOME": "/state"}[k] }
	base, err := defaultStatePath(env, "127.0.0.1:7073", "key-a", "", nil, nil)
	require.NoError(t, err)
	require.Regexp(t, `^/state/tokenmeter/alerts-watch/127\.0\.0\.1_7073-[0-9a-f]{12}\.json$`, base)
	again, _ := defaultStatePath(env, "127.0.0.1:7073", "key-a", "", nil, nil)
	require.Equal(t, base, again)
	for _, other := range []func() (string, error){
		func() (string, error) { return defaultStatePath(env, "alerting.internal:7073", "key-a", "", nil, nil) },
		func() (string, error) { return defaultStatePath(env, "127.0.0.1:7073", "key-b", "", nil, nil) },
		func() (string, error) { return defaultStatePath(env, "127.0.0.1:7073", "key-a", "acme", nil, nil) },
		func() (string, error) {
			return defaultStatePath(env, "127.0.0.1:7073", "key-a", "", []string{"design"}, nil)
		},
		func() (string, error) {
			return defaultStatePath(env, "127.0.0.1:7073", "key-a", "", nil, []string{"low_balance"})
		},
	} {
		p, err := other()
		require.NoError(t, err)
		require.NotEqual(t, base, p)
		require.NotContains(t, p, "key-")
	}
	home, err := defaultStatePath(func(k string) string { return map[string]string{"HOME": "/home/ops"}[k] }, "h:1", "", "", nil, nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(home, "/home/ops/.local/state/tokenmeter/alerts-watch/h_1-"), home)
}

func TestStateSaveAndLoad(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "deep", "watch.json")
	_, found, err := loadState(path)
	require.NoError(t, err)
	require.False(t, found)
	require.NoError(t, watchState{Endpoint: "h:1", LastSequence: 41}.save(path))
	require.NoError(t, watchState{Endpoint: "h:1", LastSequence: 42}.save(path))
	st, found, err := loadState(path)
	require.NoError(t, err)
	require.True(t, found)
	require.EqualValues(t, 42, st.LastSequence)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")

	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	_, _, err = loadState(path)
	require.ErrorContains(t, err, "is unreadable")
	require.ErrorContains(t, err, "pass --from N")
}

func TestSortedSet(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"build", "design"}, sortedSet([]string{"design", "build,design", " ", ""}))
	require.Empty(t, sortedSet(nil))
}

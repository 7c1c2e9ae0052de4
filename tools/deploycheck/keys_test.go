package deploycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// defaultOf is the default of a compose "${VAR:-default}" value.
func defaultOf(t *testing.T, v string) string {
	m := regexp.MustCompile(`^\$\{[A-Z0-9_]+:-(.*)\}$`).FindStringSubmatch(v)
	require.NotNil(t, m, "%q has a default", v)
	return m[1]
}

// TestComposeKeyringsAreScoped: each compose service holds a keyring the
// services accept, no service holds another's service key, and the keys
// ingestion and reporting call the ledger with are the ledger's keys of
// those services (so neither can make the other's calls).
func TestComposeKeyringsAreScoped(t *testing.T) {
	f := loadCompose(t)
	rings := map[string]*auth.Keyring{}
	for _, name := range []string{"ledger", "ingestion", "reporting", "alerting"} {
		ring, err := auth.ParseKeyring(defaultOf(t, f.Services[name].Environment["TOKENMETER_API_KEYS"]))
		require.NoError(t, err, name)
		rings[name] = ring
	}
	for _, caller := range []string{"ingestion", "reporting"} {
		key := defaultOf(t, f.Services[caller].Environment["TOKENMETER_LEDGER_API_KEY"])
		p, err := rings["ledger"].Authenticate(key)
		require.NoError(t, err, "%s's key is in the ledger's keyring", caller)
		require.Equal(t, caller, p.Service, "%s's key is scoped to %s's calls", caller, caller)
		for name, ring := range rings {
			if name != "ledger" {
				_, err := ring.Authenticate(key)
				require.Error(t, err, "%s holds %s's service key", name, caller)
			}
		}
	}
}

// TestSecretExampleKeyringsParse: the example keyrings are hashed and valid.
func TestSecretExampleKeyringsParse(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/k8s/base/secret.example.yaml"))
	require.NoError(t, err)
	entries := regexp.MustCompile(`(?m)^\s+([\w-]+@sha256:[0-9a-f]{64}:\S+)$`).FindAllStringSubmatch(string(raw), -1)
	require.GreaterOrEqual(t, len(entries), 5)
	for _, e := range entries {
		_, err := auth.ParseSpec(e[1])
		require.NoError(t, err, e[1])
	}
}

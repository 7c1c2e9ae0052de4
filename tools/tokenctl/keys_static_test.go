package tokenctl

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// A static key's entry holds no secret, authenticates it in a keyring, and
// its id is random unless given.
func TestStaticKeyEntry(t *testing.T) {
	entry, secret, err := staticKey("", []string{"*", "service", "reporting"})
	require.NoError(t, err)
	require.NotContains(t, entry, secret)
	ring, err := auth.ParseKeyring(entry)
	require.NoError(t, err)
	p, err := ring.Authenticate(secret)
	require.NoError(t, err)
	require.Equal(t, auth.ServiceReporting, p.Service)
	require.Len(t, p.KeyID, 12)
	other, _, err := staticKey("", []string{"acme", "admin"})
	require.NoError(t, err)
	require.NotEqual(t, strings.Split(entry, "@")[0], strings.Split(other, "@")[0])

	named, _, err := staticKey("ops-1", []string{"acme", "admin"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(named, "ops-1@sha256:"), named)
	_, _, err = staticKey("", []string{"acme", "root"})
	require.ErrorContains(t, err, "unknown role")
}

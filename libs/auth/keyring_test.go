package auth

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseKeyring(t *testing.T) {
	k, err := ParseKeyring("admin-secret:acme:admin, launch-secret:acme:launcher:design,svc-secret:*:service")
	require.NoError(t, err)
	p, err := k.Authenticate("launch-secret")
	require.NoError(t, err)
	require.Equal(t, Principal{KeyID: p.KeyID, Org: "acme", Team: "design", Role: RoleLauncher}, p)
	require.NotContains(t, p.KeyID, "launch", "the key id says nothing of the secret")
	require.NoError(t, p.CheckTeam("design"))
	require.ErrorIs(t, p.CheckTeam("civil"), ErrPermission)

	_, err = k.Authenticate("wrong-secret")
	require.ErrorIs(t, err, ErrUnauthenticated)
	k.Revoke("admin-secret")
	_, err = k.Authenticate("admin-secret")
	require.ErrorIs(t, err, ErrUnauthenticated, "a revoked key")

	for _, bad := range []string{"short:acme:admin", "secret-long:acme:root", "secret-long:acme:launcher", "secret-long:acme"} {
		_, err := ParseKeyring(bad)
		require.Error(t, err, bad)
	}
}

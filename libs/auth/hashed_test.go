package auth

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAddHashAuthenticatesTheSecret(t *testing.T) {
	k := NewKeyring()
	sum := Hash("launcher-secret-1")
	k.AddHash(sum, Principal{Org: "acme", Team: "design", Role: RoleLauncher})
	p, err := k.Authenticate("launcher-secret-1")
	require.NoError(t, err)
	require.Equal(t, KeyID(sum), p.KeyID)
	require.Equal(t, "design", p.Team)

	k.Add("static-secret", Principal{Org: "acme", Role: RoleAdmin})
	static, err := k.Authenticate("static-secret")
	require.NoError(t, err)
	require.Equal(t, KeyID(Hash("static-secret")), static.KeyID, "both ways name a key alike")

	k.RevokeHash(sum)
	_, err = k.Authenticate("launcher-secret-1")
	require.ErrorIs(t, err, ErrUnauthenticated)
}

package auth

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAddHashAuthenticatesTheSecret(t *testing.T) {
	k := NewKeyring()
	sum := Hash("launcher-secret-1")
	id := NewKeyID()
	k.AddHash(sum, Principal{KeyID: id, Org: "acme", Team: "design", Role: RoleLauncher})
	p, err := k.Authenticate("launcher-secret-1")
	require.NoError(t, err)
	require.Equal(t, id, p.KeyID)
	require.Equal(t, "design", p.Team)

	k.RevokeHash(sum)
	_, err = k.Authenticate("launcher-secret-1")
	require.ErrorIs(t, err, ErrUnauthenticated)
}

func TestNewKeyIDIsRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewKeyID()
		require.Len(t, id, 12)
		require.False(t, seen[id])
		seen[id] = true
	}
}

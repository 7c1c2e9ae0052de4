package auth

import (
	"testing"
	"time"

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

// An expiring key is refused past its expiry, and the next expiring key
// added drops it from memory (session keys mostly end unrevoked).
func TestExpiringKeys(t *testing.T) {
	k := NewKeyring()
	k.AddHash(Hash("ended"), Principal{KeyID: "sso:ann", Org: "acme", Role: RoleViewer, Expires: time.Now().Add(-time.Second)})
	k.AddHash(Hash("forever"), Principal{KeyID: "k1", Org: "acme", Role: RoleViewer})
	_, err := k.Authenticate("ended")
	require.ErrorIs(t, err, ErrUnauthenticated)
	require.Len(t, k.keys, 2, "an unexpiring key sweeps nothing")
	k.AddHash(Hash("live"), Principal{KeyID: "sso:bob", Org: "acme", Role: RoleViewer, Expires: time.Now().Add(time.Hour)})
	require.Len(t, k.keys, 2, "the ended key is gone, the others stay")
	for _, s := range []string{"forever", "live"} {
		_, err := k.Authenticate(s)
		require.NoError(t, err, s)
	}
}

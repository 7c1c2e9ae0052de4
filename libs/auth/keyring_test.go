package auth

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func hashOf(secret string) string {
	sum := Hash(secret)
	return hex.EncodeToString(sum[:])
}

func TestParseKeyring(t *testing.T) {
	k, err := ParseKeyring("admin-secret:acme:admin, launch-secret:acme:launcher:design,svc-secret:*:service:ingestion")
	require.NoError(t, err)
	p, err := k.Authenticate("launch-secret")
	require.NoError(t, err)
	require.Equal(t, Principal{KeyID: "launcher-acme-design", Org: "acme", Team: "design", Role: RoleLauncher}, p)
	require.NoError(t, p.CheckTeam("design"))
	require.ErrorIs(t, p.CheckTeam("civil"), ErrPermission)
	svc, err := k.Authenticate("svc-secret")
	require.NoError(t, err)
	require.Equal(t, Principal{KeyID: "service-ingestion", Org: AnyOrg, Role: RoleService, Service: ServiceIngestion}, svc)

	_, err = k.Authenticate("wrong-secret")
	require.ErrorIs(t, err, ErrUnauthenticated)
}

// A key given by its hash authenticates its secret, and no key id is
// derived from the secret: ids are given or name the key's principal.
func TestKeyringSpecTakesHashesAndNamedIDs(t *testing.T) {
	secret := "tmk_0123456789abcdefghijklmnopqrstuvwxyzABCDE"
	spec := fmt.Sprintf("# ops\nops-1@sha256:%s:acme:admin\n\nsha256:%s:*:service:reporting", hashOf(secret), hashOf("reporting-secret"))
	k, err := ParseKeyring(spec)
	require.NoError(t, err)
	p, err := k.Authenticate(secret)
	require.NoError(t, err)
	require.Equal(t, Principal{KeyID: "ops-1", Org: "acme", Role: RoleAdmin}, p)
	_, err = k.Authenticate(hashOf(secret))
	require.ErrorIs(t, err, ErrUnauthenticated, "the hash is not a credential")

	plain, err := ParseKeyring("dev-admin-key:demo:admin")
	require.NoError(t, err)
	a, err := plain.Authenticate("dev-admin-key")
	require.NoError(t, err)
	require.Equal(t, "admin-demo", a.KeyID)
	require.NotContains(t, hashOf("dev-admin-key"), a.KeyID)
}

func TestKeyringSpecRefusals(t *testing.T) {
	h := hashOf("some-long-secret")
	for bad, want := range map[string]string{
		"short:acme:admin":                                   "at least 8",
		"secret-long:acme:root":                              "unknown role",
		"secret-long:acme:launcher":                          "needs a team",
		"secret-long:acme":                                   "fields",
		"secret-long:acme:admin:design":                      "no team",
		"secret-long:*:admin":                                "only a service key",
		"secret-long:*:service":                              "names its service",
		"secret-long:*:service:alerting-x":                   "names its service",
		"secret-long:ac.me:admin":                            "organisation",
		"secret-long:acme:launcher:de.sign":                  "team",
		"sha256:abcd:acme:admin":                             "64 hex",
		"sha256:" + h:                                        "fields",
		"bad id@secret-long:acme:admin":                      "key id",
		"a@secret-long:acme:admin,a@other-long:acme:admin":   "key id a is also",
		"secret-long:acme:admin,secret-long:acme:launcher:x": "same credential",
		"secret-long:acme:admin,sha256:" + hashOf("secret-long") + ":acme:launcher:x": "same credential",
		"secret-long:acme:admin,other-long:acme:admin":                                "also key 1",
	} {
		_, err := ParseKeyring(bad)
		require.ErrorContains(t, err, want, bad)
		require.NotContains(t, err.Error(), "secret-long", "a refusal never quotes a secret")
	}
	_, err := ParseKeyring(strings.Repeat("x", 3) + "," + strings.Repeat(",", 5))
	require.Error(t, err)
}

// Reload swaps the static keys and keeps those added at run time; a bad
// spec leaves the keyring as it was.
func TestReloadReplacesStaticKeys(t *testing.T) {
	k, err := ParseKeyring("old-secret-1:acme:admin")
	require.NoError(t, err)
	k.AddHash(Hash("runtime-secret"), Principal{KeyID: "abc", Org: "acme", Team: "design", Role: RoleLauncher})

	_, err = k.Reload("new-secret-1:acme:admin,bad")
	require.Error(t, err)
	_, err = k.Authenticate("old-secret-1")
	require.NoError(t, err, "a failed reload keeps the old keys")

	_, err = k.Reload("new-secret-1:acme:admin")
	require.NoError(t, err)
	_, err = k.Authenticate("old-secret-1")
	require.ErrorIs(t, err, ErrUnauthenticated, "a key left out of the spec is gone")
	_, err = k.Authenticate("new-secret-1")
	require.NoError(t, err)
	p, err := k.Authenticate("runtime-secret")
	require.NoError(t, err)
	require.Equal(t, "abc", p.KeyID, "run-time keys keep their own id")
}

func TestGatewayLauncherKeyActsForEveryTeam(t *testing.T) {
	k, err := ParseKeyring("gateway-secret:acme:launcher:*")
	require.NoError(t, err)
	p, err := k.Authenticate("gateway-secret")
	require.NoError(t, err)
	require.Equal(t, "launcher-acme", p.KeyID)
	require.NoError(t, p.CheckTeam("design"))
	require.NoError(t, p.CheckTeam("civil"))
	_, err = ParseKeyring("admin-secret:acme:admin:*")
	require.Error(t, err, "only a launcher key takes every team")
}

package tokenctl

import (
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func testKeys(t *testing.T, s *stack) {
	env := s.env(t)
	r := ctl(t, env, "keys", "create", "key-team", "--label", "office launchers")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "the secret is shown this once")
	rows := tableRows(t, r.out)
	require.Equal(t, []string{"KEY_ID", "TEAM", "LABEL", "SECRET"}, rows[0])
	id := rows[1][0]
	require.Equal(t, "key-team", rows[1][1])

	var made v1.CreateLauncherKeyResponse
	protoOut(t, ok(t, env, "keys", "create", "key-team", "-o", "json"), &made)
	require.NotEmpty(t, made.GetSecret())

	list := csvRows(t, ok(t, env, "keys", "list", "--team", "key-team", "-o", "csv"))
	require.Equal(t, []string{"key_id", "team", "label", "created", "created_by", "revoked"}, list[0])
	require.Len(t, list, 3)
	require.NotContains(t, ok(t, env, "keys", "list", "-o", "json"), made.GetSecret(), "a list never shows secrets")

	rows = tableRows(t, ok(t, env, "keys", "revoke", id))
	require.Equal(t, id, rows[1][0])
	require.NotEqual(t, "-", rows[1][len(rows[1])-1], "revoked now")
	var live v1.ListLauncherKeysResponse
	protoOut(t, ok(t, env, "keys", "list", "--team", "key-team", "-o", "json"), &live)
	require.Len(t, live.GetKeys(), 1)
	require.Equal(t, made.GetKey().GetKeyId(), live.GetKeys()[0].GetKeyId())
	protoOut(t, ok(t, env, "keys", "list", "--team", "key-team", "--revoked", "-o", "json"), &live)
	require.Len(t, live.GetKeys(), 2)
}

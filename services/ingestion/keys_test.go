package ingestion_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// A key made by an admin on one replica works on every replica; revoked on
// one, every replica refuses it within a second.
func TestLauncherKeysAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := start(t, "", nil)
	b := start(t, a.nats, nil)
	doorA, doorB := doors(t, a), doors(t, b)
	ctx := t.Context()

	for name := range doorA {
		t.Run(name, func(t *testing.T) {
			created := &v1.CreateLauncherKeyResponse{}
			require.NoError(t, doorA[name].call(ctx, "admin-secret", "CreateLauncherKey", &v1.CreateLauncherKeyRequest{TeamId: "design", Label: "site " + name}, created))
			secret, keyID := created.GetSecret(), created.GetKey().GetKeyId()
			require.NotEmpty(t, secret)
			require.NotContains(t, keyID, secret)
			sum := auth.Hash(secret)
			require.NotEqual(t, hex.EncodeToString(sum[:6]), keyID, "a key id is not a function of the secret")

			launch := func(d door, n, team string) error {
				return d.call(ctx, secret, "Launch", &v1.LaunchRequest{EventId: id(name, n), TeamId: team, UserId: "ann", ProductCode: "REVIT"}, &v1.LaunchResponse{})
			}
			require.Eventually(t, func() bool { return launch(doorB[name], "new-key-b", "design") == nil }, 5*time.Second, 10*time.Millisecond,
				"the other replica learns the key")
			require.NoError(t, launch(doorA[name], "new-key-a", "design"))
			require.Equal(t, codes.PermissionDenied, status.Code(launch(doorA[name], "wrong-team", "civil")), "a design key naming civil")
			err := doorA[name].call(ctx, secret, "ListLauncherKeys", &v1.ListLauncherKeysRequest{}, &v1.ListLauncherKeysResponse{})
			require.Equal(t, codes.PermissionDenied, status.Code(err), "a launcher key cannot list keys")

			listed := &v1.ListLauncherKeysResponse{}
			require.NoError(t, doorB[name].call(ctx, "admin-secret", "ListLauncherKeys", &v1.ListLauncherKeysRequest{TeamId: "design"}, listed))
			var ids []string
			for _, k := range listed.GetKeys() {
				ids = append(ids, k.GetKeyId())
			}
			require.Contains(t, ids, keyID)

			revoked := &v1.RevokeLauncherKeyResponse{}
			require.NoError(t, doorA[name].call(ctx, "admin-secret", "RevokeLauncherKey", &v1.RevokeLauncherKeyRequest{KeyId: keyID}, revoked))
			require.NotNil(t, revoked.GetKey().GetRevokedAt())
			require.Eventually(t, func() bool {
				return status.Code(launch(doorB[name], "revoked-b", "design")) == codes.Unauthenticated &&
					status.Code(launch(doorA[name], "revoked-a", "design")) == codes.Unauthenticated
			}, time.Second, 10*time.Millisecond, "revoked everywhere within a second")

			err = doorA[name].call(ctx, "admin-secret", "RevokeLauncherKey", &v1.RevokeLauncherKeyRequest{KeyId: "0123456789ab"}, &v1.RevokeLauncherKeyResponse{})
			require.Equal(t, codes.NotFound, status.Code(err))
			err = doorA[name].call(ctx, "admin-secret", "RevokeLauncherKey", &v1.RevokeLauncherKeyRequest{KeyId: "nope"}, &v1.RevokeLauncherKeyResponse{})
			require.Equal(t, []string{"key_id"}, badFields(t, err))
			err = doorA[name].call(ctx, "admin-secret", "CreateLauncherKey", &v1.CreateLauncherKeyRequest{TeamId: "a.b"}, &v1.CreateLauncherKeyResponse{})
			require.Equal(t, []string{"team_id"}, badFields(t, err))
			listed = &v1.ListLauncherKeysResponse{}
			require.NoError(t, doorA[name].call(ctx, "admin-secret", "ListLauncherKeys", &v1.ListLauncherKeysRequest{IncludeRevoked: true}, listed))
			require.NotEmpty(t, listed.GetKeys())
		})
	}
}

// A restarted replica loads the keys made before it started.
func TestKeysLoadedOnStart(t *testing.T) {
	t.Parallel()
	a := start(t, "", nil)
	created := &v1.CreateLauncherKeyResponse{}
	require.NoError(t, doors(t, a)["grpc"].call(t.Context(), "admin-secret", "CreateLauncherKey", &v1.CreateLauncherKeyRequest{TeamId: "civil"}, created))
	b := start(t, a.nats, nil)
	err := doors(t, b)["grpc"].call(t.Context(), created.GetSecret(), "Quote", &v1.QuoteRequest{TeamId: "civil", UserId: "ann", ProductCode: "REVIT"}, &v1.QuoteResponse{})
	require.NoError(t, err, "no wait: keys are loaded before the replica serves")
}

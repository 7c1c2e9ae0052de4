package ingestion_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// C1 of the security review: a launcher key written straight into
// LAUNCHER_KEYS by anyone on NATS became a working key of any organisation.
// Now only ingestion's identity may write the bucket: the other identities'
// puts are refused and the secret they chose authenticates nothing.
func TestForgedLauncherKeyIsRefused(t *testing.T) {
	t.Parallel()
	e := start(t, "", nil)
	d := doors(t, e)["grpc"]
	for _, identity := range []string{"ledger", "reporting", "alerting", "reader"} {
		secret := "forged-by-" + identity + "-0123456789abcdef"
		err := putKey(t, e.nats, identity, secret)
		require.Error(t, err, "%s wrote a launcher key", identity)
		time.Sleep(200 * time.Millisecond) // the watcher learns a real key within milliseconds
		err = d.call(t.Context(), secret, "Launch", &v1.LaunchRequest{EventId: id("forge", identity), TeamId: "design", UserId: "ann", ProductCode: "REVIT"}, &v1.LaunchResponse{})
		require.Equal(t, codes.Unauthenticated, status.Code(err), "%s's forged key", identity)
	}
	// The control: what ingestion writes there is a key, so the refusal above is what protects.
	secret := "written-by-ingestion-0123456789abcdef"
	require.NoError(t, putKey(t, e.nats, "ingestion", secret))
	require.Eventually(t, func() bool {
		err := d.call(t.Context(), secret, "Launch", &v1.LaunchRequest{EventId: id("forge", "control"), TeamId: "design", UserId: "ann", ProductCode: "REVIT"}, &v1.LaunchResponse{})
		return status.Code(err) != codes.Unauthenticated
	}, 5*time.Second, 10*time.Millisecond)
}

// putKey writes a launcher key record for org victim-org, team design, as identity.
func putKey(t *testing.T, url, identity, secret string) error {
	t.Helper()
	js, err := jetstream.New(testkit.Connect(t, url, identity))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	sum, id := auth.Hash(secret), auth.NewKeyID()
	rec, err := json.Marshal(map[string]any{"key_id": id, "sha256": hex.EncodeToString(sum[:]),
		"org": "victim-org", "team": "design", "created_at": time.Now().UTC()})
	require.NoError(t, err)
	_, err = js.Publish(ctx, "$KV.LAUNCHER_KEYS.victim-org."+id, rec)
	return err
}

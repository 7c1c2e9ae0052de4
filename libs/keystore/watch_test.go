package keystore

import (
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

func put(t *testing.T, kv jetstream.KeyValue, secret string, rec Record) {
	sum := auth.Hash(secret)
	rec.SHA256, rec.CreatedAt = hex.EncodeToString(sum[:]), time.Now()
	data, err := json.Marshal(rec)
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), kvKey(rec.Org, rec.KeyID), data)
	require.NoError(t, err)
}

// A service following the access keys admits people's roles only: a record
// claiming a service or launcher role, or filed under another organisation's
// key, never enters its keyring. Keys made before the bucket existed arrive
// once its owner makes it.
func TestFollowAdmitsOnlyPeoplesRoles(t *testing.T) {
	old := followRetry
	followRetry = 20 * time.Millisecond
	t.Cleanup(func() { followRetry = old })
	url, _ := testkit.NATS(t)
	reader, err := jetstream.New(testkit.Connect(t, url, natsauth.Ledger))
	require.NoError(t, err)
	ring := auth.NewKeyring()
	Follow(t.Context(), reader, People, ring, slog.New(slog.DiscardHandler))

	owner, err := jetstream.New(testkit.Connect(t, url, natsauth.Ingestion))
	require.NoError(t, err)
	store, err := Open(t.Context(), owner, People, 1)
	require.NoError(t, err)
	put(t, store.KV(), "viewer-secret", Record{KeyID: "aaaaaaaaaaaa", Org: "acme", Role: "viewer"})
	put(t, store.KV(), "service-secret", Record{KeyID: "bbbbbbbbbbbb", Org: "acme", Role: "service"})
	put(t, store.KV(), "launcher-secret", Record{KeyID: "cccccccccccc", Org: "acme", Team: "design"})
	rec := Record{KeyID: "dddddddddddd", Org: "victim", Role: "owner"}
	sum := auth.Hash("misfiled-secret")
	rec.SHA256 = hex.EncodeToString(sum[:])
	data, _ := json.Marshal(rec)
	_, err = store.KV().Put(t.Context(), "acme.dddddddddddd", data)
	require.NoError(t, err)

	require.Eventually(t, func() bool { _, err := ring.Authenticate("viewer-secret"); return err == nil }, 5*time.Second, 10*time.Millisecond)
	for _, forged := range []string{"service-secret", "launcher-secret", "misfiled-secret"} {
		_, err := ring.Authenticate(forged)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, forged)
	}

	_, err = store.Revoke(t.Context(), "acme", "aaaaaaaaaaaa", time.Now())
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := ring.Authenticate("viewer-secret"); return err != nil }, time.Second, 5*time.Millisecond)
}

// Session keys enter a keyring only naming a person and expiring within
// MaxSessionKeyLife; their principal acts as the person, and an expired
// one is refused though nobody revoked it.
func TestSessionKeysNamePeopleAndExpire(t *testing.T) {
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, natsauth.Reporting))
	require.NoError(t, err)
	store, err := Open(t.Context(), js, Sessions, 1)
	require.NoError(t, err)
	ring := auth.NewKeyring()
	w, err := Watch(t.Context(), store.KV(), Sessions, ring, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(w.Stop)

	soon, late := time.Now().Add(300*time.Millisecond), time.Now().Add(MaxSessionKeyLife+time.Hour)
	secret, _, err := store.Create(t.Context(), Record{Org: "acme", Role: "viewer", Person: "sso:ann@acme.example", ExpiresAt: &soon}, time.Now())
	require.NoError(t, err)
	put(t, store.KV(), "no-person", Record{KeyID: "aaaaaaaaaaaa", Org: "acme", Role: "owner", ExpiresAt: &soon})
	put(t, store.KV(), "forever", Record{KeyID: "bbbbbbbbbbbb", Org: "acme", Role: "owner", Person: "sso:x"})
	put(t, store.KV(), "too-long", Record{KeyID: "cccccccccccc", Org: "acme", Role: "owner", Person: "sso:x", ExpiresAt: &late})

	require.Eventually(t, func() bool { _, err := ring.Authenticate(secret); return err == nil }, time.Second, 5*time.Millisecond)
	p, _ := ring.Authenticate(secret)
	require.Equal(t, "sso:ann@acme.example", p.KeyID, "actors name the person")
	require.Equal(t, auth.RoleViewer, p.Role)
	for _, refused := range []string{"no-person", "forever", "too-long"} {
		_, err := ring.Authenticate(refused)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, refused)
	}
	require.Eventually(t, func() bool { _, err := ring.Authenticate(secret); return err != nil }, 2*time.Second, 10*time.Millisecond,
		"past its expiry the key is refused")
}

package rolegrant

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

type ends struct {
	mu  sync.Mutex
	ids []string
}

func (e *ends) add(org, id string) { e.mu.Lock(); e.ids = append(e.ids, org+"."+id); e.mu.Unlock() }
func (e *ends) has(org, id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.ids {
		if x == org+"."+id {
			return true
		}
	}
	return false
}

// Reporting follows the grants ingestion writes: a new grant is live at
// once, a revoked one leaves within a second and is told of; reporting
// itself cannot write a grant, and a record filed under another
// organisation's key or naming a role nobody may hold never becomes live.
func TestReportingFollowsGrantsIngestionWrites(t *testing.T) {
	old := followRetry
	followRetry = 20 * time.Millisecond
	t.Cleanup(func() { followRetry = old })
	url, _ := testkit.NATS(t)
	violations := make(chan error, 4)
	reader, err := jetstream.New(testkit.Connect(t, url, natsauth.Reporting,
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err })))
	require.NoError(t, err)
	var ended ends
	ix := NewIndex()
	ix.OnEnd(ended.add)
	Follow(t.Context(), reader, ix, slog.New(slog.DiscardHandler))

	owner, err := jetstream.New(testkit.Connect(t, url, natsauth.Ingestion))
	require.NoError(t, err)
	store, err := Open(t.Context(), owner, 1)
	require.NoError(t, err)
	g, err := store.Create(t.Context(), &v1.RoleGrant{OrgId: "acme", Claim: v1.GrantClaim_GRANT_CLAIM_EMAIL,
		ClaimValue: "Ann@Acme.example", Role: "viewer", CreatedBy: "sso:olga@acme.example"}, time.Now())
	require.NoError(t, err)
	forged := proto.CloneOf(g)
	forged.OrgId, forged.Role = "victim", "owner"
	data, _ := proto.Marshal(forged)
	_, err = store.kv.Put(t.Context(), "acme.0123456789ab", data)
	require.NoError(t, err)
	bad := proto.CloneOf(g)
	bad.GrantId, bad.Role = "aaaaaaaaaaaa", "service"
	data, _ = proto.Marshal(bad)
	_, err = store.kv.Put(t.Context(), "acme.aaaaaaaaaaaa", data)
	require.NoError(t, err)

	require.Eventually(t, func() bool { return ix.IsLive("acme", g.GetGrantId()) }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return len(ix.Live("acme")) == 1 }, time.Second, 5*time.Millisecond)
	require.Equal(t, "ann@acme.example", ix.Live("acme")[0].GetClaimValue())
	require.Empty(t, ix.Live("victim"), "a record under another organisation's key")

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err = reader.Publish(ctx, "$KV."+Bucket+".victim.0123456789ab", data)
	require.Error(t, err, "reporting writes a grant")
	require.ErrorIs(t, <-violations, nats.ErrPermissionViolation)

	revoked, err := store.Revoke(t.Context(), "acme", g.GetGrantId(), "owner-key", time.Now())
	require.NoError(t, err)
	require.Equal(t, "owner-key", revoked.GetRevokedBy())
	require.Eventually(t, func() bool { return !ix.IsLive("acme", g.GetGrantId()) && ended.has("acme", g.GetGrantId()) },
		time.Second, 5*time.Millisecond, "revoked within a second")
	again, err := store.Revoke(t.Context(), "acme", g.GetGrantId(), "someone-else", time.Now())
	require.NoError(t, err)
	require.Equal(t, "owner-key", again.GetRevokedBy(), "the first revocation stands")
	_, err = store.Revoke(t.Context(), "acme", "bbbbbbbbbbbb", "owner-key", time.Now())
	require.ErrorIs(t, err, ErrNotFound)
}

// An organisation holds at most maxLive live grants, and one live grant of
// a value and role; revoked grants make room.
func TestLiveGrantsBounded(t *testing.T) {
	old := maxLive
	maxLive = 3
	t.Cleanup(func() { maxLive = old })
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, natsauth.Ingestion))
	require.NoError(t, err)
	store, err := Open(t.Context(), js, 1)
	require.NoError(t, err)
	mk := func(org, value string) (*v1.RoleGrant, error) {
		return store.Create(t.Context(), &v1.RoleGrant{OrgId: org, Claim: v1.GrantClaim_GRANT_CLAIM_ROLE, ClaimValue: value, Role: "viewer"}, time.Now())
	}
	first, err := mk("acme", "g1")
	require.NoError(t, err)
	_, err = mk("acme", "g1")
	require.ErrorIs(t, err, ErrExists)
	for _, v := range []string{"g2", "g3"} {
		_, err = mk("acme", v)
		require.NoError(t, err)
	}
	_, err = mk("acme", "g4")
	require.ErrorIs(t, err, ErrTooMany)
	_, err = mk("globex", "g4")
	require.NoError(t, err, "another organisation's count")
	_, err = store.Revoke(t.Context(), "acme", first.GetGrantId(), "k", time.Now())
	require.NoError(t, err)
	_, err = mk("acme", "g4")
	require.NoError(t, err, "a revoked grant makes room")
}

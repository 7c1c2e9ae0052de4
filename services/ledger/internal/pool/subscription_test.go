package pool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The hybrid model end to end in the core: a subscribed user's launches of
// the subscribed product cost nothing and need no assignment; other
// products, and the same one after the end or a revocation, are Flex again.
func TestSubscriptionAuthorizesWithoutTokens(t *testing.T) {
	h := newHarness(t)
	h.pack("p1", 100, t0.AddDate(0, -1, 0), t0.AddDate(0, 11, 0))
	ends := t0.Add(72 * time.Hour)
	ev, err := h.p.DecideGrant(Grant{EventID: h.id(), User: "sam", Products: []string{"REVIT"}, EndsAt: ends, At: t0})
	require.NoError(t, err)
	h.apply(ev)

	o := h.launch("sam", "REVIT", t0.Add(time.Hour))
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, o.Decision)
	require.True(t, o.BySubscription)
	require.Zero(t, o.Tokens)
	require.True(t, o.WindowEnd.Equal(ends), "the answer says when the subscription ends")
	require.Equal(t, int64(100), h.p.Available(), "the pool is not touched")
	q := h.p.QuoteLaunch("sam", "REVIT", t0.Add(2*time.Hour), h.cat)
	require.True(t, q.BySubscription && q.Affordable)
	require.Zero(t, q.Tokens)

	hb, hev := h.p.DecideHeartbeat(Heartbeat{EventID: h.id(), User: "sam", Product: "REVIT", Active: true, At: t0.Add(30 * time.Hour)}, h.cat)
	require.Nil(t, hev, "a subscribed session is never renewed on tokens")
	require.True(t, hb.KeepRunning && hb.BySubscription)

	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, h.launch("sam", "ACAD", t0.Add(time.Hour)).DenyReason,
		"a product outside the subscription is Flex, and sam is not assigned")
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, h.launch("sam", "REVIT", ends).DenyReason,
		"the subscription ends at ends_at")

	h.assign("sam", "REVIT")
	ev, err = h.p.DecideGrant(Grant{EventID: h.id(), User: "sam", Products: []string{"REVIT"}, At: ends})
	require.NoError(t, err)
	h.apply(ev)
	require.True(t, h.launch("sam", "REVIT", ends.Add(time.Hour)).BySubscription)
	require.Len(t, h.p.Subscriptions(ends.Add(time.Hour)), 1)

	ev, err = h.p.DecideRevoke(h.id(), "sam", []string{"REVIT"}, "back to tokens", ends.Add(2*time.Hour), nil)
	require.NoError(t, err)
	h.apply(ev)
	o = h.launch("sam", "REVIT", ends.Add(3*time.Hour))
	require.False(t, o.BySubscription)
	require.Equal(t, int64(10), o.Tokens, "revoked: charged on tokens again")
	require.Empty(t, h.p.Subscriptions(ends.Add(3*time.Hour)))
	_, err = h.p.DecideRevoke(h.id(), "sam", nil, "", ends, nil)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestGrantChecksItsFields(t *testing.T) {
	p := New("acme", "design")
	for _, tc := range []struct {
		g     Grant
		field string
	}{
		{Grant{Products: []string{"REVIT"}}, "user_id"},
		{Grant{User: "u"}, "product_codes"},
		{Grant{User: "u", Products: []string{"*"}}, "product_codes"},
		{Grant{User: "u", Products: []string{"REVIT"}, EndsAt: t0.Add(-time.Second)}, "ends_at"},
		{Grant{User: "u", Products: []string{"REVIT"}, EndsAt: t0.AddDate(200, 0, 0)}, "ends_at"},
		{Grant{User: "u", Products: []string{"REVIT"}, Reason: string(make([]byte, MaxReasonLen+1))}, "reason"},
	} {
		tc.g.At = t0
		_, err := p.DecideGrant(tc.g)
		var fe *FieldError
		require.ErrorAs(t, err, &fe, "%+v", tc.g)
		require.Equal(t, tc.field, fe.Field)
	}
}

// A snapshot keeps the subscriptions, ended ones too, so a restored pool
// decides as the replayed one.
func TestSnapshotKeepsSubscriptions(t *testing.T) {
	h := newHarness(t)
	ev, err := h.p.DecideGrant(Grant{EventID: h.id(), User: "sam", Products: []string{"REVIT", "ACAD"}, EndsAt: t0.Add(time.Hour), At: t0})
	require.NoError(t, err)
	h.apply(ev)
	raw, err := h.p.MarshalSnapshot()
	require.NoError(t, err)
	back, err := UnmarshalSnapshot(raw)
	require.NoError(t, err)
	require.Equal(t, h.p.allSubscriptions(), back.allSubscriptions())
	require.Len(t, back.Subscriptions(t0), 2)
	again, err := back.MarshalSnapshot()
	require.NoError(t, err)
	require.Equal(t, string(raw), string(again))
}

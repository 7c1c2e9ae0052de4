package store_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
)

func open(t *testing.T) (*store.Stores, jetstream.JetStream) {
	t.Helper()
	url, _ := testkit.NATS(t)
	nc, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "alerting"), "store-test", slog.New(slog.NewTextHandler(io.Discard, nil)),
		eventlog.Streams{Own: []string{eventlog.AlertsStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	st, err := store.Open(t.Context(), js, 0)
	require.NoError(t, err)
	return st, js
}

func TestOpenProvisionsBucketsAndIsRepeatable(t *testing.T) {
	t.Parallel()
	st, js := open(t)
	require.NoError(t, st.Settings.Put(t.Context(), "acme", "design", &v1.AlertRules{}))
	again, err := store.Open(t.Context(), js, 1)
	require.NoError(t, err, "a second replica opens the same buckets")
	_, err = again.Settings.Get(t.Context(), "acme", "design")
	require.NoError(t, err, "and keeps what is in them")
	for _, b := range []string{store.RulesBucket, store.AcksBucket, store.WebhooksBucket, store.DeadLettersBucket} {
		_, err := js.KeyValue(t.Context(), b)
		require.NoError(t, err, b)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	ctx := t.Context()
	_, err := st.Settings.Get(ctx, "acme", "design")
	require.ErrorIs(t, err, store.ErrNotFound)

	pct := 35.0
	design := &v1.AlertRules{LowBalance: &v1.LowBalanceRule{Percent: &pct}}
	require.NoError(t, st.Settings.Put(ctx, "acme", "design", design))
	require.NoError(t, st.Settings.Put(ctx, "acme", "build", &v1.AlertRules{}))
	require.NoError(t, st.Settings.Put(ctx, "acme2", "design", &v1.AlertRules{}))
	got, err := st.Settings.Get(ctx, "acme", "design")
	require.NoError(t, err)
	require.True(t, proto.Equal(design, got))

	list, err := st.Settings.List(ctx, "acme")
	require.NoError(t, err)
	var teams []string
	for _, ts := range list {
		require.Equal(t, "acme", ts.Org, "no other organisation, not even acme2")
		teams = append(teams, ts.Team)
	}
	require.ElementsMatch(t, []string{"design", "build"}, teams)
	none, err := st.Settings.List(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, none)
}

func TestSettingsWatchSendsAllThenNilThenChanges(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	ctx := t.Context()
	require.NoError(t, st.Settings.Put(ctx, "acme", "design", &v1.AlertRules{}))
	updates, err := st.Settings.Watch(ctx)
	require.NoError(t, err)
	next := func() *store.TeamSettings {
		t.Helper()
		select {
		case ts := <-updates:
			return ts
		case <-time.After(10 * time.Second):
			t.Fatal("no update")
			return nil
		}
	}
	first := next()
	require.NotNil(t, first)
	require.Equal(t, "design", first.Team)
	require.Nil(t, next(), "the initial values are all sent")

	pct := 10.0
	require.NoError(t, st.Settings.Put(ctx, "acme", "build", &v1.AlertRules{LowBalance: &v1.LowBalanceRule{Percent: &pct}}))
	change := next()
	require.Equal(t, "acme", change.Org)
	require.Equal(t, "build", change.Team)
	require.Equal(t, 10.0, change.Rules.GetLowBalance().GetPercent())
}

func TestAcksFirstOneStays(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	ctx := t.Context()
	const id = "low_balance.acme.design.42"
	_, err := st.Acks.Get(ctx, "acme", id)
	require.ErrorIs(t, err, store.ErrNotFound)

	first := store.Ack{By: "key-ann", At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	got, err := st.Acks.Put(ctx, "acme", id, first)
	require.NoError(t, err)
	require.Equal(t, first, got)
	got, err = st.Acks.Put(ctx, "acme", id, store.Ack{By: "key-bob", At: first.At.Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, first.By, got.By, "the first acknowledgement stays")
	require.True(t, first.At.Equal(got.At))
	stored, err := st.Acks.Get(ctx, "acme", id)
	require.NoError(t, err)
	require.Equal(t, "key-ann", stored.By)

	_, err = st.Acks.Get(ctx, "other", id)
	require.ErrorIs(t, err, store.ErrNotFound, "acknowledgements are per organisation")
}

func TestHashIsStableAndKeySafe(t *testing.T) {
	t.Parallel()
	h := store.Hash("low_balance.acme.design.42")
	require.Equal(t, h, store.Hash("low_balance.acme.design.42"))
	require.Regexp(t, `^[0-9a-f]{24}$`, h)
	require.NotEqual(t, h, store.Hash("low_balance.acme.design.43"))
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	ctx := t.Context()
	chat := &v1.Webhook{WebhookId: "chat", TeamId: "design", Url: "https://chat.example/hook", Secret: "whsec_0123456789abcdef"}
	require.NoError(t, st.Webhooks.Put(ctx, "acme", chat))
	require.NoError(t, st.Webhooks.Put(ctx, "acme", &v1.Webhook{WebhookId: "pager", TeamId: "build", Url: "https://pager.example"}))
	require.NoError(t, st.Webhooks.Put(ctx, "other", &v1.Webhook{WebhookId: "chat", TeamId: "design", Url: "https://other.example"}))

	design, err := st.Webhooks.List(ctx, "acme", "design")
	require.NoError(t, err)
	require.Len(t, design, 1)
	require.True(t, proto.Equal(chat, design[0]), "secrets are kept for signing")
	all, err := st.Webhooks.List(ctx, "acme", "*")
	require.NoError(t, err)
	require.Len(t, all, 2)

	// Put replaces.
	chat.Url = "https://chat.example/new"
	require.NoError(t, st.Webhooks.Put(ctx, "acme", chat))
	design, err = st.Webhooks.List(ctx, "acme", "design")
	require.NoError(t, err)
	require.Len(t, design, 1)
	require.Equal(t, "https://chat.example/new", design[0].GetUrl())

	require.NoError(t, st.Webhooks.Delete(ctx, "acme", "design", "chat"))
	require.ErrorIs(t, st.Webhooks.Delete(ctx, "acme", "design", "chat"), store.ErrNotFound)
	require.ErrorIs(t, st.Webhooks.Delete(ctx, "acme", "design", "never"), store.ErrNotFound)
	design, err = st.Webhooks.List(ctx, "acme", "design")
	require.NoError(t, err)
	require.Empty(t, design, "deleted hooks are not listed")
	theirs, err := st.Webhooks.List(ctx, "other", "*")
	require.NoError(t, err)
	require.Len(t, theirs, 1, "another organisation's hook is untouched")
}

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	st, _ := open(t)
	ctx := t.Context()
	dl := func(team, hook, alert, lastErr string) *v1.DeadLetter {
		return &v1.DeadLetter{WebhookId: hook, TeamId: team, Url: "https://x.example", Attempts: 6, LastError: lastErr,
			Alert: &v1.Alert{AlertId: alert, OrgId: "acme", TeamId: team}}
	}
	require.NoError(t, st.DeadLetters.Put(ctx, "acme", dl("design", "chat", "low_balance.acme.design.1", "first")))
	// The same delivery given up again (a redelivery after a crash) is one record.
	require.NoError(t, st.DeadLetters.Put(ctx, "acme", dl("design", "chat", "low_balance.acme.design.1", "again")))
	require.NoError(t, st.DeadLetters.Put(ctx, "acme", dl("design", "pager", "low_balance.acme.design.1", "x")))
	require.NoError(t, st.DeadLetters.Put(ctx, "acme", dl("build", "chat", "low_balance.acme.build.2", "x")))
	require.NoError(t, st.DeadLetters.Put(ctx, "other", dl("design", "chat", "low_balance.other.design.3", "x")))

	design, err := st.DeadLetters.List(ctx, "acme", "design")
	require.NoError(t, err)
	require.Len(t, design, 2)
	for _, d := range design {
		if d.GetWebhookId() == "chat" {
			require.Equal(t, "again", d.GetLastError(), "the latest record of one delivery")
		}
	}
	all, err := st.DeadLetters.List(ctx, "acme", "*")
	require.NoError(t, err)
	require.Len(t, all, 3)
	for _, d := range all {
		require.Equal(t, "acme", d.GetAlert().GetOrgId())
	}
}

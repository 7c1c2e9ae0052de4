package alerting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/server"
)

func TestWebhooksPerTeamAreCapped(t *testing.T) {
	t.Parallel()
	c := startService(t).client(acmeAdmin)
	set := func(id string) error {
		_, err := c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{
			WebhookId: id, TeamId: "capped", Url: "https://hooks.example.com/" + id}})
		return err
	}
	for i := range server.MaxWebhooksPerTeam {
		require.NoError(t, set(fmt.Sprintf("hook-%d", i)))
	}
	err := set("one-too-many")
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	require.NoError(t, set("hook-3"), "replacing a webhook is not a new one")
	_, err = c.DeleteWebhook(t.Context(), &v1.DeleteWebhookRequest{TeamId: "capped", WebhookId: "hook-0"})
	require.NoError(t, err)
	require.NoError(t, set("one-too-many"), "room again after a delete")
}

func TestWatchesPerKeyAreCapped(t *testing.T) {
	t.Parallel()
	c := startService(t).client(acmeAdmin)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cancels []context.CancelFunc
	for range server.MaxWatchesPerKey {
		wctx, wcancel := context.WithCancel(ctx)
		cancels = append(cancels, wcancel)
		require.True(t, watchOpens(t, c, wctx))
	}
	over, err := c.WatchAlerts(ctx, &v1.WatchAlertsRequest{})
	require.NoError(t, err)
	_, err = over.Recv()
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)

	cancels[0]()
	require.Eventually(t, func() bool { return watchOpens(t, c, ctx) }, 5*time.Second, 50*time.Millisecond,
		"a closed stream frees its place")
}

// watchOpens opens a watch and reports whether the server accepted it.
func watchOpens(t *testing.T, c v1.AlertingServiceClient, ctx context.Context) bool {
	t.Helper()
	w, err := c.WatchAlerts(ctx, &v1.WatchAlertsRequest{})
	require.NoError(t, err)
	md, err := w.Header()
	require.NoError(t, err)
	return len(md.Get(server.WatchOpenHeader)) == 1
}

package server

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/store"
)

// A filter that matches little answers short pages, even empty ones, with a
// token, each call reading at most maxHistoryScan events; walking them all
// still finds every match once.
func TestListTransactionsScansABoundedStretch(t *testing.T) {
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	nc, js, err := eventlog.Connect(ctx, testkit.Client(t, url, "ledger"), "history-test", slog.New(slog.DiscardHandler),
		eventlog.Streams{Options: eventlog.StreamOptions{Replicas: 1}, Own: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	defer func(n int) { maxHistoryScan = n }(maxHistoryScan)
	maxHistoryScan = 10

	subject := eventlog.LedgerSubject("acme", "design")
	for i := range 45 {
		ev := &v1.Event{EventId: fmt.Sprintf("e%02d", i), ServerTime: timestamppb.New(time.Unix(int64(i), 0)), Actor: &v1.Actor{Kind: "admin", Id: "k"},
			Payload: &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: fmt.Sprint("u", i)}}}
		if i%20 == 19 { // e19 and e39
			ev.Payload = &v1.Event_UserUnassigned{UserUnassigned: &v1.UserUnassigned{UserId: "u0"}}
		}
		_, err := eventlog.Append(ctx, js, subject, ev, nil)
		require.NoError(t, err)
	}

	l := &Ledger{JS: js, Now: time.Now, Privacy: privacy.New(testkit.UserHashKey, privacy.Fixed(false)), Store: store.New(js, slog.New(slog.DiscardHandler))}
	admin := auth.WithPrincipal(ctx, auth.Principal{KeyID: "k", Org: "acme", Role: auth.RoleAdmin})
	req := &v1.ListTransactionsRequest{TeamId: "design", Types: []string{"user_unassigned"}}
	var got []string
	calls, empty := 0, 0
	for {
		resp, err := l.ListTransactions(admin, req)
		require.NoError(t, err)
		calls++
		if len(resp.GetTransactions()) == 0 {
			empty++
		}
		for _, tx := range resp.GetTransactions() {
			got = append(got, tx.GetEventId())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	require.Equal(t, []string{"e19", "e39"}, got)
	require.Equal(t, 5, calls, "45 events, 10 a call")
	require.Positive(t, empty, "a stretch without a match answers an empty page that goes on")
}

package alerting_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/privacy"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// personAlerts raises alerts that name a person: a session renewed on her
// laptop, and her budget crossed. It returns everything that left the
// service about them: ListAlerts, WatchAlerts and the webhook's bodies.
func personAlerts(t *testing.T, acmeShows bool) string {
	h := startServiceShowing(t, acmeShows)
	c := h.client(acmeAdmin)
	hook := &endpoint{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	_, err := c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "chat", TeamId: "design", Url: srv.URL}})
	require.NoError(t, err)

	h.append("acme", "design", &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
		UserId: "annika", DeviceId: "annika-laptop", ProductCode: "RVT", Tokens: 10, Renewal: true,
		Attributes: map[string]string{"user": "annika"}}}}, 900, 1000)
	h.append("acme", "design", &v1.Event{Payload: &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{
		BudgetId: "b1", UserId: "annika", Spent: 10, LimitTokens: 10, PeriodStart: "2026-03-01"}}}, 890, 1000)
	require.Eventually(t, func() bool { return hook.delivered() == 2 }, 15*time.Second, 5*time.Millisecond)

	var out strings.Builder
	list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 2)
	out.WriteString(protojson.Format(list))
	stream, cancel := watch(t, c, &v1.WatchAlertsRequest{FromSequence: 1})
	defer cancel()
	for _, a := range receive(t, stream, 2) {
		out.WriteString(protojson.Format(a))
	}
	hook.mu.Lock()
	for _, b := range hook.bodies {
		out.Write(b)
	}
	hook.mu.Unlock()
	return out.String()
}

// Alerts of a pseudonymised organisation (their texts, ids, the watch, the
// list and the webhook payloads sent to chat services) never name the user
// or her device; an organisation that shows people sees them.
func TestAlertsPseudonymise(t *testing.T) {
	t.Parallel()
	t.Run("pseudonymised", func(t *testing.T) {
		t.Parallel()
		out := personAlerts(t, false)
		require.NotContains(t, out, "annika")
		require.Contains(t, out, "u_", "the user appears as her pseudonym")
		require.Contains(t, out, "d_", "her laptop as its own")
	})
	t.Run("shown", func(t *testing.T) {
		t.Parallel()
		out := personAlerts(t, true)
		require.Contains(t, out, "annika of team design left RVT open on annika-laptop")
		require.Contains(t, out, "for annika")
	})
}

// An alert raised while the organisation showed its people, read after its
// owner switched to pseudonyms, no longer tells their names.
func TestAlertsRaisedBeforePseudonymsAreHidden(t *testing.T) {
	t.Parallel()
	h := startServiceShowing(t, true)
	c := h.client(acmeAdmin)
	h.append("acme", "design", &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
		UserId: "annika", DeviceId: "annika-laptop", ProductCode: "RVT", Tokens: 10, Renewal: true}}}, 900, 1000)
	list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.Contains(t, protojson.Format(list), "annika", "shown while the organisation shows people")

	_, err = eventlog.Append(t.Context(), h.js, eventlog.CatalogSubject("acme"), &v1.Event{
		EventId: "acme-personal-data-2", Type: "personal_data_set", OrgId: "acme", ServerTime: timestamppb.Now(),
		Payload: &v1.Event_PersonalDataSet{PersonalDataSet: &v1.PersonalDataSet{Show: false}},
	}, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
		return err == nil && !strings.Contains(protojson.Format(list), "annika")
	}, 10*time.Second, 10*time.Millisecond, "hidden once the owner switched to pseudonyms")
	stream, cancel := watch(t, c, &v1.WatchAlertsRequest{FromSequence: 1})
	defer cancel()
	a := receive(t, stream, 1)[0]
	require.Equal(t, privacy.HiddenText, a.GetMessage())
}

// Alerts naming a user the organisation (which shows people) erased have
// their text hidden in ListAlerts and WatchAlerts; alerts raised after the
// erasure name the user by pseudonym.
func TestAlertsNamingAnErasedUserAreHidden(t *testing.T) {
	t.Parallel()
	h := startServiceShowing(t, true)
	c := h.client(acmeAdmin)
	renewal := func() *v1.Event {
		return &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: "annika", DeviceId: "annika-laptop", ProductCode: "RVT", Tokens: 10, Renewal: true}}}
	}
	h.append("acme", "design", renewal(), 900, 1000)
	list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.Contains(t, protojson.Format(list), "annika", "shown while the organisation shows people")

	_, err = eventlog.Append(t.Context(), h.js, eventlog.CatalogSubject("acme"), &v1.Event{
		EventId: "acme-erase-annika", Type: "user_erased", OrgId: "acme", ServerTime: timestamppb.Now(),
		Payload: &v1.Event_UserErased{UserErased: &v1.UserErased{UserId: "annika"}},
	}, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
		return err == nil && !strings.Contains(protojson.Format(list), "annika")
	}, 10*time.Second, 10*time.Millisecond, "hidden once the user is erased")
	stream, cancel := watch(t, c, &v1.WatchAlertsRequest{FromSequence: 1})
	defer cancel()
	require.Equal(t, privacy.ErasedText, receive(t, stream, 1)[0].GetMessage())

	h.append("acme", "design", renewal(), 800, 1000)
	a := receive(t, stream, 1)[0]
	require.NotContains(t, protojson.Format(a), "annika", "raised after the erasure")
	require.Contains(t, a.GetMessage(), privacy.Prefix)
}

package alerting_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

func TestAcknowledgeAlert(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	h.crossing("acme", "design")
	second := h.crossing("acme", "build")
	list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 2)
	id := list.GetAlerts()[0].GetAlertId()
	require.Equal(t, second, list.GetAlerts()[0].GetSourceSequence())

	acked, err := c.AcknowledgeAlert(t.Context(), &v1.AcknowledgeAlertRequest{AlertId: id})
	require.NoError(t, err)
	require.True(t, acked.GetAlert().GetAcknowledged())
	require.NotEmpty(t, acked.GetAlert().GetAcknowledgedBy())
	again, err := c.AcknowledgeAlert(t.Context(), &v1.AcknowledgeAlertRequest{AlertId: id})
	require.NoError(t, err)
	require.True(t, proto.Equal(acked.GetAlert().GetAcknowledgedAt(), again.GetAlert().GetAcknowledgedAt()), "the first acknowledgement stays")

	list, err = c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.True(t, list.GetAlerts()[0].GetAcknowledged())
	require.False(t, list.GetAlerts()[1].GetAcknowledged())
	list, err = c.ListAlerts(t.Context(), &v1.ListAlertsRequest{UnacknowledgedOnly: true})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 1)
	require.Equal(t, "design", list.GetAlerts()[0].GetTeamId())

	// Another organisation cannot see, let alone acknowledge, acme's alert.
	_, err = h.client(otherAdmin).AcknowledgeAlert(t.Context(), &v1.AcknowledgeAlertRequest{AlertId: list.GetAlerts()[0].GetAlertId()})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = c.AcknowledgeAlert(t.Context(), &v1.AcknowledgeAlertRequest{AlertId: "low_balance.acme.design.999"})
	require.Equal(t, codes.NotFound, status.Code(err))
}

func TestRulesManagement(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	pct := 50.0
	set, err := c.SetRules(t.Context(), &v1.SetRulesRequest{TeamId: "design", Settings: &v1.AlertRules{LowBalance: &v1.LowBalanceRule{Percent: &pct}}})
	require.NoError(t, err)
	require.Equal(t, 50.0, set.GetTeam().GetEffective().GetLowBalance().GetPercent())
	require.True(t, set.GetTeam().GetEffective().GetLowBalance().GetEnabled(), "unset: the default")

	list, err := c.ListRules(t.Context(), &v1.ListRulesRequest{})
	require.NoError(t, err)
	require.Equal(t, 20.0, list.GetDefaults().GetLowBalance().GetPercent())
	require.Len(t, list.GetTeams(), 1)
	require.Equal(t, "design", list.GetTeams()[0].GetTeamId())
	other, err := h.client(otherAdmin).ListRules(t.Context(), &v1.ListRulesRequest{})
	require.NoError(t, err)
	require.Empty(t, other.GetTeams(), "settings are per organisation")

	// The engine follows the change: 40 % is now low for design, not for build.
	require.Eventually(t, func() bool {
		h.append("acme", "design", packAdded(), 1000, 1000)
		h.append("acme", "design", charged(), 400, 1000)
		list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{TeamIds: []string{"design"}})
		require.NoError(t, err)
		return len(list.GetAlerts()) > 0
	}, 10*time.Second, 10*time.Millisecond)
	h.append("acme", "build", packAdded(), 1000, 1000)
	h.append("acme", "build", charged(), 400, 1000)
	list2, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{TeamIds: []string{"build"}})
	require.NoError(t, err)
	require.Empty(t, list2.GetAlerts())

	bad := -3.0
	_, err = c.SetRules(t.Context(), &v1.SetRulesRequest{TeamId: "design", Settings: &v1.AlertRules{LowBalance: &v1.LowBalanceRule{Percent: &bad}}})
	requireField(t, err, "settings.low_balance.percent")
	_, err = c.SetRules(t.Context(), &v1.SetRulesRequest{TeamId: "a.b"})
	requireField(t, err, "team_id")
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), st.Message())
	require.Len(t, st.Details(), 1)
	br, ok := st.Details()[0].(*errdetails.BadRequest)
	require.True(t, ok)
	require.Equal(t, field, br.GetFieldViolations()[0].GetField())
}

// endpoint is a local webhook receiver that fails its first n requests.
type endpoint struct {
	mu       sync.Mutex
	failures int
	calls    int
	got      []webhook.Payload
	headers  []http.Header
	bodies   [][]byte
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if e.calls <= e.failures {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var p webhook.Payload
	if json.Unmarshal(body, &p) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	e.got, e.headers, e.bodies = append(e.got, p), append(e.headers, r.Header.Clone()), append(e.bodies, body)
}

func (e *endpoint) delivered() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.got) }

func TestWebhooksRetryThenDeliverOrDeadLetter(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	flaky := &endpoint{failures: 2} // recovers on the third attempt (of 3)
	down := &endpoint{failures: 1000}
	flakySrv, downSrv := httptest.NewServer(flaky), httptest.NewServer(down)
	t.Cleanup(flakySrv.Close)
	t.Cleanup(downSrv.Close)
	const secret = "a-secret-of-sixteen+"
	set, err := c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "chat", TeamId: "design", Url: flakySrv.URL, Secret: secret}})
	require.NoError(t, err)
	require.Equal(t, secret, set.GetWebhook().GetSecret())
	gen, err := c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "pager", TeamId: "design", Url: downSrv.URL,
		MinSeverity: v1.Severity_SEVERITY_WARNING}})
	require.NoError(t, err)
	require.NotEmpty(t, gen.GetWebhook().GetSecret(), "generated and shown once")
	_, err = c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "x", TeamId: "design", Url: "ftp://x"}})
	requireField(t, err, "webhook.url")

	hooks, err := c.ListWebhooks(t.Context(), &v1.ListWebhooksRequest{})
	require.NoError(t, err)
	require.Len(t, hooks.GetWebhooks(), 2)
	for _, w := range hooks.GetWebhooks() {
		require.Empty(t, w.GetSecret(), "secrets are never listed")
	}

	crossed := h.crossing("acme", "design")
	require.Eventually(t, func() bool { return flaky.delivered() == 1 }, 15*time.Second, 5*time.Millisecond)
	flaky.mu.Lock()
	p, hdr, body := flaky.got[0], flaky.headers[0], flaky.bodies[0]
	require.Equal(t, 3, flaky.calls)
	flaky.mu.Unlock()
	require.Equal(t, "low_balance", p.Kind)
	require.Equal(t, "[WARNING] Team design has 100 tokens left (10 %) of 1000 live", p.Text)
	require.Equal(t, "low_balance.acme.design."+fmt.Sprint(crossed), p.AlertID)
	require.Equal(t, "3", hdr.Get(webhook.HeaderAttempt))
	require.Equal(t, p.AlertID, hdr.Get(webhook.HeaderAlertID))
	require.NoError(t, webhook.Verify(secret, hdr.Get(webhook.HeaderTimestamp), hdr.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute))
	require.ErrorIs(t, webhook.Verify("wrong-secret-000000", hdr.Get(webhook.HeaderTimestamp), hdr.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute), webhook.ErrBadSignature)

	require.Eventually(t, func() bool {
		dl, err := c.ListDeadLetters(t.Context(), &v1.ListDeadLettersRequest{})
		return err == nil && len(dl.GetDeadLetters()) == 1
	}, 15*time.Second, 5*time.Millisecond)
	dl, err := c.ListDeadLetters(t.Context(), &v1.ListDeadLettersRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	require.Equal(t, "pager", dl.GetDeadLetters()[0].GetWebhookId())
	require.EqualValues(t, 3, dl.GetDeadLetters()[0].GetAttempts())
	require.Equal(t, p.AlertID, dl.GetDeadLetters()[0].GetAlert().GetAlertId())
	require.Contains(t, dl.GetDeadLetters()[0].GetLastError(), "503")

	_, err = c.DeleteWebhook(t.Context(), &v1.DeleteWebhookRequest{TeamId: "design", WebhookId: "pager"})
	require.NoError(t, err)
	_, err = c.DeleteWebhook(t.Context(), &v1.DeleteWebhookRequest{TeamId: "design", WebhookId: "pager"})
	require.Equal(t, codes.NotFound, status.Code(err))
	other, err := h.client(otherAdmin).ListWebhooks(t.Context(), &v1.ListWebhooksRequest{})
	require.NoError(t, err)
	require.Empty(t, other.GetWebhooks())
}

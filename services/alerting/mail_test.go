package alerting_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting"
)

func mailThrough(mp *testkit.Mailpit, passwordFile string) func(*alerting.Config) {
	return func(c *alerting.Config) {
		c.Mail = email.Config{Addr: mp.SMTPAddr, From: "alerts@tokenmeter.test", TLS: email.TLSStartTLS, CA: mp.CA,
			User: mp.User, PasswordFile: passwordFile, Auth: "plain"}
	}
}

// An endpoint with e-mail recipients gets its alerts as mail through a real
// SMTP server (STARTTLS, AUTH PLAIN), read back from mailpit.
func TestAlertsByEmail(t *testing.T) {
	t.Parallel()
	mp := testkit.StartMailpit(t, false)
	h := startServiceWith(t, true, mailThrough(mp, mp.PasswordFile))
	c := h.client(acmeAdmin)
	_, err := c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "ops-mail", TeamId: "design",
		EmailTo: []string{"ops@acme.test", "licences@acme.test"}, Kinds: []string{"low_balance"}}})
	require.NoError(t, err)
	_, err = c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "bad", TeamId: "design",
		EmailTo: []string{"Ops <ops@acme.test>"}}})
	requireField(t, err, "webhook.email_to")
	_, err = c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "both", TeamId: "design",
		EmailTo: []string{"ops@acme.test"}, Url: "https://example.test/hook"}})
	requireField(t, err, "webhook.url")
	list, err := c.ListWebhooks(t.Context(), &v1.ListWebhooksRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetWebhooks(), 1)
	require.Equal(t, []string{"ops@acme.test", "licences@acme.test"}, list.GetWebhooks()[0].GetEmailTo())

	h.crossing("acme", "design")
	got := mp.WaitMessages(t, 1, 15*time.Second)
	msg := mp.Message(t, got[0].ID)
	require.Equal(t, "[tokenmeter] warning low_balance: team design", msg.Subject)
	require.ElementsMatch(t, []string{"ops@acme.test", "licences@acme.test"}, []string{msg.To[0].Address, msg.To[1].Address})
	require.Equal(t, "alerts@tokenmeter.test", msg.From.Address)
	require.Contains(t, msg.Text, "Team design has 100 tokens left (10 %) of 1000 live")
	require.Contains(t, msg.Text, "Alert id: low_balance.acme.design.")
	time.Sleep(200 * time.Millisecond) // a second copy would have come by now
	require.Len(t, mp.Messages(t), 1, "one alert, one mail")
}

// A mail the SMTP server refuses (a wrong password) is retried, then held
// as a dead letter that names no recipient.
func TestAlertMailDeadLetter(t *testing.T) {
	t.Parallel()
	mp := testkit.StartMailpit(t, false)
	wrong := filepath.Join(t.TempDir(), "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("not-the-password\n"), 0o600))
	h := startServiceWith(t, true, mailThrough(mp, wrong))
	c := h.client(acmeAdmin)
	_, err := c.SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "ops-mail", TeamId: "design",
		EmailTo: []string{"ops@acme.test"}}})
	require.NoError(t, err)
	h.crossing("acme", "design")
	var dl *v1.ListDeadLettersResponse
	require.Eventually(t, func() bool {
		dl, err = c.ListDeadLetters(t.Context(), &v1.ListDeadLettersRequest{})
		return err == nil && len(dl.GetDeadLetters()) == 1
	}, 20*time.Second, 20*time.Millisecond)
	d := dl.GetDeadLetters()[0]
	require.EqualValues(t, 3, d.GetAttempts())
	require.Equal(t, "smtp delivery failed", d.GetLastError())
	require.Equal(t, "mailto: 1 recipient(s)", d.GetUrl())
	require.Empty(t, mp.Messages(t))
}

// Without -smtp-addr an e-mail endpoint is refused when set, not silently dropped.
func TestEmailEndpointNeedsSMTP(t *testing.T) {
	t.Parallel()
	h := startService(t)
	_, err := h.client(acmeAdmin).SetWebhook(t.Context(), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: "m", TeamId: "design",
		EmailTo: []string{"ops@acme.test"}}})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
}

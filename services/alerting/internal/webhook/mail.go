package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/email"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Delivery channels, the channel label of the deliveries series.
const (
	channelWebhook = "webhook"
	channelEmail   = "email"
)

// errNoMail is an e-mail endpoint on a service without -smtp-addr.
var errNoMail = fmt.Errorf("no SMTP server configured (%w)", errPermanent)

// sender returns how one attempt delivers a to hook, and on which channel.
func (d *Dispatcher) sender(hook *v1.Webhook, a *v1.Alert) (func(context.Context, int) error, string, error) {
	if len(hook.GetEmailTo()) > 0 {
		m := alertMail(hook, a)
		return func(ctx context.Context, _ int) error {
			if d.o.Mail == nil {
				return errNoMail
			}
			if err := d.o.Mail.Send(ctx, m); err != nil {
				return fmt.Errorf("%w: %w", errMail, err)
			}
			return nil
		}, channelEmail, nil
	}
	body, err := Body(a)
	if err != nil {
		return nil, "", err
	}
	return func(ctx context.Context, attempt int) error { return d.post(ctx, hook, a, body, attempt) }, channelWebhook, nil
}

// errMail is a failure the SMTP server or the way to it gave.
var errMail = errors.New("smtp delivery failed")

// alertMail is the e-mail of alert a to hook's recipients; its Message-ID
// is the alert's, the same on every attempt, so a repeat can be told.
func alertMail(hook *v1.Webhook, a *v1.Alert) email.Message {
	subject := fmt.Sprintf("[tokenmeter] %s %s: team %s", severityWord(a.GetSeverity()), a.GetKind(), a.GetTeamId())
	text := fmt.Sprintf("%s\n\nOrganisation: %s\nTeam: %s\nKind: %s\nSeverity: %s\nRaised: %s\nAlert id: %s\n",
		a.GetMessage(), a.GetOrgId(), a.GetTeamId(), a.GetKind(), severityWord(a.GetSeverity()),
		a.GetRaisedAt().AsTime().UTC().Format("2006-01-02 15:04:05 MST"), a.GetAlertId())
	return email.Message{To: hook.GetEmailTo(), Subject: subject, Text: text,
		MessageID: fmt.Sprintf("alert.%d.%s@tokenmeter", a.GetSequence(), hook.GetWebhookId())}
}

func severityWord(s v1.Severity) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "SEVERITY_"))
}

// target is what logs and dead letters say a delivery went to: a redacted
// URL, or how many e-mail recipients (addresses are personal data).
func target(hook *v1.Webhook) string {
	if n := len(hook.GetEmailTo()); n > 0 {
		return fmt.Sprintf("mailto: %d recipient(s)", n)
	}
	return Redact(hook.GetUrl())
}

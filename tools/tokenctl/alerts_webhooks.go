package tokenctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) webhooksCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "List, set and delete the webhooks that push alerts; list dead letters",
		Long: `A webhook receives a team's alerts as JSON POSTs signed with HMAC-SHA256.
Deliveries are retried; one that failed every attempt becomes a dead letter.`,
	}
	cmd.AddCommand(a.webhooksListCommand(), a.webhooksSetCommand(), a.webhooksDeleteCommand(), a.deadLettersCommand())
	return cmd
}

func webhooksTable(hooks []*v1.Webhook, withSecret bool) *table {
	header := []string{"TEAM", "WEBHOOK", "URL", "KINDS", "MIN_SEVERITY", "DISABLED"}
	if withSecret {
		header = append(header, "SECRET")
	}
	t := newTable(header...)
	for _, h := range hooks {
		target := h.GetUrl()
		if len(h.GetEmailTo()) > 0 {
			target = "mailto:" + strings.Join(h.GetEmailTo(), ",")
		}
		row := []any{h.GetTeamId(), h.GetWebhookId(), target, h.GetKinds(), severity(h.GetMinSeverity()), h.GetDisabled()}
		if withSecret {
			row = append(row, h.GetSecret())
		}
		t.add(row...)
	}
	return t
}

func (a *app) webhooksListCommand() *cobra.Command {
	var teams []string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List webhooks (never their secrets)",
		Example: "  tokenctl alerts webhooks list --team design",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			req := &v1.ListWebhooksRequest{TeamIds: sortedSet(teams)}
			hooks, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.Webhook, string, error) {
				req.PageSize, req.PageToken = size, token
				resp, err := client.ListWebhooks(ctx, req)
				return resp.GetWebhooks(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			resp := &v1.ListWebhooksResponse{Webhooks: hooks}
			return a.emit(cmd, resp, webhooksTable(resp.GetWebhooks(), false))
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "only these teams (repeat or comma-separate)")
	completeFlag(cmd, "team", a.teams)
	return cmd
}

func (a *app) webhooksSetCommand() *cobra.Command {
	var (
		secret, minSeverity string
		kinds, emailTo      []string
		disabled            bool
	)
	cmd := &cobra.Command{
		Use:   "set TEAM WEBHOOK_ID (URL | --email ADDRESS...)",
		Short: "Create or replace a team's webhook or e-mail endpoint",
		Long: `Create the webhook WEBHOOK_ID (a name of your choice, e.g. ops-slack) of TEAM
posting to URL, or replace it. Without --secret a signing secret is generated
and printed this once. With --email (and no URL) the alerts go by e-mail to up
to 10 addresses through the alerting service's SMTP server (-smtp-addr).`,
		Example: `  tokenctl alerts webhooks set design ops https://hooks.example.com/tokenmeter --kind low_balance,pack_expiring
  tokenctl alerts webhooks set design pager https://hooks.example.com/tm --min-severity critical
  tokenctl alerts webhooks set design licence-office --email licences@example.com,cfo@example.com --kind low_balance`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(emailTo) > 0 {
				return exactArgs("TEAM", "WEBHOOK_ID")(cmd, args)
			}
			return exactArgs("TEAM", "WEBHOOK_ID", "URL")(cmd, args)
		},
		ValidArgsFunction: completeArgs(a.teams, nil, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			h := &v1.Webhook{WebhookId: args[1], TeamId: args[0], Kinds: sortedSet(kinds), Secret: secret, Disabled: disabled, EmailTo: emailTo}
			if len(args) == 3 {
				h.Url = args[2]
			}
			if minSeverity != "" {
				s, err := parseEnum[v1.Severity]("--min-severity", minSeverity, v1.Severity_value, "SEVERITY_")
				if err != nil {
					return err
				}
				h.MinSeverity = s
			}
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.SetWebhook(cmd.Context(), &v1.SetWebhookRequest{Webhook: h})
			if err != nil {
				return err
			}
			shown := resp.GetWebhook().GetSecret() != "" && secret == "" && len(emailTo) == 0
			if shown && a.settings.Output == outputTable {
				fmt.Fprintln(cmd.ErrOrStderr(), "tokenctl: the generated secret is shown this once: give it to the receiver now")
			}
			return a.emit(cmd, resp, webhooksTable([]*v1.Webhook{resp.GetWebhook()}, shown))
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&kinds, "kind", nil, "only these alert kinds (default: every kind)")
	f.StringVar(&minSeverity, "min-severity", "", fmt.Sprintf("lowest severity delivered: %v (default: all)", enumNames(v1.Severity_value, "SEVERITY_")))
	f.StringVar(&secret, "secret", "", "HMAC-SHA256 signing secret (default: generated)")
	f.BoolVar(&disabled, "disabled", false, "keep the webhook but deliver nothing")
	f.StringSliceVar(&emailTo, "email", nil, "e-mail the alerts to these addresses instead of posting to a URL (at most 10)")
	completeFlag(cmd, "kind", fixed(alertKinds...))
	completeFlag(cmd, "min-severity", fixed(enumNames(v1.Severity_value, "SEVERITY_")...))
	return cmd
}

func (a *app) webhooksDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "delete TEAM WEBHOOK_ID",
		Short:             "Delete a webhook",
		Example:           "  tokenctl alerts webhooks delete design wh-1",
		Args:              exactArgs("TEAM", "WEBHOOK_ID"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.DeleteWebhook(cmd.Context(), &v1.DeleteWebhookRequest{TeamId: args[0], WebhookId: args[1]})
			if err != nil {
				return err
			}
			t := newTable("TEAM", "WEBHOOK", "DELETED")
			t.add(args[0], args[1], true)
			return a.emit(cmd, resp, t)
		},
	}
}

func (a *app) deadLettersCommand() *cobra.Command {
	var teams []string
	cmd := &cobra.Command{
		Use:     "dead-letters",
		Short:   "List alert deliveries given up after every retry failed",
		Example: "  tokenctl alerts webhooks dead-letters --team design",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			req := &v1.ListDeadLettersRequest{TeamIds: sortedSet(teams)}
			dls, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.DeadLetter, string, error) {
				req.PageSize, req.PageToken = size, token
				resp, err := client.ListDeadLetters(ctx, req)
				return resp.GetDeadLetters(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			resp := &v1.ListDeadLettersResponse{DeadLetters: dls}
			t := newTable("FAILED", "TEAM", "WEBHOOK", "URL", "ALERT", "ATTEMPTS", "LAST_ERROR")
			for _, d := range resp.GetDeadLetters() {
				t.add(d.GetFailedAt(), d.GetTeamId(), d.GetWebhookId(), d.GetUrl(), d.GetAlert().GetAlertId(), d.GetAttempts(), d.GetLastError())
			}
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "only these teams (repeat or comma-separate)")
	completeFlag(cmd, "team", a.teams)
	return cmd
}

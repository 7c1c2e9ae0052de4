package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

// SetWebhook creates or replaces a team's webhook. Without a secret one is
// generated and returned this once.
func (s *Server) SetWebhook(ctx context.Context, req *v1.SetWebhookRequest) (*v1.SetWebhookResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	h := proto.CloneOf(req.GetWebhook())
	if h == nil {
		h = &v1.Webhook{}
	}
	if err := checkWebhook(h, s.hooks); err != nil {
		return nil, err
	}
	if len(h.GetEmailTo()) > 0 && !s.Mail {
		return nil, status.Error(codes.FailedPrecondition, "this alerting service sends no e-mail: its operator sets -smtp-addr")
	}
	if err := s.roomForWebhook(ctx, org, h); err != nil {
		return nil, err
	}
	if h.GetSecret() == "" {
		h.Secret = webhook.NewSecret()
	}
	if err := s.store.Webhooks.Put(ctx, org, h); err != nil {
		return nil, unavailable(ctx, "store webhook", err)
	}
	return &v1.SetWebhookResponse{Webhook: h}, nil
}

// roomForWebhook refuses a new webhook on a team that has MaxWebhooksPerTeam
// (replacing one is always allowed): every alert goes to each of them.
func (s *Server) roomForWebhook(ctx context.Context, org string, h *v1.Webhook) error {
	hooks, err := s.store.Webhooks.List(ctx, org, h.GetTeamId())
	if err != nil {
		return unavailable(ctx, "list webhooks", err)
	}
	for _, old := range hooks {
		if old.GetWebhookId() == h.GetWebhookId() {
			return nil
		}
	}
	if len(hooks) >= MaxWebhooksPerTeam {
		return status.Errorf(codes.ResourceExhausted, "team %s has %d webhooks, the most it may have: delete one first", h.GetTeamId(), MaxWebhooksPerTeam)
	}
	return nil
}

// MaxWebhooksPerTeam bounds the deliveries one alert fans out to.
const MaxWebhooksPerTeam = 10

// Webhook limits: a URL, a chosen secret and the kinds a webhook takes.
const (
	maxWebhookURL    = 2048
	minWebhookSecret = 16
	maxWebhookSecret = 256
	maxWebhookKinds  = 32
)

// checkWebhook names every bad field of a webhook to store.
func checkWebhook(h *v1.Webhook, hooks *webhook.Policy) error {
	var v grpcserver.Violations
	v.Check("webhook.webhook_id", eventlog.CheckID("webhook id", h.GetWebhookId()))
	v.Check("webhook.team_id", eventlog.CheckID("team id", h.GetTeamId()))
	if len(h.GetEmailTo()) > 0 {
		if err := email.CheckRecipients(h.GetEmailTo()); err != nil {
			v.Add("webhook.email_to", "%v", err)
		}
		if h.GetUrl() != "" {
			v.Add("webhook.url", "must be empty when email_to is set")
		}
	} else if len(h.GetUrl()) > maxWebhookURL {
		v.Add("webhook.url", "must be at most %d bytes, got %d", maxWebhookURL, len(h.GetUrl()))
	} else if err := hooks.CheckURL(h.GetUrl()); err != nil {
		v.Add("webhook.url", "%v, got %s", err, quote.Prefix(h.GetUrl()))
	}
	if n := len(h.GetKinds()); n > maxWebhookKinds {
		v.Add("webhook.kinds", "at most %d kinds, got %d", maxWebhookKinds, n)
	} else {
		for i, k := range h.GetKinds() {
			v.Check(fmt.Sprintf("webhook.kinds[%d]", i), eventlog.CheckID("kind", k))
		}
	}
	if _, ok := v1.Severity_name[int32(h.GetMinSeverity())]; !ok {
		v.Add("webhook.min_severity", "unknown severity %d", h.GetMinSeverity())
	}
	if n := len(h.GetSecret()); n > 0 && (n < minWebhookSecret || n > maxWebhookSecret) {
		v.Add("webhook.secret", "must be %d to %d characters (or empty to generate one), got %d", minWebhookSecret, maxWebhookSecret, n)
	}
	return v.Err()
}

// ListWebhooks returns the webhooks of the teams asked for (all: none
// named), without secrets, a page at a time in the order of team and id.
func (s *Server) ListWebhooks(ctx context.Context, req *v1.ListWebhooksRequest) (*v1.ListWebhooksResponse, error) {
	org, teams, page, err := s.listOf(ctx, "ListWebhooks", req.GetTeamIds(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	var hooks []*v1.Webhook
	for _, team := range teams {
		some, err := s.store.Webhooks.List(ctx, org, team)
		if err != nil {
			return nil, unavailable(ctx, "list webhooks", err)
		}
		hooks = append(hooks, some...)
	}
	key := func(h *v1.Webhook) string { return h.GetTeamId() + "." + h.GetWebhookId() }
	slices.SortFunc(hooks, func(a, b *v1.Webhook) int { return strings.Compare(key(a), key(b)) })
	resp := &v1.ListWebhooksResponse{}
	resp.Webhooks, resp.NextPageToken = grpcserver.PageSlice(page, hooks, key)
	for _, h := range resp.Webhooks {
		h.Secret = ""
	}
	return resp, nil
}

// DeleteWebhook removes a webhook.
func (s *Server) DeleteWebhook(ctx context.Context, req *v1.DeleteWebhookRequest) (*v1.DeleteWebhookResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	var v grpcserver.Violations
	v.Check("team_id", eventlog.CheckID("team id", req.GetTeamId()))
	v.Check("webhook_id", eventlog.CheckID("webhook id", req.GetWebhookId()))
	if err := v.Err(); err != nil {
		return nil, err
	}
	err = s.store.Webhooks.Delete(ctx, org, req.GetTeamId(), req.GetWebhookId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "webhook %s of team %s not found", req.GetWebhookId(), req.GetTeamId())
	}
	if err != nil {
		return nil, unavailable(ctx, "delete webhook", err)
	}
	return &v1.DeleteWebhookResponse{}, nil
}

// ListDeadLetters returns the deliveries given up, of the teams asked for
// (all: none named), a page at a time, oldest first.
func (s *Server) ListDeadLetters(ctx context.Context, req *v1.ListDeadLettersRequest) (*v1.ListDeadLettersResponse, error) {
	org, teams, page, err := s.listOf(ctx, "ListDeadLetters", req.GetTeamIds(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	var dls []*v1.DeadLetter
	for _, team := range teams {
		some, err := s.store.DeadLetters.List(ctx, org, team)
		if err != nil {
			return nil, unavailable(ctx, "list dead letters", err)
		}
		dls = append(dls, some...)
	}
	// A fixed-width UTC time sorts as text; the rest makes the key unique.
	key := func(d *v1.DeadLetter) string {
		return d.GetFailedAt().AsTime().UTC().Format("20060102T150405.000000000") + "." +
			d.GetTeamId() + "." + d.GetWebhookId() + "." + d.GetAlert().GetAlertId()
	}
	slices.SortFunc(dls, func(a, b *v1.DeadLetter) int { return strings.Compare(key(a), key(b)) })
	resp := &v1.ListDeadLettersResponse{}
	resp.DeadLetters, resp.NextPageToken = grpcserver.PageSlice(page, dls, key)
	return resp, nil
}

// listOf checks a List request of the caller's organisation: the teams named
// (["*"]: none) and the page.
func (s *Server) listOf(ctx context.Context, list string, ids []string, size int32, token string) (string, []string, grpcserver.Page, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return "", nil, grpcserver.Page{}, err
	}
	teams, err := checkIDs("team_ids", "team id", ids)
	if err != nil {
		return "", nil, grpcserver.Page{}, err
	}
	var bad grpcserver.Violations
	page := grpcserver.PageOf(&bad, "page_size", size, token, list, org, strings.Join(teams, ","))
	if err := bad.Err(); err != nil {
		return "", nil, grpcserver.Page{}, err
	}
	if len(teams) == 0 {
		teams = []string{"*"}
	}
	return org, teams, page, nil
}

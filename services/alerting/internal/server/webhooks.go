package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

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
	var v grpcserver.Violations
	v.Check("webhook.webhook_id", eventlog.CheckID("webhook id", h.GetWebhookId()))
	v.Check("webhook.team_id", eventlog.CheckID("team id", h.GetTeamId()))
	if u, err := url.Parse(h.GetUrl()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.Add("webhook.url", "must be an absolute http or https URL, got %s", quote.Prefix(h.GetUrl()))
	}
	for i, k := range h.GetKinds() {
		v.Check(fmt.Sprintf("webhook.kinds[%d]", i), eventlog.CheckID("kind", k))
	}
	if _, ok := v1.Severity_name[int32(h.GetMinSeverity())]; !ok {
		v.Add("webhook.min_severity", "unknown severity %d", h.GetMinSeverity())
	}
	if len(h.GetSecret()) > 0 && len(h.GetSecret()) < 16 {
		v.Add("webhook.secret", "must be at least 16 characters (or empty to generate one)")
	}
	if err := v.Err(); err != nil {
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

// ListWebhooks returns the webhooks of the teams asked for (all: none named), without secrets.
func (s *Server) ListWebhooks(ctx context.Context, req *v1.ListWebhooksRequest) (*v1.ListWebhooksResponse, error) {
	org, teams, err := s.orgTeams(ctx, req.GetTeamIds())
	if err != nil {
		return nil, err
	}
	resp := &v1.ListWebhooksResponse{}
	for _, team := range teams {
		hooks, err := s.store.Webhooks.List(ctx, org, team)
		if err != nil {
			return nil, unavailable(ctx, "list webhooks", err)
		}
		for _, h := range hooks {
			h.Secret = ""
			resp.Webhooks = append(resp.Webhooks, h)
		}
	}
	slices.SortFunc(resp.Webhooks, func(a, b *v1.Webhook) int {
		return compare(a.GetTeamId()+"."+a.GetWebhookId(), b.GetTeamId()+"."+b.GetWebhookId())
	})
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

// ListDeadLetters returns the deliveries given up, of the teams asked for (all: none named).
func (s *Server) ListDeadLetters(ctx context.Context, req *v1.ListDeadLettersRequest) (*v1.ListDeadLettersResponse, error) {
	org, teams, err := s.orgTeams(ctx, req.GetTeamIds())
	if err != nil {
		return nil, err
	}
	resp := &v1.ListDeadLettersResponse{}
	for _, team := range teams {
		dls, err := s.store.DeadLetters.List(ctx, org, team)
		if err != nil {
			return nil, unavailable(ctx, "list dead letters", err)
		}
		resp.DeadLetters = append(resp.DeadLetters, dls...)
	}
	slices.SortFunc(resp.DeadLetters, func(a, b *v1.DeadLetter) int {
		return a.GetFailedAt().AsTime().Compare(b.GetFailedAt().AsTime())
	})
	return resp, nil
}

// orgTeams is the caller's organisation and the teams named (["*"]: none).
func (s *Server) orgTeams(ctx context.Context, ids []string) (string, []string, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return "", nil, err
	}
	teams, err := checkIDs("team_ids", "team id", ids)
	if err != nil {
		return "", nil, err
	}
	if len(teams) == 0 {
		teams = []string{"*"}
	}
	return org, teams, nil
}

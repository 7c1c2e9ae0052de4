// Package server serves AlertingService: the one place alerting's errors
// become gRPC status codes. Every call is confined to the caller's
// organisation through the ALERTS subjects it reads.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

// Server implements AlertingService over the ALERTS stream and alerting's
// KV buckets.
type Server struct {
	v1.UnimplementedAlertingServiceServer
	js       jetstream.JetStream
	store    *store.Stores
	defaults rules.Config
	log      *slog.Logger
	now      func() time.Time
	hooks    *webhook.Policy
	watches  watchers
	// People, when set, hides the text of alerts raised while their
	// organisation showed people, once it no longer does.
	People *privacy.Policy
	// Mail says the service can send e-mail (-smtp-addr), which an endpoint with email_to needs.
	Mail bool

	stopOnce sync.Once
	stopping chan struct{}
}

// New returns a server reading the ALERTS stream through js; defaults are the
// rules of teams without settings.
func New(js jetstream.JetStream, st *store.Stores, defaults rules.Config, hooks *webhook.Policy, log *slog.Logger) *Server {
	return &Server{js: js, store: st, defaults: defaults, hooks: hooks, log: log, now: time.Now, stopping: make(chan struct{})}
}

// Close ends every open WatchAlerts stream with Unavailable, so a graceful
// gRPC stop need not wait for watchers that never hang up.
func (s *Server) Close() { s.stopOnce.Do(func() { close(s.stopping) }) }

// unavailable is the status of a failed read or write of the log or a
// bucket: retryable, with a hint of when.
func unavailable(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return grpcserver.Retryable(codes.Unavailable, retryDelay, fmt.Sprintf("%s: %v", what, err))
}

// retryDelay is the hint an Unavailable answer gives.
const retryDelay = 500 * time.Millisecond

// orgOf returns the caller's organisation. It is checked like any id because
// it becomes a subject token: "*" or "a.>" must never widen a filter.
func orgOf(ctx context.Context) (string, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return "", status.Error(codes.Unauthenticated, "no authenticated caller")
	}
	if !eventlog.ValidID(p.Org) {
		return "", status.Errorf(codes.PermissionDenied, "credential is not bound to one organisation (%s)", quote.Prefix(p.Org))
	}
	return p.Org, nil
}

// checkIDs validates ids as subject tokens and returns them sorted without
// duplicates (JetStream refuses overlapping filter subjects).
func checkIDs(field, kind string, ids []string) ([]string, error) {
	const maxIDs = 100
	if len(ids) > maxIDs {
		return nil, grpcserver.Invalid(field, "at most %d values, got %d", maxIDs, len(ids))
	}
	for i, id := range ids {
		if err := eventlog.CheckID(kind, id); err != nil {
			return nil, grpcserver.Invalid(fmt.Sprintf("%s[%d]", field, i), "%s", err)
		}
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// filterSubjects are the ALERTS subjects of org, narrowed to teams and kinds when given.
func filterSubjects(org string, teams, kinds []string) []string {
	if len(teams) == 0 {
		teams = []string{"*"}
	}
	if len(kinds) == 0 {
		if teams[0] == "*" {
			return []string{"alerts." + org + ".>"}
		}
		kinds = []string{"*"}
	}
	out := make([]string, 0, len(teams)*len(kinds))
	for _, t := range teams {
		for _, k := range kinds {
			out = append(out, eventlog.AlertSubject(org, t, k))
		}
	}
	return out
}

// alertOf decodes the alert of an ALERTS message and sets its stream sequence.
func alertOf(data []byte, seq uint64) (*v1.Alert, error) {
	ev, err := eventlog.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("alert %d: %w", seq, err)
	}
	a := ev.GetAlert()
	if a == nil {
		return nil, fmt.Errorf("alert %d: message holds no alert", seq)
	}
	a.Sequence = seq
	return a, nil
}

// shown is a as its organisation may see it now.
func (s *Server) shown(a *v1.Alert) *v1.Alert {
	if s.People == nil {
		return a
	}
	return s.People.Alert(a)
}

package server

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// decisions counts launch decisions, made once on the global meter provider
// (which hands it to the one telemetry.Setup installs).
var decisions, decisionsErr = otel.Meter("github.com/tokenmeter/tokenmeter/services/ledger/internal/server").Int64Counter(
	"tokenmeter.ledger.decisions",
	metric.WithDescription("Launch decisions by outcome (authorized, refused, duplicate) and reason (the refusal's, or subscription for a launch a named subscription authorized)"))

// The attribute sets of every outcome, built once: counting allocates nothing.
var (
	authorizedOpt = outcomeOpt("authorized", "")
	subscribedOpt = outcomeOpt("authorized", "subscription")
	duplicateOpt  = outcomeOpt("duplicate", "")
	refusedOpts   = map[v1.DenyReason]metric.AddOption{}
)

func init() {
	if decisionsErr != nil {
		otel.Handle(decisionsErr)
	}
	for n, name := range v1.DenyReason_name {
		refusedOpts[v1.DenyReason(n)] = outcomeOpt("refused", reasonCode(name))
	}
}

func outcomeOpt(outcome, reason string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome), attribute.String("reason", reason)))
}

// reasonCode is a deny reason as the reporting tables name it
// (DENY_REASON_INSUFFICIENT_TOKENS: "insufficient_tokens").
func reasonCode(name string) string {
	return strings.ToLower(strings.TrimPrefix(name, "DENY_REASON_"))
}

// countDecision counts the launch decision o; duplicate means the event id
// had been decided before and o is that answer again.
func countDecision(ctx context.Context, o pool.Outcome, duplicate bool) {
	switch {
	case duplicate:
		decisions.Add(ctx, 1, duplicateOpt)
	case o.BySubscription:
		decisions.Add(ctx, 1, subscribedOpt)
	case o.Decision == v1.Decision_DECISION_AUTHORIZED:
		decisions.Add(ctx, 1, authorizedOpt)
	default:
		opt, ok := refusedOpts[o.DenyReason]
		if !ok { // a reason newer than this build's enum
			opt = outcomeOpt("refused", "unknown")
		}
		decisions.Add(ctx, 1, opt)
	}
}

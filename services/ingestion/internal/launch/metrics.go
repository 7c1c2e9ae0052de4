package launch

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The instruments, made once on the global meter provider (which hands them
// to the one telemetry.Setup installs).
var (
	meter    = otel.Meter("github.com/tokenmeter/tokenmeter/services/ingestion/internal/launch")
	inFlight = telemetry.Must(meter.Int64UpDownCounter("tokenmeter.ingestion.in_flight",
		metric.WithDescription("Launcher calls being worked on (holding a slot of -max-in-flight)")))
	queued = telemetry.Must(meter.Int64UpDownCounter("tokenmeter.ingestion.queued",
		metric.WithDescription("Launcher calls waiting for a slot")))
	shedCalls = telemetry.Must(meter.Int64Counter("tokenmeter.ingestion.shed",
		metric.WithDescription("Launcher calls refused by the limiter, by reason: queue_full, queue_timeout, client_gone")))
	launches = telemetry.Must(meter.Int64Counter("tokenmeter.ingestion.launches",
		metric.WithDescription("Launches answered, by outcome: authorized, refused, duplicate (a retried event id), error")))
)

// Why the limiter refused a call, and the attribute set of each, built once.
const (
	queueFull = iota
	queueTimeout
	clientGone
)

var shedOpts = [...]metric.AddOption{
	queueFull:    attrs("reason", "queue_full"),
	queueTimeout: attrs("reason", "queue_timeout"),
	clientGone:   attrs("reason", "client_gone"),
}

var (
	authorizedOpt = attrs("outcome", "authorized")
	refusedOpt    = attrs("outcome", "refused")
	duplicateOpt  = attrs("outcome", "duplicate")
	errorOpt      = attrs("outcome", "error")
)

func attrs(key, value string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String(key, value)))
}

// zeroCounters makes the limiter's series exist at 0 from its start, so a
// rate or an alert rule sees them before the first refusal.
func zeroCounters() {
	ctx := context.Background()
	for _, opt := range shedOpts {
		shedCalls.Add(ctx, 0, opt)
	}
	for _, opt := range []metric.AddOption{authorizedOpt, refusedOpt, duplicateOpt, errorOpt} {
		launches.Add(ctx, 0, opt)
	}
	inFlight.Add(ctx, 0)
	queued.Add(ctx, 0)
}

func shed(ctx context.Context, reason int) {
	shedCalls.Add(ctx, 1, shedOpts[reason])
}

// countLaunch counts a launch's answer: res, or err; duplicate means the
// event id was recorded before (a retry).
func countLaunch(ctx context.Context, res *v1.LaunchResponse, duplicate bool, err error) {
	opt := refusedOpt
	switch {
	case err != nil:
		opt = errorOpt
	case duplicate:
		opt = duplicateOpt
	case res.GetDecision() == v1.Decision_DECISION_AUTHORIZED:
		opt = authorizedOpt
	}
	launches.Add(ctx, 1, opt)
}

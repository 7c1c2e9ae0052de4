package server

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// MaxAuthorizeBatch bounds the launches of one AuthorizeBatch call.
const MaxAuthorizeBatch = 1000

// serverSpan is the kind of each launch's span, an option made once.
var serverSpan = trace.WithSpanKind(trace.SpanKindServer)

// AuthorizeBatch decides each launch as Authorize would, side by side (the
// store serves decisions on one pool in order, others in parallel), and
// answers each in request order once every decision is durable or failed.
func (l *Ledger) AuthorizeBatch(ctx context.Context, req *v1.AuthorizeBatchRequest) (*v1.AuthorizeBatchResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	launches := req.GetLaunches()
	if len(launches) > MaxAuthorizeBatch {
		var bad grpcserver.Violations
		bad.Add("launches", "%d in one batch, at most %d", len(launches), MaxAuthorizeBatch)
		return nil, bad.Err()
	}
	outcomes := make([]*v1.AuthorizeOutcome, len(launches))
	tracer := otel.Tracer("github.com/tokenmeter/tokenmeter/services/ledger") // the provider set now
	// The span options are the same for every launch of the batch: made once.
	batchSize := trace.WithAttributes(attribute.Int("tokenmeter.batch_size", len(launches)))
	one := func(i int) {
		// Each launch continues its own trace: its span, and the trace
		// context its ledger event carries.
		lctx, span := tracer.Start(otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(launches[i].GetTraceContext())),
			v1.LedgerService_Authorize_FullMethodName[1:], serverSpan, batchSize)
		defer span.End()
		res, err := l.authorize(lctx, p, launches[i])
		if err != nil {
			st := status.Convert(err)
			span.SetStatus(otelcodes.Error, st.Message())
			outcomes[i] = &v1.AuthorizeOutcome{ErrorCode: int32(st.Code()), ErrorMessage: st.Message()}
			return
		}
		outcomes[i] = &v1.AuthorizeOutcome{Result: res}
	}
	var wg sync.WaitGroup
	for i := 1; i < len(launches); i++ {
		wg.Go(func() { one(i) })
	}
	if len(launches) > 0 {
		one(0) // on this goroutine
	}
	wg.Wait()
	return &v1.AuthorizeBatchResponse{Outcomes: outcomes}, nil
}

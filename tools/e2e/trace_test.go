package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// One launch is one trace: the launcher's span, ingestion, the ledger's
// Authorize and the ledger event on JetStream all carry the same trace id —
// through either door (HTTP: the caller's traceparent header).
func TestOneLaunchIsOneTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	ctx, cancel := context.WithCancel(t.Context())
	natsURL, _ := testkit.NATS(t)
	_, db := testkit.ClickHouse(t)
	stack, err := devstack.Start(ctx, devstack.Options{
		NATSURL: natsURL, NATSCreds: testkit.AllCreds(t, natsURL), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", IngestionHTTPListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0", AlertingListen: "127.0.0.1:0",
	})
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); require.NoError(t, stack.Wait()) })

	admin := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.AdminKey))
	_, err = admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p1", Tokens: 100})
	require.NoError(t, err)
	_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: "design", UserId: "ann", ProductCodes: []string{"*"}})
	require.NoError(t, err)

	ingest := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.LauncherKey))
	launch := func(id string, door func(context.Context, *v1.LaunchRequest)) trace.TraceID {
		launcherCtx, span := tp.Tracer("launcher").Start(ctx, "launcher.start-revit")
		door(launcherCtx, &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
		span.End()
		traceID := span.SpanContext().TraceID()
		names := map[string]bool{}
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID() == traceID {
				names[s.Name()] = true
			}
		}
		require.True(t, names["tokenmeter.v1.IngestionService/Launch"], "%s: ingestion's server span is in the launch's trace: %v", id, names)
		require.True(t, names["tokenmeter.v1.LedgerService/Authorize"], "%s: the ledger's span is in the launch's trace: %v", id, names)
		return traceID
	}
	launch("trace-launch-http", func(ctx context.Context, req *v1.LaunchRequest) {
		body, err := protojson.Marshal(req)
		require.NoError(t, err)
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost,
			"http://"+stack.Ingestion.HTTPAddr()+"/tokenmeter.v1.IngestionService/Launch", bytes.NewReader(body))
		require.NoError(t, err)
		hreq.Header.Set("Authorization", "Bearer "+devstack.LauncherKey)
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(hreq.Header))
		res, err := http.DefaultClient.Do(hreq)
		require.NoError(t, err)
		got, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, string(got))
	})
	traceID := launch("trace-launch-grpc", func(ctx context.Context, req *v1.LaunchRequest) {
		resp, err := ingest.Launch(ctx, req)
		require.NoError(t, err)
		require.Equal(t, v1.Decision_DECISION_AUTHORIZED, resp.GetDecision())
	})

	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, "reader")...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	stream, err := js.Stream(ctx, eventlog.LedgerStream)
	require.NoError(t, err)
	msg, err := stream.GetLastMsgForSubject(ctx, eventlog.LedgerSubject(devstack.DemoOrg, "design"))
	require.NoError(t, err)
	carried := trace.SpanContextFromContext(eventlog.ExtractTrace(context.Background(), nats.Header(msg.Header)))
	require.Equal(t, traceID, carried.TraceID(), "the ledger event carries the launch's trace in its NATS headers")
}

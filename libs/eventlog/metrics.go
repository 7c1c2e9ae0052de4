package eventlog

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/libs/telemetry"
)

// The instruments are made once on the global meter provider, which hands
// them to the provider telemetry.Setup installs.
var (
	meter          = otel.Meter("github.com/tokenmeter/tokenmeter/libs/eventlog")
	appendDuration = telemetry.Must(meter.Float64Histogram("tokenmeter.eventlog.append.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from an append's start to JetStream's acknowledgement or error")))
	appendErrors = telemetry.Must(meter.Int64Counter("tokenmeter.eventlog.append.errors",
		metric.WithDescription("Appends that failed, by kind: conflict (expected sequence moved), unavailable, other")))
	natsReconnects = telemetry.Must(meter.Int64Counter("tokenmeter.nats.reconnects",
		metric.WithDescription("Times a NATS connection of this process was re-established")))
	_ = telemetry.Must(meter.Int64ObservableGauge("tokenmeter.nats.connected",
		metric.WithDescription("1 when every NATS connection of this process is connected, else 0"),
		metric.WithInt64Callback(observeConnected)))
)

// streams are the label values of the stream attribute; a subject of
// anything else counts as "other", so the label stays bounded.
var streams = []string{LedgerStream, UsageStream, AlertsStream, "other"}

// errorKinds are the label values of the kind attribute.
var errorKinds = []string{"conflict", "unavailable", "other"}

// The attribute sets, built once: recording then allocates nothing.
var (
	durationOpts = make([]metric.RecordOption, len(streams))
	errorOpts    = make([][]metric.AddOption, len(streams))
)

func init() {
	for i, s := range streams {
		durationOpts[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("stream", s)))
		errorOpts[i] = make([]metric.AddOption, len(errorKinds))
		for k, kind := range errorKinds {
			errorOpts[i][k] = metric.WithAttributeSet(attribute.NewSet(attribute.String("stream", s), attribute.String("kind", kind)))
		}
	}
}

// streamIndex is the index in streams of the stream subject belongs to.
func streamIndex(subject string) int {
	prefix, _, _ := strings.Cut(subject, ".")
	for i, s := range streams[:len(streams)-1] {
		if strings.EqualFold(prefix, s) {
			return i
		}
	}
	return len(streams) - 1
}

// observeAppend records an append to subject that started at start and
// ended with *err.
func observeAppend(ctx context.Context, subject string, start time.Time, err *error) {
	i := streamIndex(subject)
	appendDuration.Record(ctx, time.Since(start).Seconds(), durationOpts[i])
	if *err != nil {
		appendErrors.Add(ctx, 1, errorOpts[i][errorKind(*err)])
	}
}

// errorKind is the index in errorKinds of what err says about the log.
func errorKind(err error) int {
	switch {
	case IsConflict(err):
		return 0
	case Unreachable(err):
		return 1
	}
	return 2
}

// Unreachable reports whether err says the log did not answer (a timeout, no
// responders: a stream without a leader, the connection down), rather than
// refusing one request.
func Unreachable(err error) bool {
	for _, cause := range []error{context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders, jetstream.ErrNoStreamResponse,
		nats.ErrConnectionClosed, nats.ErrConnectionReconnecting, nats.ErrDisconnected, nats.ErrConnectionDraining,
		nats.ErrReconnectBufExceeded} {
		if errors.Is(err, cause) {
			return true
		}
	}
	return false
}

// conns are the NATS connections Connect made that are not closed yet.
var conns = struct {
	sync.Mutex
	set map[*nats.Conn]struct{}
}{set: map[*nats.Conn]struct{}{}}

// zeroCounters makes the counters of rare events (errors, reconnects) exist
// at 0 from a connection's start, so a rate or an alert rule sees them
// before the first one. Measurements before a provider is installed are
// dropped, so this runs per connection, not at init.
func zeroCounters() {
	ctx := context.Background()
	for i := range streams {
		for k := range errorKinds {
			appendErrors.Add(ctx, 0, errorOpts[i][k])
		}
	}
	natsReconnects.Add(ctx, 0)
}

func trackConn(nc *nats.Conn) {
	zeroCounters()
	conns.Lock()
	defer conns.Unlock()
	if !nc.IsClosed() { // closed already: its ClosedHandler ran before this
		conns.set[nc] = struct{}{}
	}
}

func untrackConn(nc *nats.Conn) {
	conns.Lock()
	defer conns.Unlock()
	delete(conns.set, nc)
}

// observeConnected reads the connections' state at collection time, so the
// gauge is what nats.go says now (it turns 0 as soon as a connection is
// lost and reconnecting), not what a handler last saw. A process with no
// open connection is not connected.
func observeConnected(_ context.Context, o metric.Int64Observer) error {
	conns.Lock()
	defer conns.Unlock()
	v := int64(0)
	if len(conns.set) > 0 {
		v = 1
	}
	for nc := range conns.set {
		if !nc.IsConnected() {
			v = 0
		}
	}
	o.Observe(v)
	return nil
}

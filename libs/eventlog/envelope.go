package eventlog

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Header names carried by every event message.
const (
	HeaderEventType = "Tokenmeter-Event-Type"
	HeaderOrg       = "Tokenmeter-Org"
)

// NewMsg encodes ev for subject with Nats-Msg-Id = event id and the trace
// context of ctx in the headers.
func NewMsg(ctx context.Context, subject string, ev *v1.Event) (*nats.Msg, error) {
	if ev.GetEventId() == "" {
		return nil, fmt.Errorf("event on %s has no event id", subject)
	}
	if ev.Type == "" {
		ev.Type = TypeOf(ev)
	}
	data, err := proto.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("marshal event %s: %w", ev.GetEventId(), err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(nats.MsgIdHdr, ev.GetEventId())
	msg.Header.Set(HeaderEventType, ev.Type)
	msg.Header.Set(HeaderOrg, ev.GetOrgId())
	InjectTrace(ctx, msg.Header)
	return msg, nil
}

// Decode reads the event of a message.
func Decode(data []byte) (*v1.Event, error) {
	ev := &v1.Event{}
	if err := proto.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return ev, nil
}

// InjectTrace writes the trace context of ctx into NATS headers.
func InjectTrace(ctx context.Context, h nats.Header) {
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(h))
}

// ExtractTrace returns ctx carrying the trace context found in NATS headers, so
// a message handler continues the trace of the request that wrote the message.
func ExtractTrace(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(h))
}

// TypeOf names the payload of ev in snake case, e.g. "window_charged".
func TypeOf(ev *v1.Event) string {
	p := ev.ProtoReflect()
	oneof := p.Descriptor().Oneofs().ByName("payload")
	if fd := p.WhichOneof(oneof); fd != nil {
		return string(fd.Name())
	}
	return "unknown"
}

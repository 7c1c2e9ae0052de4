package eventlog

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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

// MsgID is an event's Nats-Msg-Id: its organisation and event id. JetStream
// deduplicates across a whole stream, and event ids are made by each
// organisation's clients, so another organisation's id must not count as a
// retry (nor answer with the other's event).
func MsgID(ev *v1.Event) string { return ev.GetOrgId() + "/" + ev.GetEventId() }

// NewMsg encodes ev for subject with Nats-Msg-Id = MsgID and the trace
// context of ctx in the headers.
func NewMsg(ctx context.Context, subject string, ev *v1.Event) (*nats.Msg, error) {
	msg := &nats.Msg{}
	if _, err := buildMsg(ctx, msg, make(nats.Header, 4), new([4]string), subject, ev, nil, nil); err != nil {
		return nil, err
	}
	return msg, nil
}

// buildMsg makes msg NewMsg's message with the headers in h (empty) and
// their values in vals, marshalling into buf (appended to from its length;
// nil allocates) and, when expectLast is non-nil, adding JetStream's expected
// last subject sequence header. It returns the encoding (msg.Data). The
// header values share vals rather than a slice each as nats.Header.Set would
// make: an append runs this for every event.
func buildMsg(ctx context.Context, msg *nats.Msg, h nats.Header, vals *[4]string, subject string, ev *v1.Event, buf []byte, expectLast *uint64) ([]byte, error) {
	if ev.GetEventId() == "" {
		return nil, fmt.Errorf("event on %s has no event id", subject)
	}
	if ev.Type == "" {
		ev.Type = TypeOf(ev)
	}
	data, err := proto.MarshalOptions{}.MarshalAppend(buf, ev)
	if err != nil {
		return nil, fmt.Errorf("marshal event %s: %w", ev.GetEventId(), err)
	}
	*vals = [4]string{MsgID(ev), ev.Type, ev.GetOrgId()}
	// Each value slice has its capacity capped at one, so an Add on one
	// header cannot overwrite the next.
	h[nats.MsgIdHdr] = vals[0:1:1]
	h[HeaderEventType] = vals[1:2:2]
	h[HeaderOrg] = vals[2:3:3]
	if expectLast != nil {
		vals[3] = strconv.FormatUint(*expectLast, 10)
		h[jetstream.ExpectedLastSubjSeqHeader] = vals[3:4:4]
	}
	InjectTrace(ctx, h)
	*msg = nats.Msg{Subject: subject, Data: data, Header: h}
	return data, nil
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
// Every append asks, so the name is looked up by the payload's Go type once
// per type and kept.
func TypeOf(ev *v1.Event) string {
	pl := ev.GetPayload()
	if pl == nil {
		return "unknown"
	}
	t := reflect.TypeOf(pl)
	if name, ok := typeNames.Load(t); ok {
		return name.(string)
	}
	name := "unknown"
	p := ev.ProtoReflect()
	if fd := p.WhichOneof(p.Descriptor().Oneofs().ByName("payload")); fd != nil {
		name = string(fd.Name())
	}
	if name != "unknown" {
		// Not cached: a nil payload of a real type names nothing, and must
		// not stand for its type's later events.
		typeNames.Store(t, name)
	}
	return name
}

// typeNames maps the Go type of an Event's payload to its TypeOf name.
var typeNames sync.Map

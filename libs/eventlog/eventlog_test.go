package eventlog

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	url, _ := testkit.NATS(t)
	// Provisioning every stream and appending anywhere: the admin's job.
	nc := testkit.Connect(t, url, "admin")
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, Provision(t.Context(), js, StreamOptions{}))
	require.NoError(t, Provision(t.Context(), js, StreamOptions{}), "provisioning is idempotent")
	return js
}

func charged(id string) *v1.Event {
	return &v1.Event{EventId: id, OrgId: "acme", TeamId: "design", ServerTime: timestamppb.Now(),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: "ann", Tokens: 10}}}
}

// Append checks the expected sequence and stores an event id once, with a
// request's context and with one that can never end (which waits on nats.go's
// timers instead of a context of its own).
func TestAppendExpectsSequenceAndDedups(t *testing.T) {
	js := jetStream(t)
	for name, ctx := range map[string]context.Context{"request": t.Context(), "background": context.Background()} {
		t.Run(name, func(t *testing.T) {
			subject := LedgerSubject("acme", name)
			zero := uint64(0)
			first, err := Append(ctx, js, subject, charged(name+"-1"), &zero)
			require.NoError(t, err)
			require.False(t, first.Duplicate)

			_, err = Append(ctx, js, subject, charged(name+"-2"), &zero)
			require.ErrorIs(t, err, ErrConflict, "a stale expected sequence is a conflict")
			require.True(t, IsConflict(err))

			dup, err := Append(ctx, js, subject, charged(name+"-1"), nil)
			require.NoError(t, err)
			require.Equal(t, Appended{Sequence: first.Sequence, Duplicate: true}, dup, "the same event id is stored once")

			second, err := Append(ctx, js, subject, charged(name+"-2"), &first.Sequence)
			require.NoError(t, err)

			var got []string
			last, err := ReadSubject(ctx, js, LedgerStream, subject, 0, func(s Stored) error {
				got = append(got, s.Event.GetEventId())
				require.Equal(t, "window_charged", s.Event.GetType())
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{name + "-1", name + "-2"}, got)
			require.Equal(t, second.Sequence, last)

			got = nil
			_, err = ReadSubject(ctx, js, LedgerStream, subject, first.Sequence, func(s Stored) error {
				got = append(got, s.Event.GetEventId())
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{name + "-2"}, got, "reads resume after a sequence")
		})
	}
}

// One launch is one trace: the span context written into NATS headers by the
// appender is the parent of the consumer's span.
func TestTraceContextTravelsInHeaders(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	js := jetStream(t)
	ctx, span := tp.Tracer("test").Start(t.Context(), "launch")
	_, err := Append(ctx, js, UsageSubject("acme", "design"), charged("trace-1"), nil)
	require.NoError(t, err)
	span.End()

	cons, err := js.OrderedConsumer(t.Context(), UsageStream, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	hctx := ExtractTrace(context.Background(), msg.Headers())
	_, child := tp.Tracer("test").Start(hctx, "project")
	child.End()
	require.Equal(t, span.SpanContext().TraceID(), child.SpanContext().TraceID())
	spans := rec.Ended()
	require.Len(t, spans, 2)
	require.Equal(t, span.SpanContext().SpanID(), spans[1].Parent().SpanID())
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{"design": true, "Team_2-b": true, "": false, "a.b": false, "a b": false, "_catalog": false, "*": false, ">": false} {
		require.Equal(t, ok, CheckID("team_id", id) == nil, id)
	}
	// A long id is quoted by a short prefix: the message must not grow with it.
	err := CheckID("user_id", strings.Repeat("é", 50<<10))
	require.Less(t, len(err.Error()), 300, err.Error())
	require.Contains(t, err.Error(), "user_id")
	require.Contains(t, err.Error(), "(102400 bytes)")
}

// ValidID accepts exactly what ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ matches.
func TestValidIDMatchesPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	cases := []string{"", "a", "_a", "-a", "a_", "a-b_C9", "a.b", "a*", "a>", "a b", "a\n", "é", "aé", "Z", "9",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "a\x00", "team-0001", "_catalog"}
	for c := 0; c < 256; c++ {
		cases = append(cases, string([]byte{byte(c)}), "a"+string([]byte{byte(c)}))
	}
	for _, s := range cases {
		require.Equal(t, pattern.MatchString(s), ValidID(s), "%q", s)
	}
}

// JetStream's duplicate check spans a whole stream: an event id is one per
// organisation, so another organisation's event that happens to carry the
// same id is stored, not taken for a retry.
func TestEventIDsAreDedupedPerOrganisation(t *testing.T) {
	js := jetStream(t)
	acme := charged("shared-event-id-0001")
	globex := charged("shared-event-id-0001")
	globex.OrgId = "globex"
	first, err := Append(t.Context(), js, LedgerSubject("acme", "design"), acme, nil)
	require.NoError(t, err)
	other, err := Append(t.Context(), js, LedgerSubject("globex", "design"), globex, nil)
	require.NoError(t, err)
	require.False(t, other.Duplicate, "another organisation's event is its own")
	require.NotEqual(t, first.Sequence, other.Sequence)
	again, err := Append(t.Context(), js, LedgerSubject("acme", "design"), charged("shared-event-id-0001"), nil)
	require.NoError(t, err)
	require.True(t, again.Duplicate, "a retry within the organisation is still one event")
}

package launch

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The fuzz targets call the handlers without a caller: a request that passes
// validation stops at authentication (Unauthenticated), one that does not is
// InvalidArgument naming its fields, in a bounded answer whatever it held.

// fuzzEventID is the documented event id rule, checked apart from the validator.
var fuzzEventID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$`)

// mostRefusal bounds a refusal's size: a few violations, each quoting at
// most a short prefix.
const mostRefusal = 4 << 10

var fuzzNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func fuzzServer() *Server {
	return &Server{Now: func() time.Time { return fuzzNow }, MaxSkew: time.Hour}
}

// fuzzFields are the string fields the targets vary, in this order.
type fuzzFields struct{ eventID, team, user, product, text, attrKey, attrValue string }

func addSeeds(f *testing.F) {
	long := strings.Repeat("x", 70<<10)
	for _, s := range []fuzzFields{
		{"evt-0001-abcd", "design", "ann", "REVIT", "2026", "project", "P-102"},
		{"6f1d1c3e-9c1b-4c43-a1a8-2f4a5c9b7d10", "Team_2-b", "bob.smith", "ACAD", "", "", ""},
		{"", "", "", "", "", "", ""},
		{"x", "a.b", "*", ">", "v\x00", "=cmd", "@SUM(1+1)"},
		{long, long, long, long, long, long, long},
		{"évènement-0001", "_catalog", "-ann", "é", "\xff\xfe", "\u2028", strings.Repeat("\U0010ffff", 100)},
	} {
		f.Add(s.eventID, s.team, s.user, s.product, s.text, s.attrKey, s.attrValue, int64(0))
	}
	f.Add("evt-0001-abcd", "design", "ann", "REVIT", "2026", "k", "v", int64(3*time.Hour))
}

// checkAnswer holds err to the contract; passed reports whether validation passed.
func checkAnswer(t *testing.T, err error) (passed bool) {
	t.Helper()
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unauthenticated:
		return true
	case codes.InvalidArgument:
	default:
		t.Fatalf("want InvalidArgument or Unauthenticated, got %v: %.200s", st.Code(), st.Message())
	}
	if n := proto.Size(st.Proto()); n > mostRefusal {
		t.Fatalf("a %d-byte refusal: %.300s", n, st.Message())
	}
	var fields int
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == "" || !utf8.ValidString(v.GetDescription()) {
					t.Fatalf("violation %q: %q", v.GetField(), v.GetDescription())
				}
				fields++
			}
		}
	}
	if fields == 0 {
		t.Fatalf("InvalidArgument without a named field: %.200s", st.Message())
	}
	return false
}

// requireValid fails when validation passed values the documented rules refuse.
func requireValid(t *testing.T, eventID, team, user, product string) {
	t.Helper()
	if !fuzzEventID.MatchString(eventID) || !eventlog.ValidID(team) || !eventlog.ValidID(user) || !eventlog.ValidID(product) {
		t.Fatalf("accepted event %q team %q user %q product %q", eventID, team, user, product)
	}
}

func fuzzLaunch(s fuzzFields, skew int64) *v1.LaunchRequest {
	r := &v1.LaunchRequest{EventId: s.eventID, TeamId: s.team, UserId: s.user, ProductCode: s.product,
		ProductVersion: s.text, DeviceId: s.text, OccurredAt: timestamppb.New(fuzzNow.Add(time.Duration(skew)))}
	if s.attrKey != "" || s.attrValue != "" {
		r.Attributes = map[string]string{s.attrKey: s.attrValue}
	}
	return r
}

func FuzzLaunch(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, eventID, team, user, product, text, attrKey, attrValue string, skew int64) {
		_, err := fuzzServer().Launch(context.Background(), fuzzLaunch(fuzzFields{eventID, team, user, product, text, attrKey, attrValue}, skew))
		if checkAnswer(t, err) {
			requireValid(t, eventID, team, user, product)
		}
	})
}

func FuzzHeartbeat(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, eventID, team, user, product, text, _, _ string, skew int64) {
		_, err := fuzzServer().Heartbeat(context.Background(), &v1.HeartbeatRequest{EventId: eventID, TeamId: team, UserId: user,
			ProductCode: product, DeviceId: text, WindowId: text, OccurredAt: timestamppb.New(fuzzNow.Add(time.Duration(skew)))})
		if checkAnswer(t, err) {
			requireValid(t, eventID, team, user, product)
		}
	})
}

func FuzzEndSession(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, eventID, team, user, product, text, _, _ string, _ int64) {
		_, err := fuzzServer().EndSession(context.Background(), &v1.EndSessionRequest{EventId: eventID, TeamId: team, UserId: user,
			ProductCode: product, DeviceId: text, WindowId: text})
		if checkAnswer(t, err) {
			requireValid(t, eventID, team, user, product)
		}
	})
}

func FuzzQuote(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, _, team, user, product, _, _, _ string, _ int64) {
		_, err := fuzzServer().Quote(context.Background(), &v1.QuoteRequest{TeamId: team, UserId: user, ProductCode: product})
		if checkAnswer(t, err) {
			requireValid(t, "evt-any-valid", team, user, product)
		}
	})
}

// FuzzIngestBatch: each event of a batch is answered on its own, in a
// bounded result that carries back no malformed event id.
func FuzzIngestBatch(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, eventID, team, user, product, text, attrKey, attrValue string, skew int64) {
		s := fuzzFields{eventID, team, user, product, text, attrKey, attrValue}
		hb := &v1.HeartbeatRequest{EventId: eventID, TeamId: team, UserId: user, ProductCode: product, DeviceId: text}
		req := &v1.IngestBatchRequest{Events: []*v1.OfflineEvent{
			{Event: &v1.OfflineEvent_Launch{Launch: fuzzLaunch(s, skew)}},
			{Event: &v1.OfflineEvent_Heartbeat{Heartbeat: hb}},
			{},
		}}
		resp, err := fuzzServer().IngestBatch(context.Background(), req)
		if err != nil {
			checkAnswer(t, err) // the batch as a whole: its size
			return
		}
		if len(resp.GetResults()) != 3 {
			t.Fatalf("%d results for 3 events", len(resp.GetResults()))
		}
		for i, r := range resp.GetResults() {
			if len(r.GetError()) > mostRefusal || (r.GetEventId() != "" && !fuzzEventID.MatchString(r.GetEventId())) {
				t.Fatalf("result %d: event %.100q, a %d-byte error", i, r.GetEventId(), len(r.GetError()))
			}
		}
	})
}

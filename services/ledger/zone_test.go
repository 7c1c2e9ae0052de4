package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The time zone is the organisation's managers' to set: UTC until set, an
// IANA name the server knows, recorded with its actor, a retry changes
// nothing more, and a restarted replica reads it back.
func TestTimeZoneSetting(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin, viewer := client(t, r.svc.Addr(), adminKey), client(t, r.svc.Addr(), viewerKey)

	got, err := viewer.GetTimeZone(ctx, &v1.GetTimeZoneRequest{})
	require.NoError(t, err)
	require.Equal(t, "UTC", got.GetSetting().GetZone(), "an organisation that never set one is in UTC")
	require.Nil(t, got.GetSetting().GetSetAt())

	set := &v1.SetTimeZoneRequest{Zone: "Pacific/Auckland", EventId: "zone-0001"}
	_, err = viewer.SetTimeZone(ctx, set)
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a viewer reads it only: %v", err)
	for _, bad := range []string{"", "Mars/Olympus_Mons", "Local", "Europe/../etc/passwd", "'; DROP TABLE charges", "Europe/Berlin Europe/Paris"} {
		_, err = admin.SetTimeZone(ctx, &v1.SetTimeZoneRequest{Zone: bad, EventId: "zone-bad-0001"})
		require.Equal(t, []string{"zone"}, badFields(t, err), "zone %q", bad)
	}
	_, err = admin.SetTimeZone(ctx, &v1.SetTimeZoneRequest{Zone: "UTC"})
	require.Equal(t, []string{"event_id"}, badFields(t, err))

	resp, err := admin.SetTimeZone(ctx, set)
	require.NoError(t, err)
	require.Equal(t, "Pacific/Auckland", resp.GetSetting().GetZone())
	require.Contains(t, resp.GetSetting().GetActor(), "admin:")
	again, err := admin.SetTimeZone(ctx, set)
	require.NoError(t, err, "a retry of the same event")
	require.Equal(t, resp.GetSetting().GetSetAt().AsTime(), again.GetSetting().GetSetAt().AsTime(), "a retry sets nothing again")
	_, err = admin.SetTimeZone(ctx, &v1.SetTimeZoneRequest{Zone: "America/Los_Angeles", EventId: "zone-0002"})
	require.NoError(t, err)
	_, err = admin.SetTimeZone(ctx, &v1.SetTimeZoneRequest{Zone: "Europe/Berlin", EventId: "zone-0001"})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "an event id already used for another setting: %v", err)

	var changes []string
	for _, tx := range listAll(t, admin, &v1.ListTransactionsRequest{Types: []string{"time_zone_set"}}) {
		changes = append(changes, tx.GetDetail()+" by "+tx.GetActor())
	}
	require.Len(t, changes, 2, "the organisation's history holds each change")
	require.Regexp(t, `^report days are dates in America/Los_Angeles by admin:`, changes[1])

	r.stop()
	r2 := startReplica(t, natsURL, "solo-again")
	got, err = client(t, r2.svc.Addr(), viewerKey).GetTimeZone(ctx, &v1.GetTimeZoneRequest{})
	require.NoError(t, err)
	require.Equal(t, "America/Los_Angeles", got.GetSetting().GetZone(), "the last setting, read back from the log")
	require.NotNil(t, got.GetSetting().GetSetAt())
}

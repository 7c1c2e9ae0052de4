package reporting_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// A pseudonymised organisation's reports and exports never carry a user
// id, a device id, a launcher's event id or a personal attribute's value;
// an organisation whose owner shows people sees them all.
func TestReportsAndExportsPseudonymise(t *testing.T) {
	t.Parallel()
	svc, natsURL := startService(t)
	showPersonalData(t, natsURL, "globex")
	js := logAs(t, natsURL, "ledger")
	at := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	n := 0
	for _, org := range []string{"acme", "globex"} {
		appendAnnika(t, js, org, at)
		n += 2
	}
	// The setting itself is on the log too.
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(n+1) }, 10*time.Second, 10*time.Millisecond)

	hidden := reportsOf(t, svc, acmeKey, at)
	require.NotContains(t, hidden, "annika", "user, device, event id and the user attribute of a pseudonymised organisation")
	for _, p := range []string{"u_", "d_", "e_", "user=a_", "project=P-7"} {
		require.Contains(t, hidden, p)
	}
	shown := reportsOf(t, svc, globexKey, at)
	for _, p := range []string{",annika,", "annika-laptop", "annika-laptop-REVIT-0001", "user=annika"} {
		require.Contains(t, shown, p)
	}
}

// reportsOf is every report and export of the design team that names
// users, as key sees them.
func reportsOf(t *testing.T, svc *reporting.Service, key string, at time.Time) string {
	t.Helper()
	c := client(t, svc.Addr(), key)
	var b strings.Builder
	rng := &v1.UsageRange{FromDate: at.AddDate(0, 0, -1).Format(time.DateOnly), ToDate: at.Format(time.DateOnly)}
	for _, kind := range []v1.ExportKind{v1.ExportKind_EXPORT_KIND_USAGE, v1.ExportKind_EXPORT_KIND_USERS,
		v1.ExportKind_EXPORT_KIND_DENIALS, v1.ExportKind_EXPORT_KIND_SPEND} {
		stream, err := c.Export(t.Context(), &v1.ExportRequest{TeamIds: []string{"design"}, Range: rng, Kind: kind})
		require.NoError(t, err)
		data, _ := readExport(t, stream)
		b.Write(data)
	}
	users, err := c.GetUsageByUser(t.Context(), &v1.GetUsageByUserRequest{TeamIds: []string{"design"}, Range: rng})
	require.NoError(t, err)
	require.NotEmpty(t, users.GetUsers())
	b.WriteString(protojson.Format(users))
	denials, err := c.GetDenials(t.Context(), &v1.GetDenialsRequest{TeamIds: []string{"design"}, Range: rng,
		GroupBy: v1.DenialGrouping_DENIAL_GROUPING_USER})
	require.NoError(t, err)
	require.NotEmpty(t, denials.GetDenials())
	b.WriteString(protojson.Format(denials))
	attr, err := c.GetUsageByAttribute(t.Context(), &v1.GetUsageByAttributeRequest{TeamIds: []string{"design"}, Range: rng, AttributeKey: "user"})
	require.NoError(t, err)
	require.NotEmpty(t, attr.GetValues())
	b.WriteString(protojson.Format(attr))
	return b.String()
}

// appendAnnika appends a charge and a denial of annika, of her laptop,
// with her name in an attribute.
func appendAnnika(t *testing.T, js jetstream.JetStream, org string, at time.Time) {
	t.Helper()
	ev := charge(org, "design", "annika-laptop-REVIT-0001", "REVIT", 10, at)
	w := ev.GetWindowCharged()
	w.UserId, w.DeviceId, w.WindowId = "annika", "annika-laptop", ev.GetEventId()
	w.Attributes = map[string]string{"user": "annika", "project": "P-7"}
	_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(org, "design"), ev, nil)
	require.NoError(t, err)
	denied := &v1.Event{EventId: "annika-laptop-REVIT-0002", OrgId: org, TeamId: "design", ServerTime: timestamppb.New(at),
		Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: "annika", DeviceId: "annika-laptop", ProductCode: "REVIT",
			Reason: v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, Attributes: map[string]string{"user": "annika"}}}}
	_, err = eventlog.Append(t.Context(), js, eventlog.LedgerSubject(org, "design"), denied, nil)
	require.NoError(t, err)
}

package ledger_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

// The personal-data setting is the organisation's own: only its owner
// changes it, viewers read it, it is recorded with its actor and reason, a
// retry changes nothing more, and a restarted replica reads it back.
func TestPersonalDataSetting(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	owner, admin, viewer := client(t, r.svc.Addr(), ownerKey), client(t, r.svc.Addr(), adminKey), client(t, r.svc.Addr(), viewerKey)

	got, err := viewer.GetPersonalData(ctx, &v1.GetPersonalDataRequest{})
	require.NoError(t, err)
	require.False(t, got.GetSetting().GetShow(), "an organisation that never set it is pseudonymised")
	require.Nil(t, got.GetSetting().GetSetAt())

	set := &v1.SetPersonalDataRequest{Show: true, Reason: "works council agreed", EventId: "personal-data-0001"}
	for _, c := range []v1.LedgerServiceClient{admin, viewer} {
		_, err := c.SetPersonalData(ctx, set)
		require.Equal(t, codes.PermissionDenied, status.Code(err), "only the owner changes it: %v", err)
	}
	_, err = owner.SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true, Reason: strings.Repeat("r", 257), EventId: "personal-data-0002"})
	require.Equal(t, []string{"reason"}, badFields(t, err))
	_, err = owner.SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true})
	require.Equal(t, []string{"event_id"}, badFields(t, err))

	resp, err := owner.SetPersonalData(ctx, set)
	require.NoError(t, err)
	require.True(t, resp.GetSetting().GetShow())
	require.NotEmpty(t, resp.GetSetting().GetActor())
	require.Equal(t, "works council agreed", resp.GetSetting().GetReason())
	again, err := owner.SetPersonalData(ctx, set)
	require.NoError(t, err, "a retry of the same event")
	require.Equal(t, resp.GetSetting().GetSetAt().AsTime(), again.GetSetting().GetSetAt().AsTime(), "a retry sets nothing again")
	_, err = owner.SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: false, EventId: "assign-1-0000"})
	require.NoError(t, err)
	_, err = owner.SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true, EventId: "personal-data-0001"})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "an event id already used for another setting: %v", err)

	r.stop()
	r2 := startReplica(t, natsURL, "solo-again")
	got, err = client(t, r2.svc.Addr(), viewerKey).GetPersonalData(ctx, &v1.GetPersonalDataRequest{})
	require.NoError(t, err)
	require.False(t, got.GetSetting().GetShow(), "the last setting, read back from the log")
	require.NotNil(t, got.GetSetting().GetSetAt())
}

// Ledger reads of a pseudonymised organisation (ListTransactions, budgets)
// never carry a user id, a device id or a launcher's event id; switched to
// show them, the same reads do.
func TestLedgerReadsPseudonymise(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	seedHistory(t, admin, client(t, r.svc.Addr(), serviceKey))
	raw := []string{"ann", "bob", "launch-1-0000", "launch-3-0000", "seat-1-0000"}

	read := func() string {
		t.Helper()
		var b strings.Builder
		for _, team := range []string{"design", "civil", ""} {
			for _, tx := range listAll(t, admin, &v1.ListTransactionsRequest{TeamId: team}) {
				b.WriteString(protojson.Format(tx))
			}
		}
		budgets, err := admin.ListBudgets(ctx, &v1.ListBudgetsRequest{TeamId: "design"})
		require.NoError(t, err)
		require.NotEmpty(t, budgets.GetBudgets())
		b.WriteString(protojson.Format(budgets))
		return b.String()
	}
	hidden := read()
	for _, id := range raw {
		require.NotContains(t, hidden, `"`+id+`"`, "a pseudonymised organisation's ledger reads")
		require.NotContains(t, hidden, "user "+id, "nor in words")
	}
	require.Contains(t, hidden, `"u_`, "users appear as pseudonyms")
	require.Contains(t, hidden, `"e_`, "launchers' event ids too")

	_, err := client(t, r.svc.Addr(), ownerKey).SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true, EventId: "show-people-0000"})
	require.NoError(t, err)
	shown := read()
	for _, id := range raw {
		require.Contains(t, shown, `"`+id+`"`, "shown once the owner allows it")
	}
}

// Without a user-hash key the ledger does not start: every organisation
// that never set its setting is pseudonymised.
func TestRefusesToStartWithoutUserHashKey(t *testing.T) {
	var cfg ledger.Config
	cfg.NATSURL, cfg.APIKeys, cfg.Listen = "nats://127.0.0.1:1", keys, "127.0.0.1:0"
	for key, want := range map[string]string{"": "-user-hash-key is required", "short": "at least 16 bytes"} {
		cfg.UserHashKey = key
		_, err := ledger.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
		require.ErrorContains(t, err, want)
		require.ErrorContains(t, cfg.Validate(), want)
	}
}

// A user's profile is set by admins (not viewers), every field bounded and
// named when refused.
func TestSetUserProfile(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	ok := &v1.SetUserProfileRequest{UserId: "ann", DisplayName: "Ann Example", Email: "ann@example.com", EventId: "profile-0001"}
	_, err := client(t, r.svc.Addr(), viewerKey).SetUserProfile(ctx, ok)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = admin.SetUserProfile(ctx, ok)
	require.NoError(t, err)
	_, err = admin.SetUserProfile(ctx, ok)
	require.NoError(t, err, "a retry")
	_, err = admin.SetUserProfile(ctx, &v1.SetUserProfileRequest{UserId: "a.b", DisplayName: strings.Repeat("n", 129),
		Email: "Ann <ann@example.com>", EventId: "profile-0002"})
	require.ElementsMatch(t, []string{"user_id", "display_name", "email"}, badFields(t, err))
	_, err = admin.SetUserProfile(ctx, &v1.SetUserProfileRequest{UserId: "ann", Email: strings.Repeat("a", 250) + "@x.io", EventId: "profile-0003"})
	require.Equal(t, []string{"email"}, badFields(t, err))
}
